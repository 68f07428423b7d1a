"""The index on disk: one folder per build, and an atomically swapped ``current`` link.

    INDEX_DIR/current -> builds/<build id>      (a symlink, replaced with os.replace)
    INDEX_DIR/builds/<build id>/manifest.json   format, model, dimension, counts, document hashes
                               /documents.json  documents' metadata (format 1: with their text)
                               /texts.bin       the documents' texts, UTF-8, one after another
                               /chunks.json     the chunk table's header: counts and columns
                               /chunks.npy      (n, 6) int64 columns: document, start, end,
                                                paragraph, page (-1: none), sentence count
                               /sentences.npy   (m, 2) int64 sentence spans of all chunks, in order
                               /units.npz       embedding units: chunk, span, content hash
                               /vectors.npy     float32 unit vectors (memory-mapped when loaded)
                               /vectors.faiss   the FAISS index over those vectors (memory-mapped)
                               /bm25/           the bm25s word index over chunk texts (memory-mapped)
                               /terms.npz       each chunk's terms as ids into the BM25 vocabulary
                                                (read by the next build only: index.lexical)
                               /tokens.bin      8-bit word-piece vectors, shared between builds
                               /token_units.npy  which of them belong to each unit (index.tokens)

Loading is cheap at any size: chunks are columns, and a ``Chunk`` is made when it is asked for
(``ChunkTable``), so a million chunks are 100 MB of memory-mapped columns instead of a Python
object each; texts are decoded from texts.bin when asked for; the big arrays are memory-mapped, so
they load in milliseconds and several processes serving one index share one copy in the page
cache. Format 1 indexes (chunks as JSON rows, texts in documents.json) are still read.

A build writes a complete new folder, then swaps the link: a build killed at any moment leaves
the previous index in place and loadable. The manifest is written last inside the folder, so a
folder without one is an unfinished build and is cleaned up.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import mmap
import os
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, overload

import numpy as np

from index.atomic import fsync_dir, replacing, sync
from index.embed import Embedder
from index.errors import IndexCorrupt, IndexMissing, ModelMismatch
from index.lexical import ChunkTerms, load_terms, save_terms
from index.tokens import TokenTable
from index.types import Chunk, Document

log = logging.getLogger(__name__)

FORMAT_VERSION = 2
READABLE_FORMATS = (1, 2)
CHUNK_COLUMNS = ("document", "start", "end", "paragraph", "page", "sentences")
REBUILD_HINT = "run: python -m bot index build --full"
TERMS_FILE = "terms.npz"


@dataclass(frozen=True)
class Units:
    """Embedding units: what a vector stands for (a sentence or a chunk) and its content hash."""

    chunk: np.ndarray  # (n,) int32 index into the chunk list
    start: np.ndarray  # (n,) int64 absolute offsets into the document text
    end: np.ndarray  # (n,) int64
    hashes: np.ndarray  # (n,) fixed-width bytes: hash of the embedded text and model

    def __len__(self) -> int:
        return int(self.chunk.shape[0])


@dataclass(frozen=True)
class Manifest:
    format: int
    build_id: str
    created: str
    model: str
    dimension: int
    unit_kind: str
    documents: int
    chunks: int
    units: int
    vector_index: str
    document_hashes: dict[str, str]
    token_pieces: int = 0  # stored word-piece vectors (index.tokens); 0: none, older builds

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Manifest":
        optional = {"token_pieces"}
        return cls(**{key: data[key] for key in cls.__dataclass_fields__ if key in data or key not in optional})


@dataclass
class LoadedIndex:
    path: Path
    manifest: Manifest
    documents: tuple[Document, ...]
    chunks: Sequence[Chunk]  # a ChunkTable: Chunk objects made on access
    units: Units
    vectors: np.ndarray
    vector_index: Any  # faiss.Index
    bm25: Any  # bm25s.BM25
    tokens: TokenTable | None = None  # word-piece vectors per unit, when the build stored them


@dataclass(frozen=True)
class IndexStatus:
    path: Path
    manifest: Manifest
    size_bytes: int
    age_seconds: float


class IndexStore:
    """Reads and writes builds under one index folder."""

    def __init__(self, root: Path, keep: int = 2) -> None:
        self.root = Path(root)
        self.keep = keep  # intact builds kept on disk, the current one included (index.builds)

    @property
    def current(self) -> Path:
        return self.root / "current"

    @property
    def builds(self) -> Path:
        return self.root / "builds"

    def current_build(self) -> Path | None:
        """The folder ``current`` points at, or None when there is no index yet."""
        if not self.current.is_symlink() and not self.current.exists():
            return None
        target = self.current.resolve()
        return target if target.is_dir() else None

    # -- reading ---------------------------------------------------------------------------
    def read_manifest(self, build: Path | None = None) -> Manifest:
        build = build or self.current_build()
        if build is None:
            raise IndexMissing(f"No index has been built in {self.root} yet; run: python -m bot index build")
        try:
            data = json.loads((build / "manifest.json").read_text(encoding="utf-8"))
            manifest = Manifest.from_json(data)
        except FileNotFoundError:
            raise IndexCorrupt(f"The index in {build} has no manifest (an unfinished build?); {REBUILD_HINT}") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise IndexCorrupt(f"The index manifest in {build} is unreadable ({type(exc).__name__}); {REBUILD_HINT}") from None
        if manifest.format not in READABLE_FORMATS:
            raise IndexCorrupt(f"The index in {build} has format {manifest.format}, this casebot reads {FORMAT_VERSION}; {REBUILD_HINT}")
        return manifest

    def check_model(self, manifest: Manifest, embedder: Embedder) -> None:
        if manifest.model != embedder.name or manifest.dimension != embedder.dimension:
            raise ModelMismatch(
                f"The index was built with {manifest.model} ({manifest.dimension} dimensions) but the configured "
                f"embedder is {embedder.name} ({embedder.dimension} dimensions); {REBUILD_HINT}"
            )

    def load(self, embedder: Embedder | None = None, build: Path | None = None) -> LoadedIndex:
        """Load the current build (or ``build``). Raises IndexMissing, IndexCorrupt or ModelMismatch."""
        build = build or self.current_build()
        manifest = self.read_manifest(build)
        assert build is not None
        if embedder is not None:
            self.check_model(manifest, embedder)
        try:
            return self._load_files(build, manifest)
        except (IndexCorrupt, IndexMissing):
            raise
        except Exception as exc:  # any parse failure of any file means the same thing to a user
            raise IndexCorrupt(f"The index in {build} is damaged ({type(exc).__name__}: {exc}); {REBUILD_HINT}".splitlines()[0]) from None

    def _load_files(self, build: Path, manifest: Manifest) -> LoadedIndex:
        import bm25s
        import faiss

        metadata = json.loads((build / "documents.json").read_text("utf-8"))
        if manifest.format == 1:
            documents = tuple(_document_from_json(d) for d in metadata)
            by_id = {d.doc_id: d for d in documents}
            chunks: Sequence[Chunk] = tuple(_chunk_from_json(c, by_id)
                                            for c in json.loads((build / "chunks.json").read_text("utf-8")))
        else:
            documents = _documents_with_texts(metadata, build / "texts.bin")
            chunks = ChunkTable.load(build, documents)
        units = load_units(build / "units.npz")
        vectors = _random_access(np.load(build / "vectors.npy", mmap_mode="r"))
        # Memory-mapped: an exact index maps its codes in place, an IVF index its inverted lists.
        flag = faiss.IO_FLAG_MMAP_IFC if manifest.vector_index == "IndexFlatIP" else faiss.IO_FLAG_MMAP
        vector_index = faiss.read_index(str(build / "vectors.faiss"), flag)
        expected = (manifest.documents, manifest.chunks, manifest.units, manifest.units, manifest.units)
        actual = (len(documents), len(chunks), len(units), vectors.shape[0], vector_index.ntotal)
        if expected != actual or (len(units) and vectors.shape[1] != manifest.dimension):
            raise IndexCorrupt(f"The index in {build} is inconsistent (counts {actual}, manifest says {expected}); {REBUILD_HINT}")
        if len(units) and (int(units.chunk.max()) >= len(chunks) or int(units.chunk.min()) < 0):
            raise IndexCorrupt(f"The index in {build} refers to chunks it does not have; {REBUILD_HINT}")
        bm25 = bm25s.BM25.load(str(build / "bm25"), load_corpus=False, mmap=True) if len(chunks) else None
        tokens = None
        if manifest.token_pieces:
            tokens = TokenTable.load(build, manifest.dimension, len(units))
            if tokens is None or tokens.live_records != manifest.token_pieces:
                raise IndexCorrupt(f"The word vectors of the index in {build} are missing or incomplete; {REBUILD_HINT}")
        return LoadedIndex(build, manifest, documents, chunks, units, vectors, vector_index, bm25, tokens)

    def status(self, build: Path | None = None) -> IndexStatus:
        build = build or self.current_build()
        manifest = self.read_manifest(build)
        assert build is not None
        size = sum(p.stat().st_size for p in build.rglob("*") if p.is_file())
        created = dt.datetime.fromisoformat(manifest.created)
        age = (dt.datetime.now(dt.timezone.utc) - created).total_seconds()
        return IndexStatus(build, manifest, size, age)

    # -- writing ---------------------------------------------------------------------------
    def new_build(self) -> Path:
        self.builds.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        path = self.builds / f"{stamp}-{uuid.uuid4().hex[:8]}"
        path.mkdir()
        return path

    def write(self, build: Path, manifest: Manifest, documents: list[Document], chunks: list[Chunk],
              units: Units, vectors: np.ndarray, vector_index: Any, bm25: Any,
              terms: ChunkTerms | None = None) -> None:
        """Write every file of a build; the manifest goes last and marks it complete."""
        import faiss

        _write_documents(build, documents)
        ChunkTable.write(build, documents, chunks)
        with open(build / "units.npz", "wb") as fh:
            np.savez(fh, chunk=units.chunk, start=units.start, end=units.end, hashes=units.hashes)
            sync(fh)
        with open(build / "vectors.npy", "wb") as fh:
            np.save(fh, np.ascontiguousarray(vectors, dtype=np.float32))
            sync(fh)
        faiss.write_index(vector_index, str(build / "vectors.faiss"))
        if bm25 is not None:
            bm25.save(str(build / "bm25"))
        if terms is not None:
            with open(build / TERMS_FILE, "wb") as fh:
                save_terms(fh, terms)
                sync(fh)
        _write_json(build / "manifest.json", asdict(manifest))
        fsync_dir(build)

    def commit(self, build: Path) -> None:
        """Point ``current`` at ``build`` atomically (old builds: index.builds.prune_builds)."""
        self.read_manifest(build)  # never swap in an incomplete build
        with replacing(self.current) as link:
            os.symlink(Path("builds") / build.name, link)


def stored_terms(index: LoadedIndex) -> ChunkTerms | None:
    """The chunks' terms the build of ``index`` stored, or None (older builds, no chunks, damage)."""
    if index.bm25 is None:
        return None
    return load_terms(index.path / TERMS_FILE, index.bm25.vocab_dict, len(index.chunks))


