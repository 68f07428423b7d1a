"""The answer model every renderer consumes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from index.types import Passage


@dataclass(frozen=True)
class Answer:
    """What the bot says about one question: ranked verbatim passages, or a plain decline."""

    question: str
    answered: bool
    passages: tuple[Passage, ...] = ()
    # When declined: short descriptions of what the corpus does cover (document titles).
    suggestions: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        """The ``ask --json`` contract."""
        return {
            "question": self.question,
            "answered": self.answered,
            "passages": [
                {
                    "doc_id": p.doc_id,
                    "title": p.title,
                    "date": p.date,
                    "source": p.source,
                    "paragraph": p.paragraph,
                    "page": p.page,
                    "text": p.text,
                    "highlight": p.highlight,
                    "start": p.start,
                    "end": p.end,
                    "score": round(p.score, 6),
                }
                for p in self.passages
            ],
        }
