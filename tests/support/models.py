"""Tiny deterministic stand-ins for the models, for tests of logic that does not depend on the
models' judgement (builds, storage, the command line, locking, healing ...). They load in
microseconds and need no weights; tests of what the real models find stay with those (marked slow).

Modelled on simonw/llm's demo embedder: a word's vector is a fixed pseudo-random unit vector seeded by
a hash of the word, so equal words match exactly (cosine 1) and different words hardly at all.

* ``HashedWords``: a text's vector is the normalised sum of its words' vectors (a hashed bag of words);
* ``HashedPieces``: every word is one "word piece" (ColBERT's role), with its character span;
* ``WordOverlap``: the cross-encoder's role, a logit from the share of the question's content words
  that the passage contains (-10 for none, +10 for all; the calibrated threshold is -9.5);
* ``fast_models()``: the two together as ``Models`` (index.models.models), as the real default has them.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from index.models.encoded import ProgressCallback, TokenVectors
from index.models.models import Models

DIMENSION = 64
WORD = re.compile(r"\w+")
STOPWORDS = frozenset(
    "a an and are as at be by did do does for from has have how in is it its of on or "
    "that the this to was were what when where which who why will with i you we he she they my your "
    "much many".split()
)


@lru_cache(maxsize=100_000)
def word_vector(word: str) -> np.ndarray:
    vector = np.random.default_rng(zlib.crc32(word.lower().encode())).standard_normal(DIMENSION)
    vector = (vector / np.linalg.norm(vector)).astype(np.float32)
    vector.flags.writeable = False
    return vector


def _unit_rows(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (rows / norms).astype(np.float32)


class HashedWords:
    """A hashed bag of words: the ``Embedder`` protocol in microseconds."""

    name = f"hashed-words-{DIMENSION} (tests/support/models.py)"
    dimension = DIMENSION

    def encode_passages(self, texts: Sequence[str], progress: ProgressCallback | None = None) -> np.ndarray:
        rows = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in WORD.findall(str(text)):
                rows[i] += word_vector(word)
        if progress is not None and len(texts):
            progress(len(texts))
        return _unit_rows(rows)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.encode_passages(texts)


class HashedPieces:
    """Every word a piece (index.models.encoded.PieceModel)."""

    name = f"hashed-pieces-{DIMENSION} (tests/support/models.py)"
    dimension = DIMENSION

    def encode_tokens(
        self, texts: Sequence[str], progress: ProgressCallback | None = None
    ) -> list[TokenVectors]:
        result = []
        for text in texts:
            words = list(WORD.finditer(str(text)))
            vectors = np.array([word_vector(m.group()) for m in words], dtype=np.float32).reshape(
                -1, DIMENSION
            )
            spans = np.array([m.span() for m in words], dtype=np.int64).reshape(-1, 2)
            result.append(TokenVectors(vectors, spans))
        if progress is not None and len(texts):
            progress(len(texts))
        return result

    def encode_question(self, question: str) -> np.ndarray:
        """The question's content words (ColBERT learns to weigh words; this one drops the stopwords)."""
        words = WORD.findall(question)
        words = [w for w in words if w.lower() not in STOPWORDS] or words or ["?"]
        return np.array([word_vector(w) for w in words], dtype=np.float32)


class WordOverlap:
    """The cross-encoder's stand-in (``PairScorer``): 20 x the share of the question's content words
    found in the passage, minus 10."""

    name = "word-overlap (tests/support/models.py)"

    def scores(self, question: str, passages: Sequence[str]) -> np.ndarray:
        asked = {w.lower() for w in WORD.findall(question) if w.lower() not in STOPWORDS}
        logits = []
        for passage in passages:
            present = {w.lower() for w in WORD.findall(passage)}
            logits.append(20.0 * len(asked & present) / len(asked) - 10.0 if asked else -10.0)
        return np.array(logits, dtype=np.float32)


def fast_models() -> Models:
    """Vectors and pieces, as the real default (index.models.models.load_models) has them."""
    return Models.of(HashedWords(), HashedPieces())
