"""Stage 1 of a search: the candidate chunks of a question.

The chunks of the nearest dense vectors (FAISS: sentence-transformers vectors, cosine) plus the best
BM25 chunks, so that an exact name, number or date in the question is never lost to the vectors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from index.text.lexical import bm25_scores
from index.store.files import LoadedIndex, read_rows
from index.store.vectors import search_vectors

# Above this many chunks torch.topk picks the best BM25 chunks faster than numpy's argpartition;
# below it argpartition is quicker (bench/search_side.py).
TOPK_WITH_TORCH_ABOVE = 50_000


@dataclass(frozen=True)
class Candidate:
    chunk: int
    dense: float  # cosine of the question's vector with the chunk's
    words: float  # BM25 score of the question's words in the chunk


def largest(values: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` largest values, in no particular order."""
    if len(values) > TOPK_WITH_TORCH_ABOVE:
        import torch

        return torch.topk(torch.from_numpy(np.ascontiguousarray(values)), k).indices.numpy()
    return np.argpartition(-values, k - 1)[:k]


def find_candidates(index: LoadedIndex, question: str, vector: np.ndarray, dense_depth: int,
                    lexical_depth: int, every: bool = False) -> list[Candidate]:
    """The ``dense_depth`` nearest chunks, then up to ``lexical_depth`` best BM25 chunks not yet in,
    each with both scores; or (``every``) every chunk, nearest first."""
    n_chunks = len(index.chunks)
    if n_chunks == 0:
        return []
    if every:
        cosines = read_rows(index.vectors, 0, n_chunks).astype(np.float32, copy=False) @ vector
        words = bm25_scores(index.bm25, question, n_chunks)
        order = np.lexsort((np.arange(n_chunks), -cosines))
        return [Candidate(int(c), float(cosines[c]), float(words[c])) for c in order]
    scores, rows = search_vectors(index.vector_index, vector, dense_depth)
    dense: dict[int, float] = {}
    for score, row in zip(scores.tolist(), rows.tolist()):
        dense[int(row)] = score  # row i of the vectors is chunk i
    pool = sorted(dense, key=lambda c: (-dense[c], c))
    words = bm25_scores(index.bm25, question, n_chunks)
    if lexical_depth and words.any():
        top = largest(words, min(lexical_depth, n_chunks))
        best = top[np.lexsort((top, -words[top]))]
        pool += [int(c) for c in best if words[c] > 0 and int(c) not in dense]
    for chunk in pool:
        if chunk not in dense:
            dense[chunk] = _dense(index, chunk, vector)
    return [Candidate(c, dense[c], float(words[c])) for c in pool]


def _dense(index: LoadedIndex, chunk: int, vector: np.ndarray) -> float:
    return float(np.max(read_rows(index.vectors, chunk, chunk + 1).astype(np.float32, copy=False) @ vector))
