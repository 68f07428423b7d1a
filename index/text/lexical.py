"""The word side of retrieval: a BM25 index (bm25s, sparse matrices) over chunk texts."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import BinaryIO

import numpy as np
from bm25s.stopwords import STOPWORDS_EN_PLUS, STOPWORDS_RUSSIAN

from index.text.calendars import ascii_digits

# A word, with inner apostrophes and Persian's zero-width non-joiner (ZWNJ: «هات‌گرام» is one word).
WORD = re.compile(r"[^\W_]+(?:['’\u200c][^\W_]+)*", re.UNICODE)
# bm25s's English and Russian stop word lists, and verbs of reporting, which questions use
# ("what did the court say") and news text repeats without their carrying the answer.
REPORTING = frozenset("said say says tell told according could would".split())
STOPWORDS = frozenset(STOPWORDS_EN_PLUS) | frozenset(STOPWORDS_RUSSIAN) | REPORTING
_CYRILLIC = re.compile(r"[\u0400-\u04FF]")
_LATIN = re.compile(r"[a-z]")


@cache
def _stemmers():  # -> (english, russian): PyStemmer's Snowball stemmers
    import Stemmer

    return Stemmer.Stemmer("english"), Stemmer.Stemmer("russian")


def _term(word: str) -> str:
    """A lower-cased word's term: "" for a stop word, else its Snowball stem by the word's own script
    (an English text quotes Russian names, a Russian one English ones). Persian words are kept whole:
    Snowball's Persian stemmer cuts names («تلگرام» to «تلگر») and leaves plurals («کاربران») whole
    (tests/index/test_language.py)."""
    # One spelling for what people type several ways: ’ and ', ё and е, Persian words with or without
    # ZWNJ, the Arabic forms of Persian ye and kaf (an Arabic keyboard's), and digits.
    word = word.replace("’", "'").replace("ё", "е").replace("\u200c", "").replace("ي", "ی").replace("ك", "ک")
    word = ascii_digits(word)  # «۳۰» and «٣٠» are 30 (index.text.calendars)
    if word in STOPWORDS:
        return ""
    english, russian = _stemmers()
    if _CYRILLIC.match(word):
        return russian.stemWord(word)
    if _LATIN.match(word):
        return english.stemWord(word)
    return word


class Terms:
    """Word -> term, remembered: a corpus has few distinct words and each is stemmed once."""

    def __init__(self, limit: int = 2_000_000) -> None:
        self._known: dict[str, str] = {}
        self._limit = limit

    def __call__(self, text: str) -> list[str]:
        known = self._known
        if len(known) > self._limit:
            known.clear()
        out = []
        for word in WORD.findall(text.lower()):
            term = known.get(word)
            if term is None:
                term = known[word] = _term(word)
            if term:
                out.append(term)
        return out


def terms_of(text: str, terms: Terms | None = None) -> list[str]:
    """Lower-cased, stemmed words without stop words."""
    return (terms or Terms())(text)


# Bump when ``terms_of`` changes: the terms stored by older builds are then computed again.
TERMS_VERSION = 3
K1, B = 1.5, 0.75  # bm25s' defaults (Lucene variant)


@dataclass(frozen=True)
class ChunkTerms:
    """Every chunk's terms as ids into ``vocabulary`` (CSR): chunk i has ``ids[indptr[i]:indptr[i + 1]]``.

    A build stores them beside the BM25 index, so the next build computes terms only for new chunks and
    makes the score matrix from ids with a few array operations (bench/build.py: adding one
    document to 20,000 chunks)."""

    vocabulary: dict[str, int]
    indptr: np.ndarray  # (n + 1,) int64
    ids: np.ndarray  # int32

    def __len__(self) -> int:
        return len(self.indptr) - 1


def chunk_terms(texts: Sequence[str], previous: ChunkTerms | None = None,
                previous_rows: np.ndarray | None = None) -> ChunkTerms:
    """The terms of ``texts``; row i is copied from ``previous`` row ``previous_rows[i]`` (the same
    text) unless that is -1, tokenized otherwise. Terms no chunk uses any more leave the vocabulary."""
    vocabulary = dict(previous.vocabulary) if previous is not None else {}
    old = np.full(len(texts), -1, dtype=np.int64)
    if previous is not None and previous_rows is not None:
        old[:] = previous_rows
    lengths = np.zeros(len(texts), dtype=np.int64)
    copied = old >= 0
    if copied.any():
        lengths[copied] = previous.indptr[old[copied] + 1] - previous.indptr[old[copied]]  # type: ignore[union-attr]
    fresh: dict[int, list[int]] = {}
    words = Terms()
    for row in np.flatnonzero(~copied).tolist():
        terms = terms_of(texts[row], words) or [""]  # bm25s' empty token: every chunk has a length
        fresh[row] = [vocabulary.setdefault(term, len(vocabulary)) for term in terms]
        lengths[row] = len(fresh[row])
    indptr = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    ids = np.empty(int(indptr[-1]), dtype=np.int32)
    if copied.any():
        ids[_ranges(indptr[:-1][copied], lengths[copied])] = previous.ids[  # type: ignore[union-attr]
            _ranges(previous.indptr[old[copied]], lengths[copied])]  # type: ignore[union-attr]
    for row, row_ids in fresh.items():
        ids[indptr[row] : indptr[row + 1]] = row_ids
    return _compacted(ChunkTerms(vocabulary, indptr, ids))


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """starts[0] .. starts[0] + lengths[0] - 1, starts[1] .., concatenated."""
    total = int(lengths.sum())
    ends = np.cumsum(lengths)
    return np.repeat(starts - (ends - lengths), lengths) + np.arange(total, dtype=np.int64)


def _compacted(terms: ChunkTerms) -> ChunkTerms:
    used = np.bincount(terms.ids, minlength=len(terms.vocabulary)) > 0
    if used.all():
        return terms
    new_id = np.cumsum(used) - 1
    vocabulary = {term: int(new_id[i]) for term, i in terms.vocabulary.items() if used[i]}
    return ChunkTerms(vocabulary, terms.indptr, new_id[terms.ids].astype(np.int32))


def bm25_from_terms(terms: ChunkTerms):  # -> bm25s.BM25
    """The bm25s index of ``terms``: the same score matrix ``bm25s.BM25().index`` makes
    (tests/index/test_oracles.py), from array operations: 0.20 s at 20,000 chunks against 0.84 s
    (bench/bm25_index.py)."""
    import bm25s

    n, size = len(terms), len(terms.vocabulary)
    lengths = np.diff(terms.indptr)
    chunk = np.repeat(np.arange(n, dtype=np.int64), lengths)
    pairs, tf = np.unique(terms.ids.astype(np.int64) * n + chunk, return_counts=True)  # by term, then chunk
    term, chunk = pairs // n, pairs % n
    df = np.bincount(term, minlength=size)
    idf = np.log1p((n - df + 0.5) / (df + 0.5))
    norm = K1 * (1 - B + B * lengths / lengths.mean())
    model = bm25s.BM25(k1=K1, b=B, method="lucene")
    model.scores = {
        "data": (idf[term] * tf / (tf + norm[chunk])).astype(model.dtype),
        "indices": chunk.astype(model.int_dtype),
        "indptr": np.concatenate([[0], np.cumsum(df)]).astype(model.int_dtype),
        "num_docs": n,
    }
    model.vocab_dict = dict(terms.vocabulary)
    model.unique_token_ids_set = set(model.vocab_dict.values())
    model.nonoccurrence_array = None
    return model


def build_bm25(texts: Sequence[str]):  # -> bm25s.BM25
    return bm25_from_terms(chunk_terms(texts))


def save_terms(fh: BinaryIO, terms: ChunkTerms) -> None:
    """``terms`` without the vocabulary (the BM25 index saved beside holds the same one)."""
    np.savez(fh, version=np.int64(TERMS_VERSION), indptr=terms.indptr, ids=terms.ids)


def load_terms(path: Path, vocabulary: dict[str, int], chunks: int) -> ChunkTerms | None:
    """The terms a build stored, or None (an older build, another tokenizer, a damaged file)."""
    try:
        with np.load(path) as data:
            if int(data["version"]) != TERMS_VERSION:
                return None
            terms = ChunkTerms(vocabulary, data["indptr"].astype(np.int64), data["ids"].astype(np.int32))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):  # damaged: compute the terms again
        return None
    if (
        len(terms) != chunks
        or terms.indptr[-1] != len(terms.ids)
        or (len(terms.ids) and int(terms.ids.max()) >= len(vocabulary))
    ):
        return None
    return terms


def bm25_scores(model, query: str, n_docs: int) -> np.ndarray:  # model: bm25s.BM25
    """BM25 score of every chunk for ``query`` (zeros when no query word is known)."""
    if model is None or n_docs == 0:
        return np.zeros(n_docs, dtype=np.float32)
    known = [t for t in terms_of(query) if t in model.vocab_dict]
    if not known:
        return np.zeros(n_docs, dtype=np.float32)
    return np.asarray(model.get_scores(known), dtype=np.float32)


def document_frequency(model, terms: Sequence[str]) -> np.ndarray:  # model: bm25s.BM25
    """How many chunks hold each term (0 for a term the corpus lacks)."""
    indptr = model.scores["indptr"]  # column pointers of the term x document score matrix
    ids = [model.vocab_dict.get(t) for t in terms]
    return np.array([indptr[i + 1] - indptr[i] if i is not None and i + 1 < len(indptr) else 0 for i in ids],
                    dtype=np.float64)
