"""Names are data, never markup: a file name, title or other document text shown in a warning, a log
line or an attribution has its control and bidi-control characters escaped, so that a name cannot
break a line, rewrite a terminal or lay itself out backwards (``evil\\u202egnp.exe``)."""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, the line and paragraph separators, and the bidi embeddings, overrides,
# isolates and marks: each can make a shown name look like another one.
_HIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(match: re.Match[str]) -> str:
    ch = match.group()
    return _NAMED.get(ch) or (f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")


def shown(text: str) -> str:
    """``text`` with every control and bidi-control character written as its escape (``\\n``,
    ``\\x1b``, ``\\u202e``); any other text, right-to-left letters included, is kept as it is."""
    return _HIDDEN.sub(_escaped, text)
