"""Second, simpler implementations used as oracles for the word and vector sides of retrieval."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from index.lexical import bm25_scores, build_bm25, tokenize
from index.vectors import build_vector_index, search_vectors

WORDS = ["telegram", "durov", "iran", "russia", "fsb", "keys", "court", "encryption", "law", "users", "data"]


def reference_bm25(texts: list[str], query: str, k1: float = 1.5, b: float = 0.75) -> list[float]:
    """BM25 (Lucene variant) written out plainly."""
    docs = [tokenize(t) for t in texts]
    n = len(docs)
    average = sum(len(d) for d in docs) / n
    scores = []
    for doc in docs:
        total = 0.0
        for term in set(tokenize(query)):
            df = sum(term in d for d in docs)
            if df == 0:
                continue
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            tf = doc.count(term)
            total += idf * tf / (tf + k1 * (1 - b + b * len(doc) / average))
        scores.append(total)
    return scores


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.lists(st.sampled_from(WORDS), min_size=1, max_size=30).map(" ".join), min_size=1, max_size=12),
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=5, unique=True).map(" ".join),
)
def test_bm25_scores_match_a_plain_reference_implementation(texts: list[str], query: str) -> None:
    got = bm25_scores(build_bm25(texts), query, len(texts))
    assert np.allclose(got, reference_bm25(texts, query), atol=1e-4)


@settings(max_examples=50, deadline=None)
@given(st.integers(min_value=1, max_value=300), st.integers(min_value=1, max_value=20), st.integers(0, 2**32 - 1))
def test_vector_search_matches_brute_force(n: int, k: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((n, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    query = vectors[rng.integers(n)] + 0.1 * rng.standard_normal(32).astype(np.float32)
    scores, ids = search_vectors(build_vector_index(vectors), query, k)
    expected = np.sort(vectors @ query)[::-1][: min(k, n)]
    assert len(ids) == min(k, n)
    assert np.allclose(scores, expected, atol=1e-4)
    assert np.allclose(vectors[ids] @ query, scores, atol=1e-4)
