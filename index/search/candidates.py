"""Stage 1 of a search: the candidate chunks of a question.

The chunks of the nearest dense vectors (FAISS: sentence-transformers vectors, cosine) plus the best
BM25 chunks, so that an exact name, number or date in the question is never lost to the vectors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from index.store.base import VECTORS, SearchIndex
from index.store.files import TOPK_WITH_TORCH_ABOVE, largest  # noqa: F401 - named here since before


@dataclass(frozen=True)
class Candidate:
    chunk: int
    dense: float  # cosine of the question's vector with the chunk's
    words: float  # BM25 score of the question's words in the chunk (0 outside the best BM25 chunks)


def find_candidates(index: SearchIndex, question: str, vector: np.ndarray, dense_depth: int,
                    lexical_depth: int, every: bool = False) -> list[Candidate]:
    """The ``dense_depth`` nearest chunks, then up to ``lexical_depth`` best BM25 chunks not yet in,
    each with both scores; or (``every``) every chunk, nearest first."""
    n_chunks = len(index.chunks)
    if n_chunks == 0:
        return []
    if every:
        cosines = index.cosines(VECTORS, range(n_chunks), vector)
        words = index.lexical_scores(question)
        order = np.lexsort((np.arange(n_chunks), -cosines))
        return [Candidate(int(c), float(cosines[c]), float(words[c])) for c in order]
    scores, rows = index.dense_candidates(VECTORS, vector, dense_depth)
    dense: dict[int, float] = {}
    for score, row in zip(scores.tolist(), rows.tolist()):
        dense[int(row)] = score  # row i of the vectors is chunk i
    pool = sorted(dense, key=lambda c: (-dense[c], c))
    words: dict[int, float] = {}
    if lexical_depth:
        best, best_scores = index.lexical_candidates(question, lexical_depth)
        words = dict(zip(best.tolist(), best_scores.tolist()))
        pool += [c for c in best.tolist() if c not in dense]
    missing = [c for c in pool if c not in dense]
    if missing:
        dense.update(zip(missing, index.cosines(VECTORS, missing, vector).tolist()))
    return [Candidate(c, dense[c], float(words.get(c, 0.0))) for c in pool]
