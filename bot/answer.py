"""The answer model every renderer consumes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.links import quote_link
from index.text.language import name as language_name
from index.types import Passage, Retrieval


@dataclass(frozen=True)
class Answer:
    """What the bot says about one question: ranked verbatim passages, or a plain decline."""

    question: str
    answered: bool
    passages: tuple[Passage, ...] = ()
    # When declined: short descriptions of what the corpus does cover (document titles).
    suggestions: tuple[str, ...] = field(default=())
    # When declined because the question names things no document mentions: those names, as asked.
    unknown_names: tuple[str, ...] = field(default=())
    language: str = "en"  # the question's language (index.text.language)
    # When declined because casebot does not read the question's language: that language's name.
    unserved_language: str = ""
    # When declined because no passage holds the kind of answer asked: "date", "amount" or "name".
    missing: str = ""
    # A follow-up read together with the previous question of its conversation (bot.followup): what
    # was searched. Empty for a question read alone.
    read_as: str = ""

    @classmethod
    def from_retrieval(cls, found: Retrieval) -> "Answer":
        return cls(found.question, found.answered, found.passages, found.nearest, found.unknown,
                   found.language, language_name(found.language) if found.unserved else "", found.missing)

    @property
    def reason(self) -> str | None:
        """Why the question was declined, as a word for programs (None when answered): ``language``,
        ``unknown_names``, ``no_date`` / ``no_amount`` / ``no_name``, or ``no_passage`` (none answers)."""
        if self.answered:
            return None
        if self.unserved_language:
            return "language"
        if self.unknown_names:
            return "unknown_names"
        return f"no_{self.missing}" if self.missing else "no_passage"

    def unknown_names_phrase(self, limit: int = 3, max_chars: int = 60) -> str:
        """The unknown names as plain text for a sentence: “Signal”, or “Signal” and “Mark Zuckerberg”;
        at most ``limit`` names of at most ``max_chars`` characters each. Renderers escape it."""
        names = [n if len(n) <= max_chars else n[: max_chars - 1] + "…" for n in self.unknown_names[:limit]]
        quoted = [f"“{n}”" for n in names]
        if len(self.unknown_names) > limit:
            quoted.append(f"{len(self.unknown_names) - limit} more")
        return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]

    def to_json(self) -> dict[str, Any]:
        """The ``ask --json`` contract."""
        return {
            "question": self.question,
            "answered": self.answered,
            "language": self.language,
            "reason": self.reason,
            "unknown_names": list(self.unknown_names),
            "nearest": list(self.suggestions),
            **({"read_as": self.read_as} if self.read_as else {}),
            "passages": [
                {
                    "doc_id": p.doc_id,
                    "title": p.title,
                    "date": p.date,
                    "source": p.source,
                    "paragraph": p.paragraph,
                    "page": p.page,
                    "ocr": p.ocr,
                    "url": p.url,
                    "link": quote_link(p),  # the quoted place itself (bot.links)
                    "language": p.language,
                    "text": p.text,
                    "highlight": p.highlight,
                    "start": p.start,
                    "end": p.end,
                    "score": round(p.score, 6),
                }
                for p in self.passages
            ],
        }
