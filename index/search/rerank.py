"""Stage 3 of a search: the cross-encoder reads the best candidates with the question, and dates.

The cross-encoder (ms-marco-MiniLM-L-12-v2) judges each (question, passage) pair as a whole: what
orders the top of the list, and what abstention looks at (index.search.abstention). It reads the passage
with its document's title and date in front, so "the 2018 ruling" can meet a document of 2018.

A question that names a year prefers the candidates of that time: a chunk that mentions the year (or
a Persian-calendar date in it), or whose document is dated in it, gets ``year_bonus`` added to its
logit.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from index.models.encoded import PairScorer
from index.text.calendars import ascii_digits, gregorian_years
from index.types import Chunk, Document

YEAR = re.compile(r"(?<!\d)(19[5-9]\d|20\d\d)(?!\d)")



def years(text: str) -> set[str]:
    """The four-digit years a text names, in any digits, and the Gregorian years of its Persian-calendar
    dates (index.text.calendars: "in July 2018" meets «۲۳ تیر ۱۳۹۷»)."""
    return set(YEAR.findall(ascii_digits(text))) | gregorian_years(text)


def in_context(chunk: Chunk, document: Document) -> str:
    """The passage as the cross-encoder reads it: its document's title and date, then its text."""
    date = f" ({document.date})" if document.date else ""
    return f"{document.title}{date}. {chunk.text}"


def of_the_time(asked: set[str], chunk: Chunk, document: Document) -> bool:
    """Whether the chunk belongs to a year the question names (in its text or its document's date)."""
    return bool(asked) and (bool(asked & years(chunk.text)) or (document.date or "")[:4] in asked)


def with_year_bonus(logits: np.ndarray, question: str, chunks: Sequence[Chunk], documents: Sequence[Document],
                    year_bonus: float) -> np.ndarray:
    """``logits`` plus ``year_bonus`` for each chunk of a year the question names (what ranks)."""
    asked = years(question)
    if not (asked and year_bonus):
        return logits
    return logits + year_bonus * np.array([of_the_time(asked, c, d) for c, d in zip(chunks, documents)])


def rerank(scorer: PairScorer, question: str, chunks: Sequence[Chunk], documents: Sequence[Document],
           year_bonus: float) -> tuple[np.ndarray, np.ndarray]:
    """Per chunk: the cross-encoder's logit (what abstention judges), and that logit with the year
    bonus (what ranks)."""
    logits = scorer.scores(question, [in_context(c, d) for c, d in zip(chunks, documents)])
    return logits, with_year_bonus(logits, question, chunks, documents, year_bonus)
