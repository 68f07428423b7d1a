"""``!sources`` / ``/sources``: the documents the bot answers from, a page at a time.

A page holds ``PER_PAGE`` documents at most, so that a corpus of any size (a Telegram export is one
document per post) is listed in pages a person can read; each renderer still fits its page into its
platform's limits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.service import SourceInfo

PER_PAGE = 20


@dataclass(frozen=True)
class SourcesPage:
    items: tuple[SourceInfo, ...]
    page: int  # from 1
    pages: int
    total: int

    @property
    def first(self) -> int:
        """The number of the page's first document in the whole list (from 1)."""
        return (self.page - 1) * PER_PAGE + 1


def page_of(sources: Sequence[SourceInfo], page: int = 1, per_page: int = PER_PAGE) -> SourcesPage:
    """Page ``page`` of ``sources`` (clamped to the pages there are)."""
    pages = max(1, -(-len(sources) // per_page))
    page = min(max(1, page), pages)
    start = (page - 1) * per_page
    return SourcesPage(tuple(sources[start:start + per_page]), page, pages, len(sources))


def page_number(argument: str) -> int:
    """``!sources 2`` → 2; anything else → 1."""
    text = argument.strip()
    return int(text) if text.isdigit() and len(text) < 6 else 1


def file_name(doc_id: str) -> str:
    """The corpus file a document comes from (a Telegram post's doc_id is ``file#id``), as ``!remove``
    takes it."""
    return doc_id.split("#", 1)[0]
