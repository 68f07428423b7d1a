"""One published build in Milvus, as the search stages read it (index.store.base.SearchIndex).

In memory, as the files store keeps them memory-mapped: documents, the chunk table, the chunks'
hashes and the corpus's terms. Per question, from the build's collection: the nearest vectors
(Milvus search), BM25 candidates (Milvus full text, index.store.milvus.layout), and the vectors and
word pieces of the candidates (by primary key; the last ones fetched are kept, up to a budget, so a
small index is read from Milvus once).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from index.store.base import ALIGNED, MULTILINGUAL, VECTORS, StoredPieces, TermCounts
from index.store.files import Manifest
from index.store.milvus.connection import MilvusTarget, retrying
from index.store.milvus.layout import ANALYZERS, bm25_field, bm25_text, decode_pieces, sparse_field
from index.store.milvus.pieces import SharedPieces, key as piece_key
from index.store.tables import ChunkTable
from index.text.lexical import ChunkTerms
from index.types import Document

FETCH = 1024  # rows fetched by one call
CACHE_BYTES = 128 * 2**20  # fetched vectors and pieces kept per index
SEARCH_LIMIT = 16_384  # Milvus's largest top-k


class _Cache:
    """Rows' values, the most recently used kept up to ``budget`` bytes. Thread-safe."""

    def __init__(self, budget: int) -> None:
        self._items: OrderedDict[tuple[str, int], np.ndarray] = OrderedDict()
        self._bytes = 0
        self._budget = budget
        self._lock = threading.Lock()

    def get(self, key: tuple[str, int]) -> np.ndarray | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: tuple[str, int], value: np.ndarray) -> None:
        with self._lock:
            if key not in self._items:
                self._items[key] = value
                self._bytes += value.nbytes
            while self._bytes > self._budget and self._items:
                _, dropped = self._items.popitem(last=False)
                self._bytes -= dropped.nbytes


