"""What the models give, shared by the embedders (index.embed) and the retrieval models
(index.retrieval_models): piece vectors with their spans, unit-length rows, the progress callback."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

ProgressCallback = Callable[[int], None]  # called with the number of texts just embedded


@dataclass(frozen=True)
class TokenVectors:
    """Contextual vectors of the word pieces of one text, with their character spans in it."""

    vectors: np.ndarray  # (n, dimension) float32, each row L2-normalised
    spans: np.ndarray  # (n, 2) int: text[start:end] is the piece (special tokens are left out)
    pooled: np.ndarray | None = None  # (dimension,) the text's own vector, when the same pass gave it


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
