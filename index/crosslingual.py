"""Passages in another language than the question: found and scored by the multilingual model.

The late-interaction model and the cross-encoder read English only; a pair where the question or
the passage is in another language is scored by multilingual-e5-small's cosine instead, mapped onto
the cross-encoder's logit scale so that one ranking and one abstention threshold serve every pair:
``SCALE * (cosine - CENTER) + THRESHOLD``. A question and a passage in one language score higher
with this model than a pair across languages, so each kind of pair has its own CENTER.

The model prefers its question's language: an English question's best English passages score
higher than the Russian passage that answers it. So candidates are fetched per language, and an
answer adds the best passage of a language its passages lack when that passage stands out among
its language's as clearly as the best shown passage does among its own (its cosine above the mean
of its language's best ``PER_LANGUAGE``). bench/calibrate_languages.py sweeps the numbers;
docs/evaluation.md ("Languages") has the table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from index.embed import Embedder
from index.store import LoadedIndex
from index.tables import read_rows
from index.types import Document
from index.vectors import search_vectors

CENTER = {"across": 0.78, "within": 0.81}  # a pair across languages / within one
SCALE = 20.0
PER_LANGUAGE = 10  # candidates fetched from each language's chunks
# A passage of another language that stands out by this much more than the first shown passage goes
# before the last one shown instead of after all: on the tuning questions 0.015 brings 7 of 20 Russian
# answers of English questions into the top 3 and moves 1 of 131 English answers from 3rd to 4th
# (docs/evaluation.md, "Languages").
AHEAD = 0.015


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
    """Which chunks are in which language, and a FAISS selector for each language."""

    def __init__(self, index: LoadedIndex, documents: dict[str, Document]) -> None:
        import faiss

        per_document = {d: (doc.language or "en") for d, doc in documents.items()}
        of_chunk = (
            np.array([per_document[c.doc_id] for c in index.chunks]) if len(index.chunks) else np.array([])
        )
        self.languages = tuple(sorted(set(of_chunk.tolist())))
        self._ids = {lang: np.flatnonzero(of_chunk == lang).astype(np.int64) for lang in self.languages}
        self._selectors = (
            {lang: faiss.IDSelectorBatch(ids) for lang, ids in self._ids.items()}
            if len(self.languages) > 1
            else {}
        )

    def nearest(
        self, index: LoadedIndex, vector: np.ndarray, depth: int = PER_LANGUAGE
    ) -> dict[str, LanguageMatches]:
        """Each language's ``depth`` chunks nearest the question's multilingual vector."""
        if index.multilingual_index is None:
            return {}
        found = {}
        for language in self.languages:
            scores, rows = search_vectors(
                index.multilingual_index, vector, depth, self._selectors.get(language)
            )
            found[language] = LanguageMatches(rows.astype(np.int64), scores.astype(np.float32))
        return found


def cosines(index: LoadedIndex, chunks: Sequence[int], vector: np.ndarray) -> np.ndarray:
    """The multilingual cosine of the question with each of ``chunks``."""
    if index.multilingual is None:
        return np.full(len(chunks), -1.0, dtype=np.float32)
    return np.array(
        [float(read_rows(index.multilingual, c, c + 1)[0].astype(np.float32) @ vector) for c in chunks],
        dtype=np.float32,
    )


def as_logit(cosine: np.ndarray | float, threshold: float, within: np.ndarray | bool = False,
             scale: float = SCALE) -> np.ndarray:
    """A multilingual cosine on the cross-encoder's logit scale (see the module's docstring), or with
    ``scale`` 1 on late interaction's, whose matches spread like cosines; ``within``: the pair is in
    one language."""
    center = np.where(within, CENTER["within"], CENTER["across"])
    return scale * (np.asarray(cosine, dtype=np.float32) - center) + threshold


def standing_out(nearest: dict[str, LanguageMatches], shown: Sequence[str], threshold: float,
                 question_language: str) -> list[tuple[int, bool]]:
    """The best chunk of each language ``shown`` lacks, when it stands out among its language's as
    clearly as the best of the first shown language does among its own, and answers (its logit
    clears ``threshold``); with whether it stands out by ``AHEAD`` more, and so goes before the
    last passage shown instead of after all."""
    if not shown or shown[0] not in nearest:
        return []
    bar = nearest[shown[0]].standout
    added = []
    for language, matches in nearest.items():
        if language in shown or not len(matches.chunks):
            continue
        logit = float(as_logit(matches.cosines[0], threshold, language == question_language))
        if matches.standout >= bar and logit >= threshold:
            added.append((int(matches.chunks[0]), matches.standout >= bar + AHEAD))
    return added


def sentence_scores(model: Embedder, vector: np.ndarray, sentences: Sequence[str]) -> np.ndarray:
    """Each sentence's multilingual cosine with the question: what picks the highlight of a passage
    in another language (a model pass per sentence of the few passages shown)."""
    return model.encode_passages(list(sentences)) @ vector
