"""What the search stages read from an index, whichever store holds it.

Two stores implement it: the files in INDEX_DIR (index.store.files, the default) and Milvus
(index.store.milvus). The stages (index.search) call only what ``SearchIndex`` names, so they do not
know which store answers. A store's write side (``new_build``, ``write``, ``commit``: publish a build
atomically) is what index.build calls; each store documents its own.

Vector spaces, one vector per chunk in each:

* ``VECTORS``: the main sentence vectors (MiniLM), the dense candidates;
* ``MULTILINGUAL``: multilingual-e5 (index.search.crosslingual), per document language;
* ``ALIGNED``: USE-multilingual (index.search.answer_language).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from index.store.tables import ChunkTable
from index.text.lexical import bm25_scores, document_frequency
from index.types import Document

VECTORS = "vectors"
MULTILINGUAL = "multilingual"
ALIGNED = "aligned"
SPACES = (VECTORS, MULTILINGUAL, ALIGNED)


@dataclass(frozen=True)
class StoredPieces:
    """The stored 8-bit word pieces of some chunks, in the order asked (index.store.pieces)."""

    codes: np.ndarray  # (pieces, dimension) int8
    scales: np.ndarray  # (pieces,) float32: code * scale is the piece's vector
    spans: np.ndarray  # (pieces, 2) int64, relative to the chunk's text; -1: the context's pieces
    counts: np.ndarray  # (chunks,) pieces of each chunk asked

    @classmethod
    def of(cls, records: np.ndarray, counts: Sequence[int]) -> "StoredPieces":
        """From structured records (index.store.pieces.record_dtype), the chunks' one after another."""
        spans = np.stack([records["start"], records["end"]], axis=1).astype(np.int64)
        return cls(records["code"], np.asarray(records["scale"], dtype=np.float32), spans,
                   np.asarray(counts, dtype=np.int64))


class Lexicon(Protocol):
    """The corpus's BM25 terms (index.text.lexical): what abstention and the names across scripts read."""

    vocab_dict: dict[str, int]

    def frequency(self, terms: Sequence[str]) -> np.ndarray:
        """How many chunks hold each term (0 for a term the corpus lacks)."""
        ...


@dataclass(frozen=True)
class Bm25Lexicon:
    """The terms of a bm25s index (the files store)."""

    model: Any  # bm25s.BM25

    @property
    def vocab_dict(self) -> dict[str, int]:
        return self.model.vocab_dict

    def frequency(self, terms: Sequence[str]) -> np.ndarray:
        return document_frequency(self.model, terms)

    def scores(self, question: str, chunks: int) -> np.ndarray:
        return bm25_scores(self.model, question, chunks)


@dataclass(frozen=True)
class TermCounts:
    """Terms and the number of chunks holding each, without a score matrix (the Milvus store, whose
    engine scores BM25 itself)."""

    vocab_dict: dict[str, int]
    counts: np.ndarray  # (terms,) chunks holding each term id

    def frequency(self, terms: Sequence[str]) -> np.ndarray:
        ids = [self.vocab_dict.get(t) for t in terms]
        return np.array([self.counts[i] if i is not None else 0 for i in ids], dtype=np.float64)


class SearchIndex(Protocol):
    """One published build, as the search stages read it."""

    path: Path  # the build's name (a folder, or a Milvus collection): logs and `index status`
    documents: tuple[Document, ...]
    chunks: ChunkTable  # chunk by row; Chunk objects made on access

    @property
    def lexicon(self) -> Lexicon | None:
        """The corpus's terms; None for an index without chunks."""
        ...

    @property
    def piece_count(self) -> int:
        """Stored word pieces (0: none stored; the model reads the candidates instead)."""
        ...

    def has(self, space: str) -> bool:
        """Whether the build holds vectors of ``space``."""
        ...

    def dense_candidates(self, space: str, vector: np.ndarray, k: int,
                         among: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` rows nearest ``vector`` in ``space`` (cosine), best first, as (cosines, rows);
        ``among``: only chunks of documents in that language."""
        ...

    def cosines(self, space: str, rows: Sequence[int], vector: np.ndarray) -> np.ndarray:
        """The cosine of ``vector`` with each row's vector in ``space``."""
        ...

    def lexical_candidates(self, question: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Up to ``k`` rows holding the question's words, best BM25 first, as (rows, scores > 0)."""
        ...

    def lexical_scores(self, question: str) -> np.ndarray:
        """Every chunk's BM25 score for the question (0: none of its words)."""
        ...

    def stored_pieces(self, rows: Sequence[int]) -> StoredPieces:
        """The stored word pieces of ``rows`` (only when ``piece_count``)."""
        ...
