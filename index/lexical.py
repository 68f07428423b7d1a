"""The word side of retrieval: a BM25 index (bm25s, sparse matrices) over chunk texts."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)
STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have
    having he her here hers herself him himself his how i if in into is it its itself just me more most my
    myself no nor not now of off on once only or other our ours ourselves out over own same she should so
    some such than that the their theirs them themselves then there these they this those through to too
    under until up very was we were what when where which while who whom why will with would you your
    yours yourself yourselves said say says tell told according""".split()
)


def _stem(word: str) -> str:
    for suffix in ("’s", "'s"):
        if word.endswith(suffix):
            word = word[: -len(suffix)]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


_TERMS: dict[str, str] = {}  # word as written -> its term ("" for a stopword); a corpus has few distinct words
_TERMS_MAX = 2_000_000


def _term(word: str) -> str:
    lowered = word.lower()
    return "" if lowered in STOPWORDS else _stem(lowered)


def tokenize(text: str) -> list[str]:
    """Lower-cased, lightly stemmed words without stopwords."""
    terms = _TERMS
    if len(terms) > _TERMS_MAX:
        terms.clear()
    out = []
    for word in _WORD.findall(text):
        term = terms.get(word)
        if term is None:
            term = terms[word] = _term(word)
        if term:
            out.append(term)
    return out


def build_bm25(texts: Sequence[str]):  # -> bm25s.BM25
    import bm25s

    tokens = [tokenize(t) or [""] for t in texts]
    model = bm25s.BM25()
    model.index(tokens, show_progress=False)
    return model


def bm25_scores(model, query: str, n_docs: int) -> np.ndarray:  # model: bm25s.BM25
    """BM25 score of every chunk for ``query`` (zeros when no query word is known)."""
    if model is None or n_docs == 0:
        return np.zeros(n_docs, dtype=np.float32)
    known = [t for t in tokenize(query) if t in model.vocab_dict]
    if not known:
        return np.zeros(n_docs, dtype=np.float32)
    return np.asarray(model.get_scores(known), dtype=np.float32)


def content_words(text: str) -> list[tuple[int, int, str]]:
    """(start, end, term) of each word of ``text`` that ``tokenize`` keeps, in order."""
    words = []
    for match in _WORD.finditer(text):
        word = match.group(0).lower()
        if word not in STOPWORDS:
            words.append((match.start(), match.end(), _stem(word)))
    return words


def idf(model, terms: Sequence[str]) -> np.ndarray:  # model: bm25s.BM25 | None
    """BM25 idf of each term, log(1 + (N - df + 0.5) / (df + 0.5)); a term the corpus lacks gets the
    highest value. All ones when there is no word index."""
    if model is None:
        return np.ones(len(terms), dtype=np.float32)
    indptr = model.scores["indptr"]  # column pointers of the term x document score matrix
    n_docs = float(model.scores["num_docs"])
    ids = [model.vocab_dict.get(t) for t in terms]
    df = np.array([indptr[i + 1] - indptr[i] if i is not None and i + 1 < len(indptr) else 0 for i in ids],
                  dtype=np.float64)
    return np.log1p((n_docs - df + 0.5) / (df + 0.5)).astype(np.float32)
