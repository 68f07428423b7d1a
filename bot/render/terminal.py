"""Render an Answer for a terminal: the quotes with their highlight, then attribution."""

from __future__ import annotations

from bot.answer import Answer
from bot.links import quote_link
from bot.render import isolated, wording
from index.text.language import is_rtl
from index.text.shown import shown
from index.types import Passage

BOLD, RESET, DIM = "\x1b[1m", "\x1b[0m", "\x1b[2m"


def attribution(passage: Passage) -> str:
    """Title, date, source and paragraph (or page) of a passage, on one line."""
    where = f"page {passage.page}, ¶ {passage.paragraph}" if passage.page else f"¶ {passage.paragraph}"
    where += " (OCR)" if passage.ocr else ""
    parts = [shown(passage.title), shown(passage.date or "undated"),
             shown(passage.source or "source not recorded"), where]
    if note := wording.in_language(passage.language):
        parts.append(note)
    if link := quote_link(passage):  # the quoted place itself (bot.links)
        parts.append(shown(link))
    return " · ".join(parts)


def _sanitize(text: str) -> str:
    """Drop terminal control characters from corpus text (escape sequences could rewrite the screen)."""
    return "".join(
        ch if ch in "\n\t" or (ch >= " " and ch != "\x7f" and not 0x80 <= ord(ch) < 0xA0) else "\ufffd"
        for ch in text
    )


def render_answer(answer: Answer, color: bool = False) -> str:
    """Quotes are printed verbatim (no re-wrapping); with ``color`` the highlight is bold in context."""
    lines: list[str] = []
    if answer.read_as:
        lines.append(f"{wording.READ_AS_LABEL} {_sanitize(answer.read_as)}")
    if not answer.answered:
        names = _sanitize(answer.unknown_names_phrase()) if answer.unknown_names else ""
        lines.append(wording.decline(names, answer.unserved_language, answer.missing))
        if answer.suggestions:
            lines.append(f"{wording.COVERS} " + "; ".join(_sanitize(s) for s in answer.suggestions))
        return "\n".join(lines) + "\n"
    for number, passage in enumerate(answer.passages, start=1):
        before, highlight, after = (_sanitize(passage.before_highlight), _sanitize(passage.highlight),
                                    _sanitize(passage.after_highlight))
        if is_rtl(passage.language):  # one isolated run each: a Persian quote reads right to left
            before, highlight, after = (
                isolated(part, passage.language) for part in (before, highlight, after)
            )
        if color:
            quote = f"{before}{BOLD}{highlight}{RESET}{after}"
            lines.append(f"[{number}] “{quote}”")
        else:
            lines.append(f"[{number}] “{highlight}”")
            if before or after:
                lines.append(f"    in context: “{before}{highlight}{after}”")
        source = f"    — {attribution(passage)}"
        lines.append(f"{DIM}{_sanitize(source)}{RESET}" if color else _sanitize(source))
        lines.append("")
    return "\n".join(lines)
