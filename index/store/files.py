"""The index on disk: one folder per build, and an atomically swapped ``current`` link.

    INDEX_DIR/current -> builds/<build id>      (a symlink, replaced with index.store.atomic)
    INDEX_DIR/builds/<build id>/manifest.json   format, model, dimension, counts, document hashes
                               /documents.json  documents' metadata
                               /texts.bin       the documents' texts, UTF-8, one after another
                               /chunks.json     the chunk table's header: counts and columns
                               /chunks.npy      (n, 6) int64 columns: document, start, end,
                                                paragraph, page (-1: none), sentence count
                               /sentences.npy   (m, 2) int64 sentence spans of all chunks, in order
                               /hashes.npy      (n, 16) uint8: each chunk's hash of model and text
                               /vectors.npy     float32, one vector per chunk (memory-mapped)
                               /vectors.faiss   the FAISS index over those vectors (memory-mapped)
                               /bm25/           the bm25s word index over chunk texts (memory-mapped)
                               /terms.npz       each chunk's terms as ids into the BM25 vocabulary
                                                (read by the next build only: index.text.lexical)
                               /tokens.bin      8-bit word-piece vectors, shared between builds
                               /token_chunks.npy which of them belong to each chunk (index.store.pieces)
                               /multilingual.npy, .faiss  multilingual-e5 vectors (index.search.crosslingual)
                               /aligned.npy, .faiss  USE-multilingual vectors (index.search.answer_language)

Row i of every per-chunk file is chunk i. How the tables are read without loading them: index.store.tables.
An index of another format is reported like damage, with the one-line hint to rebuild it.

A build writes a complete new folder, then swaps the link: a build killed at any moment leaves
the previous index in place and loadable. The manifest is written last inside the folder, so a
folder without one is an unfinished build and is cleaned up.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index.store.atomic import fsync_dir, replacing, sync
from index.errors import IndexCorrupt, IndexMissing, ModelMismatch
from index.text.lexical import ChunkTerms, load_terms, save_terms
from index.store.tables import (ChunkTable, documents_with_texts, load_hashes, random_access, write_documents,
                          write_hashes, write_json)
from index.store.tables import read_ranges, read_rows
from index.store.base import ALIGNED, MULTILINGUAL, VECTORS, Bm25Lexicon, StoredPieces
from index.store.pieces import PieceTable, write_piece_table
from index.store.vectors import search_vectors
from index.types import Chunk, Document, ModelIdentity

log = logging.getLogger(__name__)

# 4: a chunk's stored pieces include its context's (the title, span -1: index.search.late_interaction);
# 3 and older are rebuilt.
FORMAT_VERSION = 4
REBUILD_HINT = "run: python -m bot index build --full"
TERMS_FILE = "terms.npz"
HASHES_FILE = "hashes.npy"
TOPK_WITH_TORCH_ABOVE = 50_000


@dataclass(frozen=True)
class Manifest:
    format: int
    build_id: str
    created: str
    model: str
    dimension: int
    documents: int
    chunks: int
    vector_index: str
    document_hashes: dict[str, str]
    token_pieces: int = 0  # stored word-piece vectors (index.store.pieces); 0: none
    multilingual: int = 0  # dimension of the stored multilingual vectors (index.search.crosslingual); 0: none
    aligned: int = 0  # dimension of the stored USE vectors (index.search.answer_language); 0: none

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Manifest":
        """The manifest of ``data``; a field added with a default since its build may be absent (an
        index built before USE-multilingual's vectors serves without them until the next build)."""
        optional = {"aligned"}
        fields = [key for key in cls.__dataclass_fields__ if key in data or key not in optional]
        return cls(**{key: data[key] for key in fields})


def check_model(manifest: Manifest, models: ModelIdentity) -> None:
    """Raise ModelMismatch when ``models`` are not the ones that built the index (any store's)."""
    if manifest.model != models.name or manifest.dimension != models.dimension:
        raise ModelMismatch(
            f"The index was built with {manifest.model} ({manifest.dimension} dimensions) but the "
            f"configured models are {models.name} ({models.dimension} dimensions); {REBUILD_HINT}"
        )


@dataclass
class LoadedIndex:
    path: Path
    manifest: Manifest
    documents: tuple[Document, ...]
    chunks: ChunkTable  # Chunk objects made on access
    hashes: np.ndarray  # (n,) 16-byte content hash of each chunk (index.build reuses vectors by it)
    vectors: np.ndarray  # (n, dimension) one per chunk
    vector_index: Any  # faiss.Index
    bm25: Any  # bm25s.BM25
    pieces: PieceTable | None = None  # word-piece vectors per chunk, when the build stored them
    multilingual: np.ndarray | None = None  # (chunks, dimension) multilingual-e5 vectors, when stored
    multilingual_index: Any = None  # faiss.Index over them
    aligned: np.ndarray | None = None  # (chunks, dimension) USE-multilingual vectors, when stored
    aligned_index: Any = None  # faiss.Index over them

    # -- what the search stages read (index.store.base.SearchIndex) ------------------------------
    @property
    def lexicon(self) -> Bm25Lexicon | None:
        return Bm25Lexicon(self.bm25) if self.bm25 is not None else None

    @property
    def piece_count(self) -> int:
        return self.pieces.live_records if self.pieces is not None else 0

    def has(self, space: str) -> bool:
        return self._space(space)[0] is not None

    def dense_candidates(self, space: str, vector: np.ndarray, k: int,
                         among: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        selector = self._selector(among) if among is not None else None
        return search_vectors(self._space(space)[1], vector, k, selector)

    def cosines(self, space: str, rows: Sequence[int], vector: np.ndarray) -> np.ndarray:
        vectors = self._space(space)[0]
        if len(rows) == len(self.chunks) and list(rows[:1]) == [0] and list(rows[-1:]) == [len(rows) - 1]:
            block = read_rows(vectors, 0, len(rows))  # every chunk, in order: one read
        else:
            block = read_ranges(vectors, list(rows), [1] * len(rows))
        return (block.astype(np.float32, copy=False) @ vector).astype(np.float32)

    def lexical_scores(self, question: str) -> np.ndarray:
        lexicon = self.lexicon
        return lexicon.scores(question, len(self.chunks)) if lexicon is not None else np.zeros(0, np.float32)

    def lexical_candidates(self, question: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        words = self.lexical_scores(question)
        if not k or not words.any():
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        top = largest(words, min(k, len(words)))
        best = top[np.lexsort((top, -words[top]))]
        best = best[words[best] > 0]
        return best.astype(np.int64), words[best]

    def stored_pieces(self, rows: Sequence[int]) -> StoredPieces:
        assert self.pieces is not None
        first, count = self.pieces.chunks[list(rows), 0], self.pieces.chunks[list(rows), 1]
        return StoredPieces.of(read_ranges(self.pieces.records, first.tolist(), count.tolist()), count)

    def stored_terms(self) -> ChunkTerms | None:
        """The chunks' terms this build stored, or None (no chunks, another tokenizer, damage)."""
        if self.bm25 is None:
            return None
        return load_terms(self.path / TERMS_FILE, self.bm25.vocab_dict, len(self.chunks))

    def _space(self, space: str) -> tuple[Any, Any]:
        return {VECTORS: (self.vectors, self.vector_index),
                MULTILINGUAL: (self.multilingual, self.multilingual_index),
                ALIGNED: (self.aligned, self.aligned_index)}[space]

    def _selector(self, language: str) -> Any:
        """A FAISS selector of the chunks of documents in ``language`` (made once per language)."""
        import faiss

        selectors = self.__dict__.setdefault("_selectors", {})
        if language not in selectors:
            of_document = np.array([(d.language or "en") == language for d in self.documents], dtype=bool)
            rows = np.flatnonzero(of_document[self.chunks.document_index()]) if len(self.chunks) else []
            selectors[language] = faiss.IDSelectorBatch(np.asarray(rows, dtype=np.int64))
        return selectors[language]


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
        self.keep = keep  # intact builds kept on disk, the current one included (index.store.builds)

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
            found = data.get("format")
            if found != FORMAT_VERSION:  # an older (or newer) layout: its other fields may differ too
                raise IndexCorrupt(f"The index in {build} has format {found}, this casebot reads "
                                   f"{FORMAT_VERSION}; {REBUILD_HINT}")
            return Manifest.from_json(data)
        except FileNotFoundError:
            raise IndexCorrupt(
                f"The index in {build} has no manifest (an unfinished build?); {REBUILD_HINT}"
            ) from None
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise IndexCorrupt(
                f"The index manifest in {build} is unreadable ({type(exc).__name__}); {REBUILD_HINT}"
            ) from None

    def load(self, models: ModelIdentity | None = None, build: Path | None = None) -> LoadedIndex:
        """Load the current build (or ``build``). Raises IndexMissing, IndexCorrupt or ModelMismatch."""
        build = build or self.current_build()
        manifest = self.read_manifest(build)
        assert build is not None
        if models is not None:
            check_model(manifest, models)
        try:
            return self._load_files(build, manifest)
        except (IndexCorrupt, IndexMissing):
            raise
        except Exception as exc:  # any parse failure of any file means the same thing to a user
            message = f"The index in {build} is damaged ({type(exc).__name__}: {exc}); {REBUILD_HINT}"
            raise IndexCorrupt(message.splitlines()[0]) from None

    def _load_files(self, build: Path, manifest: Manifest) -> LoadedIndex:
        import bm25s
        import faiss

        metadata = json.loads((build / "documents.json").read_text("utf-8"))
        documents = documents_with_texts(metadata, build / "texts.bin")
        chunks = ChunkTable.load(build, documents)
        hashes = load_hashes(build / HASHES_FILE)
        vectors = random_access(np.load(build / "vectors.npy", mmap_mode="r"))
        # Memory-mapped: an exact index maps its codes in place, an IVF index its inverted lists.
        flag = faiss.IO_FLAG_MMAP_IFC if manifest.vector_index == "IndexFlatIP" else faiss.IO_FLAG_MMAP
        vector_index = faiss.read_index(str(build / "vectors.faiss"), flag)
        expected = (manifest.documents,) + (manifest.chunks,) * 4
        actual = (len(documents), len(chunks), len(hashes), vectors.shape[0], vector_index.ntotal)
        if expected != actual or (len(chunks) and vectors.shape[1] != manifest.dimension):
            raise IndexCorrupt(f"The index in {build} is inconsistent (counts {actual}, manifest says "
                               f"{expected}); {REBUILD_HINT}")
        bm25 = bm25s.BM25.load(str(build / "bm25"), load_corpus=False, mmap=True) if len(chunks) else None
        pieces = None
        if manifest.token_pieces:
            pieces = PieceTable.load(build, manifest.dimension, len(chunks))
            if pieces is None or pieces.live_records != manifest.token_pieces:
                raise IndexCorrupt(
                    f"The word vectors of the index in {build} are missing or incomplete; {REBUILD_HINT}"
                )
        multilingual = _per_chunk_vectors(build, "multilingual", manifest.multilingual, len(chunks), flag)
        aligned = _per_chunk_vectors(build, "aligned", manifest.aligned, len(chunks), flag)
        return LoadedIndex(build, manifest, documents, chunks, hashes, vectors, vector_index, bm25, pieces,
                           *multilingual, *aligned)

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
              hashes: Sequence[bytes], vectors: np.ndarray, vector_index: Any, bm25: Any,
              terms: ChunkTerms | None = None, multilingual: tuple[np.ndarray, Any] | None = None,
              aligned: tuple[np.ndarray, Any] | None = None) -> None:
        """Write every file of a build (``hashes``, ``vectors``, and ``multilingual``'s and ``aligned``'s
        vectors and index: one per chunk); the manifest goes last and marks it complete."""
        import faiss

        write_documents(build, documents)
        ChunkTable.write(build, documents, chunks)
        write_hashes(build / HASHES_FILE, hashes)
        with open(build / "vectors.npy", "wb") as fh:
            np.save(fh, np.ascontiguousarray(vectors, dtype=np.float32))
            sync(fh)
        faiss.write_index(vector_index, str(build / "vectors.faiss"))
        for name, pair in (("multilingual", multilingual), ("aligned", aligned)):
            if pair is not None:
                with open(build / f"{name}.npy", "wb") as fh:
                    np.save(fh, np.ascontiguousarray(pair[0], dtype=np.float32))
                    sync(fh)
                faiss.write_index(pair[1], str(build / f"{name}.faiss"))
        if bm25 is not None:
            bm25.save(str(build / "bm25"))
        if terms is not None:
            with open(build / TERMS_FILE, "wb") as fh:
                save_terms(fh, terms)
                sync(fh)
        write_json(build / "manifest.json", asdict(manifest))
        fsync_dir(build)

    def write_pieces(self, build: Path, dimension: int, previous: LoadedIndex | None,
                     reused: Sequence[int | None], new_pieces: Any) -> int:
        """Write ``build``'s word pieces (index.store.pieces.write_piece_table); returns how many it
        holds."""
        write_piece_table(build, dimension, previous.pieces if previous else None,
                          previous.path if previous else None, reused, new_pieces)
        table = PieceTable.load(build, dimension, len(reused))
        return table.live_records if table is not None else 0

    def discard(self, build: Path) -> None:
        """Remove an unfinished ``build`` (never the one ``current`` points at)."""
        if self.current_build() != build:
            shutil.rmtree(build, ignore_errors=True)

    def describe(self) -> str:
        """Where the index lives, for ``index status``."""
        return f"files in {self.root}"

    def commit(self, build: Path) -> None:
        """Point ``current`` at ``build`` atomically (old builds: index.store.builds.prune_builds)."""
        self.read_manifest(build)  # never swap in an incomplete build
        with replacing(self.current) as link:
            os.symlink(Path("builds") / build.name, link)


def _per_chunk_vectors(build: Path, name: str, dimension: int, chunks: int, flag: int) -> tuple[Any, Any]:
    """A second model's vectors (``name``.npy, memory-mapped) and their FAISS index, or (None, None)
    when the manifest says the build has none (``dimension`` 0)."""
    import faiss

    if not dimension:
        return None, None
    vectors = random_access(np.load(build / f"{name}.npy", mmap_mode="r"))
    index = faiss.read_index(str(build / f"{name}.faiss"), flag)
    if vectors.shape != (chunks, dimension) or index.ntotal != chunks:
        raise IndexCorrupt(f"The {name} vectors of the index in {build} are incomplete; {REBUILD_HINT}")
    return vectors, index


def largest(values: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` largest values, in no particular order; above ``TOPK_WITH_TORCH_ABOVE``
    values torch.topk is quicker than numpy's argpartition (bench/search_side.py)."""
    if len(values) > TOPK_WITH_TORCH_ABOVE:
        import torch

        return torch.topk(torch.from_numpy(np.ascontiguousarray(values)), k).indices.numpy()
    return np.argpartition(-values, k - 1)[:k]


def stored_terms(index: LoadedIndex) -> ChunkTerms | None:
    """The chunks' terms the build of ``index`` stored, or None (no chunks, another tokenizer, damage)."""
    return index.stored_terms()
