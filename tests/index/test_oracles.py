"""Second, simpler implementations used as oracles for the word and vector sides of retrieval."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from index.models.models import Models
from index.build import build_index
from index.text.lexical import (bm25_from_terms, bm25_scores, build_bm25, chunk_terms, document_frequency,
                                terms_of)
from index.store.files import IndexStore
from index.store.vectors import build_vector_index, search_vectors
from tests.support import make_corpus, searcher_for

WORDS = ["telegram", "durov", "iran", "russia", "fsb", "keys", "court", "encryption", "law", "users", "data"]


def reference_bm25(texts: list[str], query: str, k1: float = 1.5, b: float = 0.75) -> list[float]:
    """BM25 (Lucene variant) written out plainly."""
    docs = [terms_of(t) for t in texts]
    n = len(docs)
    average = sum(len(d) for d in docs) / n
    scores = []
    for doc in docs:
        total = 0.0
        for term in set(terms_of(query)):
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
    st.lists(
        st.lists(st.sampled_from(WORDS), min_size=1, max_size=30).map(" ".join), min_size=1, max_size=12
    ),
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=5, unique=True).map(" ".join),
)
def test_bm25_scores_match_a_plain_reference_implementation(texts: list[str], query: str) -> None:
    got = bm25_scores(build_bm25(texts), query, len(texts))
    assert np.allclose(got, reference_bm25(texts, query), atol=1e-4)


@settings(max_examples=50, deadline=None)
@given(
    st.integers(min_value=1, max_value=300), st.integers(min_value=1, max_value=20), st.integers(0, 2**32 - 1)
)
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


TEXTS = st.lists(
    st.lists(st.sampled_from(WORDS + ["the", "of", "and"]), min_size=0, max_size=30).map(" ".join),
    min_size=1, max_size=12,
)


@settings(max_examples=100, deadline=None)
@given(TEXTS, st.lists(st.sampled_from(WORDS), min_size=1, max_size=5, unique=True).map(" ".join))
def test_bm25_from_terms_matches_bm25s_own_indexing(texts: list[str], query: str) -> None:
    """Our array-built score matrix against bm25s' per-chunk loop, stopword-only chunks included."""
    import bm25s

    reference = bm25s.BM25()
    reference.index([terms_of(t) or [""] for t in texts], show_progress=False)
    ours = build_bm25(texts)
    assert np.allclose(
        bm25_scores(ours, query, len(texts)), bm25_scores(reference, query, len(texts)), atol=1e-5
    )
    assert np.array_equal(
        document_frequency(ours, terms_of(query)), document_frequency(reference, terms_of(query))
    )


@settings(max_examples=100, deadline=None)
@given(TEXTS, TEXTS, st.randoms(use_true_random=False))
def test_terms_reused_from_a_previous_build_equal_terms_made_from_scratch(
    old: list[str], new: list[str], rnd
) -> None:
    """A rebuild copies the terms of texts it has seen and tokenizes the rest; the result (terms per
    chunk, vocabulary without unused terms, BM25 scores) is what a fresh build makes."""
    texts = new + rnd.sample(old, rnd.randint(0, len(old)))  # some texts of the previous build, some new
    rnd.shuffle(texts)
    previous = chunk_terms(old)
    rows = np.array([old.index(t) if t in old else -1 for t in texts], dtype=np.int64)
    incremental, scratch = chunk_terms(texts, previous, rows), chunk_terms(texts)

    def words(terms) -> list[list[str]]:
        names = {i: w for w, i in terms.vocabulary.items()}
        return [
            [names[int(i)] for i in terms.ids[terms.indptr[r] : terms.indptr[r + 1]]]
            for r in range(len(terms))
        ]

    assert words(incremental) == words(scratch) == [terms_of(t) or [""] for t in texts]
    assert set(incremental.vocabulary) == set(scratch.vocabulary)
    assert sorted(incremental.vocabulary.values()) == list(range(len(scratch.vocabulary)))
    for query in WORDS:
        assert np.allclose(bm25_scores(bm25_from_terms(incremental), query, len(texts)),
                           bm25_scores(bm25_from_terms(scratch), query, len(texts)), atol=1e-6)


def reference_match(question: str, chunk, title: str, pieces) -> float:
    """The late-interaction match of index/search/late_interaction.py's docstring, written out plainly: the
    model reads "title. text", every question token takes its most similar piece of that (the
    title's pieces too), and the chunk's match is the mean of those best cosines."""
    question_vectors = pieces.encode_question(question)
    read = pieces.encode_tokens([f"{title}. {chunk.text}"])[0]
    best = [max(float(q @ vector) for vector in read.vectors) for q in question_vectors]
    return sum(best) / len(best)


def test_late_interaction_match_equals_a_plain_reference_implementation(
    tmp_path: Path, fast_models: Models
) -> None:
    corpus = make_corpus(tmp_path / "corpus")
    store = IndexStore(tmp_path / "index")
    # pieces from the model at question time (float16)
    build_index(corpus, store, fast_models, piece_limit=0)
    index = store.load(fast_models)
    searcher = searcher_for(index, fast_models)
    for question in ("Why are Facebook and Twitter banned in Iran?",
                     "How did the Telegram founder respond online to Tehran's accusations?"):
        ranked = searcher.rank(question)
        assert len(ranked) >= 10
        titles = {d.doc_id: d.title for d in index.documents}
        for r in ranked:
            chunk = index.chunks[r.chunk]
            expected = reference_match(question, chunk, titles[chunk.doc_id], fast_models.pieces)
            # The INT8 model scales activations per batch: a chunk read in another batch moves by ~3e-3.
            assert abs(r.match - expected) < 6e-3, (question, r.chunk, r.match, expected)
