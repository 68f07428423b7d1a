"""Stage 5 of a search: which ranked chunks become passages, and the highlight of each.

At most one passage per paragraph, none overlapping another, and (when ``per_document`` is set; off
by default) no more than that many passages from one document while another document's passage also
answers (scores at or above abstention's threshold). The highlight is the sentence that answers best,
joined with a neighbour that answers almost as well.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from index.types import Chunk, Document, Passage, Scored


def select(ranked: Sequence[Scored], chunks: Sequence[Chunk], top_k: int, answers: float,
           per_document: int = 0) -> list[Scored]:
    """The best ``top_k`` of ``ranked`` (best first) under the rules above; ``answers`` is the score
    from which a passage counts as answering."""
    chosen: list[Scored] = []
    # second pass: fill up when no other document answers; 0: no limit per document
    for limit in (per_document, top_k) if per_document else (top_k,):
        for r in ranked:
            if len(chosen) == top_k:
                return chosen
            chunk = chunks[r.chunk]
            if any(c is r for c in chosen) or _clashes(chunk, [chunks[c.chunk] for c in chosen]):
                continue
            same = sum(chunks[c.chunk].doc_id == chunk.doc_id for c in chosen)
            if same >= limit and _another_answers(ranked, chunks, chunk.doc_id, answers, chosen):
                continue
            chosen.append(r)
    return chosen


def _clashes(chunk: Chunk, taken: list[Chunk]) -> bool:
    return any(
        t.doc_id == chunk.doc_id
        and (t.paragraph == chunk.paragraph or (t.start < chunk.end and chunk.start < t.end))
        for t in taken
    )


def _another_answers(ranked: Sequence[Scored], chunks: Sequence[Chunk], doc_id: str, answers: float,
                     chosen: list[Scored]) -> bool:
    return any(r.score >= answers and chunks[r.chunk].doc_id != doc_id and all(c is not r for c in chosen)
               and not _clashes(chunks[r.chunk], [chunks[c.chunk] for c in chosen]) for r in ranked)


def highlight(sentences: np.ndarray, scores: Sequence[float], join_margin: float) -> tuple[int, int]:
    """Absolute (start, end) of the best sentence, joined with a neighbour scoring within ``join_margin``."""
    if len(sentences) == 1:
        return int(sentences[0][0]), int(sentences[0][1])
    best = int(np.argmax(scores))
    start, end = int(sentences[best][0]), int(sentences[best][1])
    if best + 1 < len(sentences) and scores[best + 1] >= scores[best] - join_margin:
        end = int(sentences[best + 1][1])
    elif best > 0 and scores[best - 1] >= scores[best] - join_margin:
        start = int(sentences[best - 1][0])
    return start, end


def make_passage(scored: Scored, chunk: Chunk, document: Document, span: tuple[int, int]) -> Passage:
    return Passage(
        doc_id=document.doc_id, title=document.title, date=document.date, source=document.source,
        url=document.url, paragraph=chunk.paragraph, page=chunk.page, text=chunk.text,
        start=chunk.start, end=chunk.end, highlight_start=span[0] - chunk.start,
        highlight_end=span[1] - chunk.start, score=scored.score, ocr=document.ocr,
        language=document.language or "en",
    )


SentenceScorer = Callable[[int, np.ndarray], Sequence[float]]  # (chunk, its sentence spans) -> scores