def load_units(path: Path) -> Units:
    """units.npz. Hashes come back as 16-byte values: numpy's bytes type drops trailing zero bytes
    (one hash in 256 ends in one), and such a hash would never match, so its unchanged unit was
    re-embedded by every incremental build (bench/build.py caught 71 of 20,000)."""
    with np.load(path) as data:
        hashes = data["hashes"]
        if hashes.dtype.kind == "S":
            hashes = hashes.view(f"V{hashes.dtype.itemsize}")
        return Units(data["chunk"], data["start"], data["end"], hashes)


def _random_access(array: np.ndarray) -> np.ndarray:
    """Tell the kernel a memory-mapped array is read a row here and there: no read-ahead from disk
    around each row a question reads (it cannot stop the kernel from mapping a whole cached folio:
    at a million chunks 40 questions still mapped ~0.5 GB of a freshly written vectors.npy)."""
    handle = getattr(array, "_mmap", None)
    if handle is not None and hasattr(handle, "madvise") and hasattr(mmap, "MADV_RANDOM"):
        handle.madvise(mmap.MADV_RANDOM)
    return array


def read_rows(array: np.ndarray, first: int, last: int) -> np.ndarray:
    """``array[first:last]`` as a new array (see ``read_ranges``)."""
    return read_ranges(array, [first], [last - first])


