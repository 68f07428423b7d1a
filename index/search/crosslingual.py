"""Passages in another language than the question: found and scored by the multilingual model.

The late-interaction model and the cross-encoder read English only; a pair where the question or
the passage is in another language is scored by multilingual-e5-small's cosine instead, mapped onto
the cross-encoder's logit scale so that one ranking and one abstention threshold serve every pair:
``SCALE * (cosine - CENTER) + THRESHOLD``. A question and a passage in one language score higher
with this model than a pair across languages, so each kind of pair has its own CENTER.

The model prefers its question's language: an English question's best English passages score
higher than the Russian passage that answers it. So candidates are fetched per language, and which
language answers is decided apart (index.search.answer_language). bench/calibrate_languages.py sweeps the
numbers; docs/evaluation.md ("Languages") has the table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from index.models.encoded import Embedder
from index.store.base import MULTILINGUAL, SearchIndex
from index.types import Document

CENTER = {"across": 0.78, "within": 0.81}  # a pair across languages / within one
SCALE = 20.0
PER_LANGUAGE = 10  # candidates fetched from each language's chunks


def english_pair(question_language: str, document: Document) -> bool:
    """Whether the English-only models can read this (question, passage) pair."""
    return question_language == "en" and (document.language or "en") == "en"


@dataclass(frozen=True)
class LanguageMatches:
    """A language's nearest chunks to the question: ids and cosines, best first."""

    chunks: np.ndarray
    cosines: np.ndarray

    @property
    def standout(self) -> float:
        """How far the best cosine rises above the mean of the fetched ones."""
        return float(self.cosines[0] - self.cosines.mean()) if len(self.cosines) else float("-inf")


class ChunkLanguages:
    """Which chunks are in which language, and each language's nearest chunks in a vector space."""

    def __init__(self, index: SearchIndex, documents: dict[str, Document]) -> None:
        per_document = {d: (doc.language or "en") for d, doc in documents.items()}
        of_chunk = (
            np.array([per_document[c.doc_id] for c in index.chunks]) if len(index.chunks) else np.array([])
        )
        self._index = index
        self._of_chunk = of_chunk
        self.languages = tuple(sorted(set(of_chunk.tolist())))

    def of(self, chunk: int) -> str:
        """The language of a chunk's document."""
        return str(self._of_chunk[chunk])

    def nearest(self, space: str, vector: np.ndarray,
                depth: int = PER_LANGUAGE) -> dict[str, LanguageMatches]:
        """Each language's ``depth`` chunks nearest the question's ``vector`` in ``space`` (a multilingual
        model's, one vector per chunk; none when the index has no such vectors)."""
        if not self._index.has(space):
            return {}
        found = {}
        several = len(self.languages) > 1
        for language in self.languages:
            scores, rows = self._index.dense_candidates(space, vector, depth, language if several else None)
            found[language] = LanguageMatches(rows.astype(np.int64), scores.astype(np.float32))
        return found


def cosines(index: SearchIndex, chunks: Sequence[int], vector: np.ndarray) -> np.ndarray:
    """The multilingual cosine of the question with each of ``chunks``."""
    if not index.has(MULTILINGUAL):
        return np.full(len(chunks), -1.0, dtype=np.float32)
    return index.cosines(MULTILINGUAL, list(chunks), vector)


def as_logit(cosine: np.ndarray | float, threshold: float, within: np.ndarray | bool = False,
             scale: float = SCALE) -> np.ndarray:
    """A multilingual cosine on the cross-encoder's logit scale (see the module's docstring), or with
    ``scale`` 1 on late interaction's, whose matches spread like cosines; ``within``: the pair is in
    one language."""
    center = np.where(within, CENTER["within"], CENTER["across"])
    return scale * (np.asarray(cosine, dtype=np.float32) - center) + threshold


def sentence_scores(model: Embedder, vector: np.ndarray, sentences: Sequence[str]) -> np.ndarray:
    """Each sentence's multilingual cosine with the question: what picks the highlight of a passage
    in another language (a model pass per sentence of the few passages shown)."""
    return model.encode_passages(list(sentences)) @ vector
