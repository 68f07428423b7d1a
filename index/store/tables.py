"""A build's tables on disk, read without loading them: documents and their texts, the chunk
columns, the chunks' content hashes, and rows of memory-mapped arrays (index.store.files names the files).

Loading is cheap at any size: chunks are columns, and a ``Chunk`` is made when it is asked for
(``ChunkTable``), so a million chunks are 100 MB of memory-mapped columns instead of a Python object
each; texts are decoded from texts.bin when asked for (``_Texts``); the big arrays are memory-mapped,
so they load in milliseconds and several processes serving one index share the page cache.
"""

from __future__ import annotations

import json
import mmap
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, overload

import numpy as np

from index.store.atomic import sync
from index.types import Chunk, Document

CHUNK_COLUMNS = ("document", "start", "end", "paragraph", "page", "sentences")
HASH_BYTES = 16


def write_hashes(path: Path, hashes: Sequence[bytes]) -> None:
    """Each chunk's content hash, as (n, 16) bytes."""
    array = np.frombuffer(b"".join(hashes), dtype=np.uint8).reshape(-1, HASH_BYTES)
    with open(path, "wb") as fh:
        np.save(fh, array)
        sync(fh)


def load_hashes(path: Path) -> np.ndarray:
    """(n,) 16-byte values (``.tolist()`` gives ``bytes``). Stored as uint8 rows, never as numpy's
    bytes type: that drops trailing zero bytes (one hash in 256 ends in one), and such a hash never
    matched, so its unchanged chunk was re-embedded by every incremental build (bench/build.py)."""
    array = np.load(path)
    if array.dtype != np.uint8 or array.ndim != 2 or array.shape[1] != HASH_BYTES:
        raise ValueError(f"{path.name} holds {array.dtype} {array.shape}, not (n, {HASH_BYTES}) bytes")
    return np.ascontiguousarray(array).view(f"V{HASH_BYTES}").reshape(-1)


def random_access(array: np.ndarray) -> np.ndarray:
    """Tell the kernel a memory-mapped array is read a row here and there: no read-ahead from disk
    around each row a question reads (the kernel still maps whole cached folios: see ``read_ranges``)."""
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
    page-cache folio they sit in (up to 2 MB each) into the process, whose resident set then grows
    with every question at a million chunks (bench/scale.py)."""
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


def write_json(path: Path, data: Any) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False, separators=(",", ":"))
        sync(fh)


def write_documents(build: Path, documents: Sequence[Document]) -> None:
    """Metadata to documents.json, texts to texts.bin; each document records its bytes' end."""
    rows = []
    end = 0
    with open(build / "texts.bin", "wb") as fh:
        for d in documents:
            data = d.text.encode("utf-8", "surrogatepass")  # lone surrogates survive the round trip
            fh.write(data)
            end += len(data)
            row = asdict(d)
            del row["text"]
            row["text_end"] = end
            rows.append(row)
        sync(fh)
    write_json(build / "documents.json", rows)


def documents_with_texts(rows: list[dict[str, Any]], path: Path) -> tuple[Document, ...]:
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
            raise ValueError(
                f"texts.bin holds {size} bytes, documents.json accounts for {ends[-1] if ends else 0}"
            )
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


class ChunkTable(Sequence[Chunk]):
    """The chunks of a build as columns; ``table[i]`` makes the ``Chunk`` (its text a slice of the
    document text). Read-only and thread-safe."""

    def __init__(self, documents: Sequence[Document], columns: np.ndarray, sentences: np.ndarray) -> None:
        if (
            columns.ndim != 2
            or columns.shape[1] != len(CHUNK_COLUMNS)
            or sentences.ndim != 2
            or sentences.shape[1] != 2
        ):
            raise ValueError("chunk columns have the wrong shape")
        self._documents = tuple(documents)
        self._columns = columns
        self._sentences = sentences
        self._first_sentence = np.zeros(len(columns) + 1, dtype=np.int64)
        np.cumsum(columns[:, 5], out=self._first_sentence[1:])
        if self._first_sentence[-1] != len(sentences):
            raise ValueError(
                f"chunks name {self._first_sentence[-1]} sentences, the file holds {len(sentences)}"
            )
        if len(columns) and (
            int(columns[:, 0].min()) < 0 or int(columns[:, 0].max()) >= len(self._documents)
        ):
            raise ValueError("chunks refer to documents the index does not have")

    @classmethod
    def load(cls, build: Path, documents: Sequence[Document]) -> "ChunkTable":
        header = json.loads((build / "chunks.json").read_text("utf-8"))
        if header.get("columns") != list(CHUNK_COLUMNS):
            raise ValueError("chunks.json does not describe the chunk columns this casebot reads")
        columns = np.load(build / "chunks.npy", mmap_mode="r")
        sentences = np.load(build / "sentences.npy", mmap_mode="r")
        if (len(columns), len(sentences)) != (header["chunks"], header["sentences"]):
            raise ValueError(
                f"chunks.json counts {header['chunks']} chunks and {header['sentences']} sentences, "
                f"the columns hold {len(columns)} and {len(sentences)}"
            )
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
        write_json(build / "chunks.json", {"chunks": len(chunks), "sentences": len(sentences),
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
        return Chunk(
            doc.doc_id, start, end, paragraph, doc.text[start:end], sentences, None if page < 0 else page
        )

    def __iter__(self) -> Iterator[Chunk]:
        for i in range(len(self)):
            yield self[i]

    def sentence_spans(self, index: int) -> np.ndarray:
        """(k, 2) absolute sentence spans of chunk ``index`` (its own span when it has none); no Chunk
        made."""
        first, last = int(self._first_sentence[index]), int(self._first_sentence[index + 1])
        if last > first:
            return np.asarray(self._sentences[first:last])
        return np.asarray(self._columns[index, 1:3]).reshape(1, 2)

    def starts(self, indices: Sequence[int]) -> np.ndarray:
        """(k,) where chunks ``indices`` start in their document's text (a column, no Chunk made)."""
        return np.asarray(self._columns[np.asarray(indices, dtype=np.int64), 1])

    def document_index(self) -> np.ndarray:
        """(n,) the position in ``documents`` of each chunk's document (a column, no Chunk made)."""
        return np.asarray(self._columns[:, 0])

    def counts_by_document(self) -> dict[str, int]:
        """Chunks per document id, from the column (fast at any size)."""
        counts = np.bincount(self.document_index(), minlength=len(self._documents))
        return {d.doc_id: int(n) for d, n in zip(self._documents, counts.tolist()) if n}