def read_ranges(array: np.ndarray, firsts: Sequence[int], counts: Sequence[int]) -> np.ndarray:
    """The rows ``array[f : f + n]`` for each ``(f, n)``, concatenated into a new array. Rows of a
    memory-mapped file are read with ``pread``: touching them through the mapping maps every
    page-cache folio they sit in (up to 2 MB each) into the process: at a million chunks, the few
    vectors a question reads that way added 0.3 GB to its resident set after 20 questions, and
    1 GB after 80 (bench/scale.py)."""
    ranges = [(max(0, int(f)), min(int(f) + int(n), len(array))) for f, n in zip(firsts, counts)]
    ranges = [(a, b) for a, b in ranges if b > a]
    filename, offset = getattr(array, "filename", None), getattr(array, "offset", None)
    if filename is None or offset is None or not array.flags.c_contiguous:
        if not ranges:
            return np.array(array[:0])
        return np.concatenate([np.asarray(array[a:b]) for a, b in ranges])
    row_bytes = array.itemsize * int(np.prod(array.shape[1:], dtype=np.int64))
    out = np.empty((sum(b - a for a, b in ranges), *array.shape[1:]), dtype=array.dtype)
    view = memoryview(out.reshape(-1).view(np.uint8)) if out.size else None
    position = 0
    with open(filename, "rb", buffering=0) as fh:
        for a, b in ranges:
            size = (b - a) * row_bytes
            got = os.preadv(fh.fileno(), [view[position : position + size]], offset + a * row_bytes)
            if got != size:
                raise OSError(f"{filename}: short read ({got} of {size} bytes)")
            position += size
    return out


