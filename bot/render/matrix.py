"""Render answers for Matrix: a plain ``body`` and an HTML ``formatted_body``.

Pure functions, no I/O. This module owns Matrix's limits: every event must fit in 64 KiB of
canonical JSON (the whole event, so the content gets a smaller budget), and HTML must be escaped
because corpus documents and questions are untrusted. Quotes are verbatim: a passage is shown
exactly as it is in the document, with its highlight in bold. When an answer is too large, whole
passages are dropped first (lowest-ranked last); only a single passage that is too large on its
own is shortened, visibly, with ``[…]``.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.answer import Answer
from bot.links import quote_link, web_address
from bot.sources import SourcesPage, file_name
from bot.render import isolated, wording
from index.text.shown import shown
from index.types import Passage

if TYPE_CHECKING:
    from bot.library import Added

MAX_EVENT_BYTES = 65_536
# Room for the event envelope that the server adds (ids, auth/prev events, hashes, signatures)
# and for ``m.relates_to`` / ``m.mentions``: a few KiB at most.
CONTENT_BUDGET = MAX_EVENT_BYTES - 6_144
ELISION = "[…]"
MAX_SUGGESTIONS = 12
MAX_ECHO_CHARS = 200


@dataclass(frozen=True)
class Rendered:
    """A message ready for Matrix: ``body`` for plain clients, ``html`` for ``formatted_body``."""

    body: str
    html: str

    def content(self, msgtype: str = "m.notice") -> dict[str, object]:
        return {"msgtype": msgtype, "body": self.body,
                "format": "org.matrix.custom.html", "formatted_body": self.html}

    @property
    def size(self) -> int:
        """Bytes of this message's text as the server counts them (UTF-8 canonical JSON)."""
        return content_size(self.body, self.html)


