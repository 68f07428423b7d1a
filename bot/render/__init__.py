"""Pure renderers: Answer -> what one platform can show."""

from __future__ import annotations

from index.text.language import is_rtl

# Unicode's isolates: RLI ... PDI lays a right-to-left quote out as one right-to-left run inside
# left-to-right text (the quote marks, numbers and the attribution around it stay in place). They are
# invisible, and the quote between them is still the document's exact text.
RLI, PDI = "\u2067", "\u2069"


def isolated(text: str, language: str) -> str:
    """``text`` wrapped in right-to-left isolates when its language is written right to left."""
    return f"{RLI}{text}{PDI}" if text and is_rtl(language) else text