@dataclass
class MilvusIndex:
    path: Path  # milvus:/<collection>: the build's name in logs and `index status`
    manifest: Manifest
    documents: tuple[Document, ...]
    chunks: ChunkTable
    hashes: np.ndarray  # (n,) 16-byte content hashes (index.build reuses vectors by them)
    client: Any
    target: MilvusTarget
    terms: ChunkTerms | None  # every chunk's terms (the next build's, and the vocabulary)
    term_counts: np.ndarray  # chunks holding each term id
    piece_counts: np.ndarray  # (n,) stored pieces of each chunk
    store_name: str = "casebot"  # MILVUS_COLLECTION: the shared pieces are <name>_pieces
    _cache: _Cache = field(default_factory=lambda: _Cache(CACHE_BYTES))

    def __post_init__(self) -> None:
        languages = np.array([d.language or "en" for d in self.documents] or ["en"])
        of_chunk = languages[self.chunks.document_index()] if len(self.chunks) else np.array([], dtype=str)
        self._text_fields = sorted({bm25_field(str(lang)) for lang in set(of_chunk.tolist())})
        # What index.build reads of a previous build, as the files store's arrays.
        self.vectors = RemoteVectors(self, VECTORS, self.manifest.dimension)
        self.multilingual = RemoteVectors(self, MULTILINGUAL, self.manifest.multilingual) \
            if self.manifest.multilingual else None
        self.aligned = RemoteVectors(self, ALIGNED, self.manifest.aligned) if self.manifest.aligned else None
        self.pieces = self if self.manifest.token_pieces else None

    @property
    def collection(self) -> str:
        return self.path.name

    # -- index.store.base.SearchIndex ------------------------------------------------------------
    @property
    def lexicon(self) -> TermCounts | None:
        if self.terms is None or not len(self.chunks):
            return None
        return TermCounts(self.terms.vocabulary, self.term_counts)

    @property
    def piece_count(self) -> int:
        return self.manifest.token_pieces

    @property
    def live_records(self) -> int:  # as index.store.pieces.PieceTable's
        return self.manifest.token_pieces

    def has(self, space: str) -> bool:
        return {VECTORS: True, MULTILINGUAL: bool(self.manifest.multilingual),
                ALIGNED: bool(self.manifest.aligned)}[space] and len(self.chunks) > 0

    def dense_candidates(self, space: str, vector: np.ndarray, k: int,
                         among: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        k = min(k, len(self.chunks), SEARCH_LIMIT)
        if k <= 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        where = f'lang == "{among}"' if among is not None and _plain(among) else ""
        hits = self._call(lambda: self.client.search(
            self.collection, data=[np.asarray(vector, dtype=np.float32).tolist()], anns_field=space, limit=k,
            filter=where, search_params={"metric_type": "IP"}, consistency_level="Strong"))[0]
        return (np.array([h["distance"] for h in hits], dtype=np.float32),
                np.array([h["id"] for h in hits], dtype=np.int64))

    def cosines(self, space: str, rows: Sequence[int], vector: np.ndarray) -> np.ndarray:
        vectors = self.rows_of(space, list(rows))
        return (vectors @ np.asarray(vector, dtype=np.float32)).astype(np.float32)

    def lexical_scores(self, question: str) -> np.ndarray:
        scores = np.zeros(len(self.chunks), dtype=np.float32)
        rows, found = self._bm25(question, min(len(self.chunks), SEARCH_LIMIT))
        scores[rows] = found
        return scores

    def lexical_candidates(self, question: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        rows, scores = self._bm25(question, k)
        order = np.lexsort((rows, -scores))[:k]
        return rows[order], scores[order]

    def stored_pieces(self, rows: Sequence[int]) -> StoredPieces:
        records = self._fetch_pieces(list(rows))
        counts = [len(r) for r in records]
        joined = np.concatenate(records) if records else decode_pieces([], self.manifest.dimension)
        return StoredPieces.of(joined, counts)

    # -- what index.build reads of the previous build ------------------------------------------
    def stored_terms(self) -> ChunkTerms | None:
        return self.terms

    def rows_of(self, space: str, rows: list[int]) -> np.ndarray:
        """The rows' vectors in ``space``, (len(rows), dimension) float32."""
        found = self._fetch(space, rows)
        dimension = {VECTORS: self.manifest.dimension, MULTILINGUAL: self.manifest.multilingual,
                     ALIGNED: self.manifest.aligned}[space]
        return np.stack(found) if found else np.zeros((0, dimension), dtype=np.float32)

    # -- reading ---------------------------------------------------------------------------------
    def _bm25(self, question: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        best: dict[int, float] = {}
        k = min(k, len(self.chunks), SEARCH_LIMIT)
        for text_field in self._text_fields if k > 0 else ():
            query = bm25_text(text_field, question)
            if not query.strip():
                continue
            hits = self._call(lambda: self.client.search(
                self.collection, data=[query], anns_field=sparse_field(text_field), limit=k,
                search_params={"metric_type": "BM25"}, consistency_level="Strong"))[0]
            for h in hits:
                if h["distance"] > 0:
                    best[int(h["id"])] = max(best.get(int(h["id"]), 0.0), float(h["distance"]))
        rows = np.fromiter(best, dtype=np.int64, count=len(best))
        return rows, np.array([best[r] for r in rows.tolist()], dtype=np.float32)

    def _fetch_pieces(self, rows: list[int]) -> list[np.ndarray]:
        """Each row's piece records, from the pieces builds share (by content hash), cached."""
        found = {r: v for r in rows if (v := self._cache.get(("pieces", r))) is not None}
        missing = list(dict.fromkeys(r for r in rows if r not in found))
        if missing:
            keys = {r: piece_key(self.hashes[r]) for r in missing}
            got = SharedPieces(self.client, self.target, self.store_name).get(list(keys.values()),
                                                                               self.manifest.dimension)
            for row in missing:
                if keys[row] not in got:
                    raise KeyError(f"the word pieces of chunk {row} are missing from Milvus")
                found[row] = got[keys[row]]
                self._cache.put(("pieces", row), found[row])
        return [found[r] for r in rows]

    def _fetch(self, what: str, rows: list[int]) -> list[np.ndarray]:
        """Each row's vector in the space ``what``, cached."""
        found: dict[int, np.ndarray] = {}
        for row in rows:
            cached = self._cache.get((what, row))
            if cached is not None:
                found[row] = cached
        missing = list(dict.fromkeys(r for r in rows if r not in found))
        for start in range(0, len(missing), FETCH):
            batch = missing[start : start + FETCH]
            got = self._call(lambda: self.client.get(self.collection, ids=batch, output_fields=[what]))
            for g in got:
                value = np.asarray(g[what], dtype=np.float32)
                found[int(g["row"])] = value
                self._cache.put((what, int(g["row"])), value)
        if len(found) < len(set(rows)):
            raise KeyError(f"rows missing from {self.collection}")
        return [found[r] for r in rows]

    def _call(self, call: Any) -> Any:
        return retrying(self.target, call)


class RemoteVectors:
    """A space's vectors of a Milvus build, indexed like the files store's array (rows, then a
    read), for index.build's reuse of unchanged chunks."""

    def __init__(self, index: MilvusIndex, space: str, dimension: int) -> None:
        self.index = index
        self.space = space
        self.shape = (len(index.chunks), dimension)

    def __getitem__(self, rows: Any) -> np.ndarray:
        return self.index.rows_of(self.space, np.asarray(rows, dtype=np.int64).reshape(-1).tolist())

    def __len__(self) -> int:
        return self.shape[0]


def _plain(language: str) -> bool:
    return language.replace("-", "").isalnum()


__all__ = ["ANALYZERS", "MilvusIndex", "RemoteVectors"]