def _write_json(path: Path, data: Any) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False, separators=(",", ":"))
        sync(fh)


def _document_to_json(d: Document) -> dict[str, Any]:
    return asdict(d)


def _write_documents(build: Path, documents: Sequence[Document]) -> None:
    """Metadata to documents.json, texts to texts.bin; each document records its bytes' end."""
    rows = []
    end = 0
    with open(build / "texts.bin", "wb") as fh:
        for d in documents:
            data = d.text.encode("utf-8", "surrogatepass")  # lone surrogates survive the round trip
            fh.write(data)
            end += len(data)
            row = _document_to_json(d)
            del row["text"]
            row["text_end"] = end
            rows.append(row)
        sync(fh)
    _write_json(build / "documents.json", rows)


def _documents_with_texts(rows: list[dict[str, Any]], path: Path) -> tuple[Document, ...]:
    """Documents from documents.json rows whose text is read from texts.bin when asked for."""
    texts = _Texts(path, [row["text_end"] for row in rows])
    documents = []
    for position, row in enumerate(rows):
        row = dict(row)
        del row["text_end"]
        row["page_starts"] = tuple(tuple(p) for p in row.get("page_starts", ()))
        documents.append(_StoredDocument.make(texts, position, row))
    return tuple(documents)


class _Texts:
    """texts.bin, memory-mapped; the most recently used decoded texts are kept, up to a budget.

    Python keeps a text with one curly quote at two bytes a character: at a million chunks the
    texts alone would hold 860 MB of the serving process. Read on demand they cost what is in use.
    """

    CACHE_CHARS = 32_000_000

    def __init__(self, path: Path, ends: list[int]) -> None:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            self._blob: Any = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        if isinstance(self._blob, mmap.mmap) and hasattr(mmap, "MADV_RANDOM"):
            self._blob.madvise(mmap.MADV_RANDOM)
        self._starts = [0] + ends[:-1]
        self._ends = ends
        if any(e < s for s, e in zip(self._starts, ends)) or (ends[-1] if ends else 0) != size:
            raise ValueError(f"texts.bin holds {size} bytes, documents.json accounts for {ends[-1] if ends else 0}")
        self._cache: OrderedDict[int, str] = OrderedDict()
        self._cached_chars = 0
        self._lock = threading.Lock()

    def text(self, position: int) -> str:
        with self._lock:
            text = self._cache.get(position)
            if text is not None:
                self._cache.move_to_end(position)
                return text
        text = self._blob[self._starts[position] : self._ends[position]].decode("utf-8", "surrogatepass")
        with self._lock:
            if position not in self._cache and len(text) <= self.CACHE_CHARS:
                self._cache[position] = text
                self._cached_chars += len(text)
                while self._cached_chars > self.CACHE_CHARS:
                    _, dropped = self._cache.popitem(last=False)
                    self._cached_chars -= len(dropped)
        return text


class _StoredDocument(Document):
    """A ``Document`` of a loaded index: the same fields, equality and hash, but ``text`` is read
    from texts.bin when asked for (see ``_Texts``)."""

    @classmethod
    def make(cls, texts: _Texts, position: int, fields: dict[str, Any]) -> "_StoredDocument":
        document = object.__new__(cls)
        for name, value in fields.items():
            object.__setattr__(document, name, value)
        object.__setattr__(document, "_texts", texts)
        object.__setattr__(document, "_position", position)
        return document

    @property  # type: ignore[override]
    def text(self) -> str:  # noqa: D102
        return self._texts.text(self._position)  # type: ignore[attr-defined]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Document):
            return NotImplemented
        return all(getattr(self, f) == getattr(other, f) for f in Document.__dataclass_fields__)

    __hash__ = Document.__hash__

    def __reduce__(self):  # pickles and copies as a plain Document
        return (Document, tuple(getattr(self, f) for f in Document.__dataclass_fields__))


def _document_from_json(d: dict[str, Any]) -> Document:
    d = dict(d)
    d["page_starts"] = tuple(tuple(p) for p in d.get("page_starts", ()))
    return Document(**d)


def _chunk_from_json(row: list[Any], documents: dict[str, Document]) -> Chunk:
    doc_id, start, end, paragraph, page, sentences = row
    return Chunk(doc_id, start, end, paragraph, documents[doc_id].text[start:end],
                 tuple((s, e) for s, e in sentences), page)


