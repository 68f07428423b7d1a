"""What the models are and give, shared by the models (index.models.embed, index.models.retrieval_models),
the build and the search stages: the three kinds of model, piece vectors with their spans, unit-length
rows, the progress callback."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

ProgressCallback = Callable[[int], None]  # called with the number of texts just embedded


@dataclass(frozen=True)
class TokenVectors:
    """Contextual vectors of the word pieces of one text, with their character spans in it."""

    vectors: np.ndarray  # (n, dimension) float32, each row L2-normalised
    spans: np.ndarray  # (n, 2) int: text[start:end] is the piece (special tokens are left out)
    pooled: np.ndarray | None = None  # (dimension,) the text's own vector, when the same pass gave it


class Embedder(Protocol):
    """Maps texts to unit-length vectors; ``name`` identifies model and version in the index."""

    name: str
    dimension: int

    def encode_passages(self, texts: Sequence[str], progress: ProgressCallback | None = None) -> np.ndarray:
        """(len(texts), dimension) float32, each row L2-normalised."""
        ...

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dimension) float32, each row L2-normalised."""
        ...


class PieceModel(Protocol):
    """What reads word pieces (late interaction): index.models.retrieval_models.ColbertPieces."""

    name: str
    dimension: int

    def encode_tokens(self, texts: Sequence[str], progress: ProgressCallback | None = None
                      ) -> list[TokenVectors]: ...

    def encode_question(self, question: str) -> np.ndarray: ...


class PairScorer(Protocol):
    """What reads (question, passage) pairs: index.models.retrieval_models.CrossEncoder."""

    def scores(self, question: str, passages: Sequence[str]) -> np.ndarray: ...


def normalised(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        vectors = vectors[None, :]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return vectors / norms


def package_version(distribution: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return "unknown"