def content_size(body: str, formatted: str) -> int:
    data = {"body": body, "format": "org.matrix.custom.html", "formatted_body": formatted,
            "msgtype": "m.notice"}
    return len(json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def escape(text: str) -> str:
    """HTML-escape text for an element body; newlines become ``<br>``."""
    return html.escape(text, quote=False).replace("\n", "<br>")


def _link(url: str | None, label: str) -> str:
    if url and url.lower().startswith(("https://", "http://")):
        return f'<a href="{html.escape(url, quote=True)}">{escape(label)}</a>'
    return escape(label)


def attribution(passage: Passage) -> str:
    """``Title, 2017-06-28, Source, p. 3, ¶ 4`` (plain text; names as data, index.text.shown)."""
    parts = [shown(passage.title)]
    parts += [shown(value) for value in (passage.date, passage.source) if value]
    if passage.page is not None:
        parts.append(f"p. {passage.page}")
    parts.append(f"¶ {passage.paragraph} (OCR)" if passage.ocr else f"¶ {passage.paragraph}")
    if note := wording.in_language(passage.language):
        parts.append(note)
    return ", ".join(parts)


def _attribution_html(passage: Passage) -> str:
    title = shown(passage.title)
    rest = attribution(passage)[len(title):]
    return f"— {_link(quote_link(passage), title)}{escape(rest)}"


# -- passages ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Quote:
    """The three verbatim pieces of a passage shown to the user (possibly shortened)."""

    before: str
    highlight: str
    after: str
    passage: Passage

    @classmethod
    def of(cls, passage: Passage) -> _Quote:
        return cls(passage.before_highlight, passage.highlight, passage.after_highlight, passage)

    @property
    def shortened(self) -> bool:
        return self.before + self.highlight + self.after != self.passage.text

    def plain(self) -> str:
        language = self.passage.language
        quoted = "\n".join("> " + isolated(line, language)
                           for line in (self.before + self.highlight + self.after).split("\n"))
        return f"{quoted}\n— {attribution(self.passage)}"

    def html(self) -> str:
        highlight = f"<strong>{escape(self.highlight)}</strong>" if self.highlight else ""
        text = escape(self.before) + highlight + escape(self.after)
        # dir="auto": a Persian quote is laid out right to left by the client, an English one as before.
        return f'<blockquote dir="auto">{text}</blockquote>\n<p>{_attribution_html(self.passage)}</p>'

    def shorten(self, keep: int) -> _Quote:
        """Keep about ``keep`` characters around the highlight, cutting at spaces, marking cuts."""
        highlight = self.highlight
        if len(highlight) > keep:
            highlight = _cut_end(highlight, keep) + " " + ELISION
            return _Quote("", highlight, "", self.passage)
        room = keep - len(highlight)
        before_room = min(len(self.before), room // 2)
        after_room = min(len(self.after), room - before_room)
        before_room = min(len(self.before), room - after_room)
        before = (
            self.before
            if before_room >= len(self.before)
            else ELISION + " " + _cut_start(self.before, before_room)
        )
        after = (
            self.after if after_room >= len(self.after) else _cut_end(self.after, after_room) + " " + ELISION
        )
        return _Quote(before, highlight, after, self.passage)


def _cut_end(text: str, keep: int) -> str:
    """The first ``keep`` characters of ``text``, ending at a word boundary when there is one."""
    cut = text[:keep]
    space = cut.rfind(" ")
    return (cut[:space] if space > keep // 2 else cut).rstrip()


def _echo(text: str, limit: int) -> str:
    """A question (or what it was read as) repeated to the reader, cut visibly past ``limit``."""
    return text if len(text) <= limit else _cut_end(text, limit) + " …"


def _cut_start(text: str, keep: int) -> str:
    if keep <= 0:
        return ""
    cut = text[-keep:]
    space = cut.find(" ")
    return (cut[space + 1:] if 0 <= space < keep // 2 else cut).lstrip()


# -- answers -------------------------------------------------------------------------------------
def render_answer(answer: Answer, budget: int = CONTENT_BUDGET) -> Rendered:
    """The reply to one question, guaranteed to fit ``budget`` bytes."""
    if not answer.answered or not answer.passages:
        return render_decline(answer, budget)
    quotes = [_Quote.of(p) for p in answer.passages]
    read_as = _echo(answer.read_as, MAX_ECHO_CHARS * 2)
    rendered = _compose(quotes, dropped=0, read_as=read_as)
    dropped = 0
    while rendered.size > budget and len(quotes) > 1:
        quotes.pop()
        dropped += 1
        rendered = _compose(quotes, dropped, read_as)
    if rendered.size <= budget:
        return rendered
    # One passage alone is too large: shorten it around its highlight (binary search on length).
    full = quotes[0]
    low, high = 0, len(full.passage.text)
    best = _compose([full.shorten(0)], dropped, read_as)
    while low <= high:
        middle = (low + high) // 2
        candidate = _compose([full.shorten(middle)], dropped, read_as)
        if candidate.size <= budget:
            best, low = candidate, middle + 1
        else:
            high = middle - 1
    return best


def _read_as(read_as: str) -> tuple[list[str], list[str]]:
    """The plain and HTML line saying what a follow-up was read as (none for a question alone)."""
    if not read_as:
        return [], []
    label = wording.READ_AS_LABEL
    return [f"{label} {read_as}"], [f"<p><em>{escape(label)}</em> {escape(read_as)}</p>"]


def _compose(quotes: list[_Quote], dropped: int, read_as: str = "") -> Rendered:
    plain, rich = _read_as(read_as)
    plain += [q.plain() for q in quotes]
    rich += [q.html() for q in quotes]
    notes = []
    if any(q.shortened for q in quotes):
        notes.append(f"The quote was shortened ({ELISION}) to fit Matrix's message size limit.")
    if dropped:
        more = "passage was" if dropped == 1 else "passages were"
        notes.append(f"{dropped} more {more} left out to fit Matrix's message size limit.")
    plain += notes
    rich += [f"<p><em>{escape(note)}</em></p>" for note in notes]
    return Rendered("\n\n".join(plain), "\n".join(rich))


def render_decline(answer: Answer, budget: int = CONTENT_BUDGET) -> Rendered:
    """Say plainly that the documents do not answer, and what they do cover."""
    question = answer.question
    if len(question) > MAX_ECHO_CHARS:
        question = _cut_end(question, MAX_ECHO_CHARS) + " …"
    names = answer.unknown_names_phrase() if answer.unknown_names else ""
    lead = wording.decline(names, answer.unserved_language, answer.missing)
    label = wording.QUESTION_LABEL
    suggestions = list(answer.suggestions[:MAX_SUGGESTIONS])
    read_as = _echo(answer.read_as, MAX_ECHO_CHARS * 2)
    read_plain = f"\n{wording.READ_AS_LABEL} {read_as}" if read_as else ""
    read_rich = f"<br><em>{escape(wording.READ_AS_LABEL)}</em> {escape(read_as)}" if read_as else ""
    while True:
        plain = [f"{label} {question}{read_plain}\n{lead}"]
        rich = [f"<p><strong>{escape(label)}</strong> {escape(question)}{read_rich}<br>{escape(lead)}</p>"]
        if suggestions:
            plain.append(wording.COVERS + "\n" + "\n".join(f"• {s}" for s in suggestions))
            rich.append(
                f"<p>{escape(wording.COVERS)}</p>\n<ul>"
                + "".join(f"<li>{escape(s)}</li>" for s in suggestions)
                + "</ul>"
            )
        hint = wording.try_instead("!sources")
        plain.append(hint)
        rich.append(f"<p>{_commands_as_code(escape(hint))}</p>")
        rendered = Rendered("\n\n".join(plain), "\n".join(rich))
        if rendered.size <= budget or not suggestions:
            return rendered
        suggestions.pop()


# -- other messages ------------------------------------------------------------------------------
def render_sources(page: SourcesPage, budget: int = CONTENT_BUDGET) -> Rendered:
    """One page of the documents the bot answers from: title (linked), date, source, language, file."""
    if not page.total:
        return render_text(wording.NO_SOURCES)
    items = list(page.items)
    left_out = 0
    footer = wording.sources_page(page.page, page.pages, "!sources ")
    while True:
        plain = [wording.sources_heading(page.total)]
        rich_items = []
        for s in items:
            title = _echo(shown(s.title), MAX_ECHO_CHARS)
            source = _echo(shown(s.source), MAX_ECHO_CHARS) if s.source else None
            details = wording.source_details(shown(s.date) if s.date else None, source, s.language,
                                             shown(file_name(s.doc_id)), s.chunks)
            address = web_address(s.url)
            plain.append(f"• {title} ({details})" + (f" {shown(address)}" if address else ""))
            rich_items.append(f"<li>{_link(address, title)} ({escape(details)})</li>")
        notes = [f"…and {left_out} more on this page, left out to fit Matrix's message size limit."] \
            if left_out else []
        notes.append(footer)
        rich = (f"<p>{escape(plain[0])}</p>\n<ol start=\"{page.first}\">{''.join(rich_items)}</ol>"
                + "".join(f"\n<p>{escape(n)}</p>" for n in notes))
        rendered = Rendered("\n".join(plain + notes), rich)
        if rendered.size <= budget or len(items) <= 1:
            return rendered
        items.pop()
        left_out += 1


def render_added(added: Added) -> Rendered:
    """The reply to an upload: what the bot now reads from it, and any warning of the reader."""
    lines = [wording.added(added.name, _echo(added.title, MAX_ECHO_CHARS), added.date, added.language,
                           added.passages, added.replaced)]
    lines += [wording.upload_warning(_echo(w, MAX_ECHO_CHARS * 2)) for w in added.warnings[:5]]
    return render_text("\n\n".join(lines))


def render_text(text: str) -> Rendered:
    """A plain notice (status, errors, hints), escaped for HTML."""
    paragraphs = text.split("\n\n")
    return Rendered(text, "\n".join(f"<p>{escape(p)}</p>" for p in paragraphs))


def render_help(user_id: str, display_name: str | None) -> Rendered:
    example = f"{display_name or user_id}: what did the FSB demand?"
    paragraphs = [wording.HELP_INTRO, wording.help_how_to_ask(example), wording.HELP_COMMANDS]
    # The example goes in <code> whole; a placeholder keeps it out of the command markup.
    rich = [
        _commands_as_code(escape(p.replace(example, "\0"))).replace("\0", f"<code>{escape(example)}</code>")
        for p in paragraphs
    ]
    return Rendered("\n\n".join(paragraphs), "\n".join(f"<p>{r}</p>" for r in rich))


def _commands_as_code(escaped: str) -> str:
    """``!ask``, ``!sources``… in escaped text, set as code."""
    return re.sub(r"(?<![\w&])(![a-z]+)", r"<code>\1</code>", escaped)
