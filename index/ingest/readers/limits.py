"""How much of one corpus file a build reads: each reader stops at its limit with one warning
naming the file and the limit, so no file can make a build take unbounded memory or time.

Every limit is a setting (bot.settings, documented in .env.example); the defaults read every
document of the case many times over.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from index.errors import UnreadableDocument


@dataclass(frozen=True)
class IngestLimits:
    file_mib: int = 50  # MAX_FILE_MIB: bytes of one file (larger ones are skipped)
    unzipped_mib: int = 100  # MAX_UNZIPPED_MIB: a .docx's members, uncompressed, together
    zip_members: int = 2000  # MAX_ZIP_MEMBERS: members of a .docx
    export_messages: int = 10_000  # MAX_EXPORT_MESSAGES: posts read from one Telegram export
    html_line_kib: int = 2048  # MAX_HTML_LINE_KIB: the longest line of an HTML file
    html_depth: int = 256  # MAX_HTML_DEPTH: elements nested in one another
    pdf_pages: int = 500  # MAX_PDF_PAGES: pages read from one PDF (the rest are left out)


_TAG = re.compile(r"<(/?)([A-Za-z][^\s/>]*)[^>]*?(/?)>")
# Elements that never hold others, whether or not the file closes them.
_VOID = frozenset("area base br col embed hr img input link meta param source track wbr p li td tr dt dd "
                  "option".split())


def check_html_shape(text: str, limits: IngestLimits) -> None:
    """Refuses HTML whose longest line or element nesting is beyond ``limits`` before it is parsed:
    the parser's time and memory grow faster than the file on either."""
    longest = max((len(line) for line in text.split("\n")), default=0)
    if longest > limits.html_line_kib * 1024:
        raise UnreadableDocument(f"it has a line of {longest / 1024:,.0f} KiB; the limit is "
                                 f"{limits.html_line_kib:,} KiB (MAX_HTML_LINE_KIB)")
    depth = deepest = 0
    for match in _TAG.finditer(text):
        closing, name, self_closing = match.groups()
        if name.lower() in _VOID or self_closing:
            continue
        depth = max(0, depth - 1) if closing else depth + 1
        deepest = max(deepest, depth)
    if deepest > limits.html_depth:
        raise UnreadableDocument(f"its elements are nested {deepest:,} deep; the limit is "
                                 f"{limits.html_depth:,} (MAX_HTML_DEPTH)")