class ChunkTable(Sequence[Chunk]):
    """The chunks of a build as columns; ``table[i]`` makes the ``Chunk`` (its text a slice of the
    document text). Read-only and thread-safe."""

    def __init__(self, documents: Sequence[Document], columns: np.ndarray, sentences: np.ndarray) -> None:
        if columns.ndim != 2 or columns.shape[1] != len(CHUNK_COLUMNS) or sentences.ndim != 2 or sentences.shape[1] != 2:
            raise ValueError("chunk columns have the wrong shape")
        self._documents = tuple(documents)
        self._columns = columns
        self._sentences = sentences
        self._first_sentence = np.zeros(len(columns) + 1, dtype=np.int64)
        np.cumsum(columns[:, 5], out=self._first_sentence[1:])
        if self._first_sentence[-1] != len(sentences):
            raise ValueError(f"chunks name {self._first_sentence[-1]} sentences, the file holds {len(sentences)}")
        if len(columns) and (int(columns[:, 0].min()) < 0 or int(columns[:, 0].max()) >= len(self._documents)):
            raise ValueError("chunks refer to documents the index does not have")

    @classmethod
    def load(cls, build: Path, documents: Sequence[Document]) -> "ChunkTable":
        header = json.loads((build / "chunks.json").read_text("utf-8"))
        if header.get("columns") != list(CHUNK_COLUMNS):
            raise ValueError("chunks.json does not describe the chunk columns this casebot reads")
        columns = np.load(build / "chunks.npy", mmap_mode="r")
        sentences = np.load(build / "sentences.npy", mmap_mode="r")
        if (len(columns), len(sentences)) != (header["chunks"], header["sentences"]):
            raise ValueError(f"chunks.json counts {header['chunks']} chunks and {header['sentences']} sentences, "
                             f"the columns hold {len(columns)} and {len(sentences)}")
        return cls(documents, columns, sentences)

    @staticmethod
    def write(build: Path, documents: Sequence[Document], chunks: Sequence[Chunk]) -> None:
        position = {d.doc_id: i for i, d in enumerate(documents)}
        columns = np.empty((len(chunks), len(CHUNK_COLUMNS)), dtype=np.int64)
        spans: list[tuple[int, int]] = []
        for row, c in enumerate(chunks):
            columns[row] = (position[c.doc_id], c.start, c.end, c.paragraph, -1 if c.page is None else c.page,
                            len(c.sentences))
            spans.extend(c.sentences)
        sentences = np.asarray(spans, dtype=np.int64).reshape(-1, 2)
        for name, array in (("chunks.npy", columns), ("sentences.npy", sentences)):
            with open(build / name, "wb") as fh:
                np.save(fh, array)
                sync(fh)
        _write_json(build / "chunks.json", {"chunks": len(chunks), "sentences": len(sentences),
                                            "columns": list(CHUNK_COLUMNS)})

    def __len__(self) -> int:
        return len(self._columns)

    @overload
    def __getitem__(self, index: int) -> Chunk: ...

    @overload
    def __getitem__(self, index: slice) -> list[Chunk]: ...

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        index = int(index)
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("chunk index out of range")
        document, start, end, paragraph, page, _ = self._columns[index].tolist()
        first, last = int(self._first_sentence[index]), int(self._first_sentence[index + 1])
        sentences = tuple(map(tuple, self._sentences[first:last].tolist())) if last > first else ()
        doc = self._documents[document]
        return Chunk(doc.doc_id, start, end, paragraph, doc.text[start:end], sentences, None if page < 0 else page)

    def __iter__(self) -> Iterator[Chunk]:
        for i in range(len(self)):
            yield self[i]

    def sentence_spans(self, index: int) -> np.ndarray:
        """(k, 2) absolute sentence spans of chunk ``index`` (its own span when it has none); no Chunk made."""
        first, last = int(self._first_sentence[index]), int(self._first_sentence[index + 1])
        if last > first:
            return np.asarray(self._sentences[first:last])
        return np.asarray(self._columns[index, 1:3]).reshape(1, 2)

    def document_index(self) -> np.ndarray:
        """(n,) the position in ``documents`` of each chunk's document (a column, no Chunk made)."""
        return np.asarray(self._columns[:, 0])

    def counts_by_document(self) -> dict[str, int]:
        """Chunks per document id, from the column (fast at any size)."""
        counts = np.bincount(self.document_index(), minlength=len(self._documents))
        return {d.doc_id: int(n) for d, n in zip(self._documents, counts.tolist()) if n}
