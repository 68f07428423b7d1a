"""Render an ``Answer`` as Discord messages: pure functions, no discord.py import.

Each passage becomes one embed: ``[n] title — ¶ paragraph`` as the title, the verbatim quote with
its highlight in **bold** as the description, ``date · source`` in the footer and the document's
URL as the embed link. Embeds are packed into as few messages as Discord's limits allow, splitting
only between passages, never inside a quote.

All corpus and question text is markdown-escaped (:func:`escape_markdown`) so that ``@everyone``,
``<@id>``, ``**`` or ``# heading`` inside a document shows as typed and pings or formats nothing;
:func:`unescape_markdown` gives the verbatim text back. A quote longer than one embed allows is
trimmed visibly (``…`` at the cut, a note in the footer), keeping its highlight whole when the
highlight itself fits.

Lengths are counted in UTF-16 code units, which is never less than Python's ``len``, so a payload
that fits here fits Discord whichever way it counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Protocol, Sequence

from bot.answer import Answer
from bot.links import quote_link
from bot.sources import SourcesPage, file_name
from bot.render import isolated, wording
from index.text.language import is_rtl
from index.text.shown import shown
from index.types import Passage

# Discord's limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits).
CONTENT_LIMIT = 2000
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FOOTER_LIMIT = 2048
EMBED_TOTAL_LIMIT = 6000  # title + description + footer (+ fields, author) over all embeds of a message
EMBEDS_PER_MESSAGE = 10
# Our own, tighter cap on footers: with it, any single embed fits the 6000 total on its own
# (256 + 4096 + 512 < 6000), so packing can never meet an embed that fits no message.
FOOTER_BUDGET = 512
URL_LIMIT = 2048

ELLIPSIS = "…"
TRIM_NOTE = "quote trimmed to fit Discord"
BLURPLE = 0x5865F2
GREY = 0x99AAB5


def discord_len(text: str) -> int:
    """Length as Discord's clients count it (UTF-16 code units)."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


# -- escaping --------------------------------------------------------------------------------------
# Inline markdown, mentions (<@id>, <#id>, <t:…>, <:emoji:id>), @everyone/@here and masked links
# are escaped wherever they appear; block syntax (quotes, headings, lists) only at a line start.
_ALWAYS = frozenset("\\*_~`|<>@[]")
_LINE_START = frozenset("#-+")
_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def _escaped_flags(text: str) -> list[bool]:
    """For each character of ``text``: does it get a backslash? Decided in the context of the
    whole text, so that escaping a span of it gives the same characters as escaping all of it."""
    flags = [False] * len(text)
    line_start = True  # only spaces/tabs seen since the start of the line
    digits_from_line_start = False
    for i, ch in enumerate(text):
        if ch in _ALWAYS:
            flags[i] = True
        elif line_start and ch in _LINE_START:
            flags[i] = True
        elif ch == "." and digits_from_line_start:  # "1. item" would become a list
            flags[i] = True
        if ch == "\n":
            line_start, digits_from_line_start = True, False
        elif ch in " \t" and line_start:
            pass
        elif ch.isdigit() and (line_start or digits_from_line_start):
            line_start, digits_from_line_start = False, True
        else:
            line_start = digits_from_line_start = False
    return flags


def _escape_with(text: str, flags: Sequence[bool], start: int = 0, end: int | None = None) -> str:
    end = len(text) if end is None else end
    return "".join("\\" + text[i] if flags[i] else text[i] for i in range(start, end))


def escape_markdown(text: str) -> str:
    """Escape ``text`` so Discord shows it as typed; :func:`unescape_markdown` inverts it."""
    return _escape_with(text, _escaped_flags(text))


def unescape_markdown(text: str) -> str:
    """Remove the backslashes :func:`escape_markdown` adds (before ASCII punctuation)."""
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and text[i + 1] in _PUNCTUATION:
            out.append(text[i + 1])
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _fit_escaped(text: str, budget: int) -> str:
    """``text`` escaped, cut (with an ellipsis) so that it takes at most ``budget`` units."""
    flags = _escaped_flags(text)
    escaped = _escape_with(text, flags)
    if discord_len(escaped) <= budget:
        return escaped
    room = budget - discord_len(ELLIPSIS)
    used, end = 0, 0
    for i, ch in enumerate(text):
        cost = discord_len(ch) + (1 if flags[i] else 0)
        if used + cost > room:
            break
        used += cost
        end = i + 1
    return _escape_with(text, flags, 0, end) + ELLIPSIS


def _one_line(text: str) -> str:
    return " ".join(text.split())


# -- payloads --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EmbedPayload:
    """One embed, in Discord's JSON shape via :meth:`to_dict`."""

    title: str = ""
    description: str = ""
    footer: str = ""
    url: str | None = None
    color: int | None = None
    trimmed: bool = False  # the quote was cut to fit

    @property
    def size(self) -> int:
        """What counts towards the 6000 per-message total."""
        return discord_len(self.title) + discord_len(self.description) + discord_len(self.footer)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"type": "rich"}
        if self.title:
            data["title"] = self.title
        if self.description:
            data["description"] = self.description
        if self.footer:
            data["footer"] = {"text": self.footer}
        if self.url:
            data["url"] = self.url
        if self.color is not None:
            data["color"] = self.color
        return data


@dataclass(frozen=True)
class MessagePayload:
    """One message: some content and up to ten embeds."""

    content: str = ""
    embeds: tuple[EmbedPayload, ...] = field(default=())

    @property
    def embed_total(self) -> int:
        return sum(e.size for e in self.embeds)


# -- passages --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Quote:
    """The verbatim pieces of a passage that an embed shows (before + highlight + after)."""

    before: str
    highlight: str
    after: str
    cut_before: bool  # text was dropped before ``before``
    cut_highlight: bool  # the highlight itself was cut at its end
    cut_after: bool  # text was dropped after ``after``

    @property
    def trimmed(self) -> bool:
        return self.cut_before or self.cut_highlight or self.cut_after


def _bold(escaped: str) -> str:
    return f"**{escaped}**" if escaped.strip() else escaped


def render_quote(passage: Passage, limit: int = DESCRIPTION_LIMIT) -> tuple[str, Quote]:
    """The embed description for ``passage`` (at most ``limit`` units) and what it shows."""
    text = passage.text
    hs, he = passage.highlight_start, passage.highlight_end
    flags = _escaped_flags(text)
    cost = [discord_len(ch) + (1 if f else 0) for ch, f in zip(text, flags)]

    def esc(a: int, b: int) -> str:
        return _escape_with(text, flags, a, b)

    bold_cost = 4 if text[hs:he].strip() else 0
    full = esc(0, hs) + _bold(esc(hs, he)) + esc(he, len(text))
    if discord_len(full) <= limit:
        return full, Quote(text[:hs], text[hs:he], text[he:], False, False, False)

    ell = discord_len(ELLIPSIS)
    highlight_cost = sum(cost[hs:he]) + bold_cost
    if highlight_cost + 2 * ell > limit:
        # The highlight alone does not fit: show as much of it as fits, from its start.
        room, end, used = limit - 4 - ell - (ell if hs > 0 else 0), hs, 0
        while end < he and used + cost[end] <= room:
            used += cost[end]
            end += 1
        description = (ELLIPSIS if hs > 0 else "") + _bold(esc(hs, end)) + ELLIPSIS
        return description, Quote("", text[hs:end], "", hs > 0, True, end < len(text))

    # Keep the whole highlight; spend what is left on context, around it.
    room = limit - highlight_cost - 2 * ell
    before_cost, after_cost = sum(cost[:hs]), sum(cost[he:])
    before_room = max(room // 2, room - after_cost)
    after_room = room - min(before_cost, before_room)
    start, used = hs, 0
    while start > 0 and used + cost[start - 1] <= before_room:
        used += cost[start - 1]
        start -= 1
    end, used = he, 0
    while end < len(text) and used + cost[end] <= after_room:
        used += cost[end]
        end += 1
    description = (
        (ELLIPSIS if start > 0 else "")
        + esc(start, hs)
        + _bold(esc(hs, he))
        + esc(he, end)
        + (ELLIPSIS if end < len(text) else "")
    )
    return description, Quote(text[start:hs], text[hs:he], text[he:end], start > 0, False, end < len(text))


def _location(passage: Passage) -> str:
    where = f"p. {passage.page}" if passage.page is not None else f"¶ {passage.paragraph}"
    return f"{where} (OCR)" if passage.ocr else where


def _valid_url(url: str | None) -> str | None:
    if not url or discord_len(url) > URL_LIMIT or any(ch.isspace() for ch in url):
        return None
    return url if re.match(r"https?://[^/]", url) else None


def render_passage(passage: Passage, number: int) -> EmbedPayload:
    """The embed for the ``number``-th passage of an answer."""
    prefix = f"[{number}] "
    suffix = f" — {_location(passage)}"
    title = prefix + _fit_escaped(shown(_one_line(passage.title) or passage.doc_id),
                                  TITLE_LIMIT - discord_len(prefix) - discord_len(suffix)) + suffix
    description, quote = render_quote(passage, DESCRIPTION_LIMIT - 2 * is_rtl(passage.language))
    description = isolated(description, passage.language)  # Discord lays a Persian quote out right to left
    parts = [shown(_one_line(part)) for part in (passage.date, passage.source) if part and part.strip()]
    if note := wording.in_language(passage.language):
        parts.append(note)
    if quote.trimmed:
        parts.append(TRIM_NOTE)
    footer = " · ".join(parts)
    if discord_len(footer) > FOOTER_BUDGET:
        footer = footer[: FOOTER_BUDGET - discord_len(ELLIPSIS) - 1] + ELLIPSIS
        while discord_len(footer) > FOOTER_BUDGET:
            footer = footer[:-2] + ELLIPSIS
    return EmbedPayload(title=title, description=description, footer=footer,
                        url=_valid_url(quote_link(passage)) or _valid_url(passage.url), color=BLURPLE,
                        trimmed=quote.trimmed)


def pack_embeds(embeds: Iterable[EmbedPayload], first_content: str = "") -> list[MessagePayload]:
    """Put embeds, in order, into as few messages as the limits allow."""
    messages: list[MessagePayload] = []
    current: list[EmbedPayload] = []
    total = 0
    for embed in embeds:
        if current and (len(current) == EMBEDS_PER_MESSAGE or total + embed.size > EMBED_TOTAL_LIMIT):
            messages.append(MessagePayload(first_content if not messages else "", tuple(current)))
            current, total = [], 0
        current.append(embed)
        total += embed.size
    if current or not messages:
        messages.append(MessagePayload(first_content if not messages else "", tuple(current)))
    return messages


# -- answers ---------------------------------------------------------------------------------------
def _question_line(question: str, room: int, read_as: str = "") -> str:
    """The question, and on a second line what a follow-up was read as (given up to half the room)."""
    label = f"**{wording.QUESTION_LABEL}** "
    reading = ""
    if read_as:
        read_label = f"\n*{wording.READ_AS_LABEL}* "
        reading = read_label + _fit_escaped(_one_line(read_as), room // 2 - discord_len(read_label))
    room -= discord_len(label) + discord_len(reading)
    return label + _fit_escaped(_one_line(question), room) + reading


def render_answer(answer: Answer) -> list[MessagePayload]:
    """The messages that show ``answer`` on Discord, in order; the first has the question."""
    if not answer.answered or not answer.passages:
        return [MessagePayload(render_decline(answer))]
    count = len(answer.passages)
    tail = "\n" + wording.quoted_passages(count)
    content = _question_line(answer.question, CONTENT_LIMIT - discord_len(tail), answer.read_as) + tail
    embeds = [render_passage(p, n) for n, p in enumerate(answer.passages, start=1)]
    return pack_embeds(embeds, first_content=content)


def render_thread_starter(answer: Answer) -> str:
    """The message a thread of answers hangs from: the question, and where the answer is."""
    tail = "\n" + wording.ANSWER_IN_THREAD
    return _question_line(answer.question, CONTENT_LIMIT - discord_len(tail)) + tail


def render_decline(answer: Answer) -> str:
    """A plain statement that the corpus does not answer, with what it does cover."""
    names = _fit_escaped(_one_line(answer.unknown_names_phrase()), 300) if answer.unknown_names else ""
    intro = "\n" + wording.decline(names, answer.unserved_language, answer.missing)
    lines: list[str] = []
    if answer.suggestions:
        lines.append("\n" + wording.COVERS)
        lines.extend(f"- {_fit_escaped(_one_line(s), 200)}" for s in answer.suggestions)
    head = _question_line(answer.question, 600, answer.read_as) + intro
    body = "\n".join(lines)
    while lines and discord_len(head + body) > CONTENT_LIMIT:
        lines.pop()
        more = len(answer.suggestions) - (len(lines) - 1)
        body = "\n".join(lines + [f"- …and {more} more"])
    return head + body


# -- documents added from the chat -----------------------------------------------------------------
def render_added(added: AddedLike) -> str:
    """The reply to an upload, escaped and within one message's 2,000 characters."""
    name, title = _fit_escaped(_one_line(added.name), 200), _fit_escaped(_one_line(added.title), 300)
    lines = [wording.added(name, title, added.date, added.language, added.passages, added.replaced)]
    lines += [wording.upload_warning(_fit_escaped(_one_line(w), 250)) for w in added.warnings[:5]]
    return "\n".join(lines)


def render_plain(text: str) -> str:
    """A sentence that may quote a file's name or a reader's reason: escaped, cut to one message."""
    return _fit_escaped(text, CONTENT_LIMIT)


# -- sources ---------------------------------------------------------------------------------------
class AddedLike(Protocol):  # bot.library.Added, without importing the library into a renderer
    name: str
    title: str
    date: str | None
    language: str
    passages: int
    warnings: tuple[str, ...]
    replaced: bool


def render_sources(page: SourcesPage) -> list[MessagePayload]:
    """One page of the ``/sources`` listing: a line per document, packed into embeds and messages."""
    if not page.total:
        return [MessagePayload(wording.NO_SOURCES)]
    lines = []
    for s in page.items:
        title = _fit_escaped(shown(_one_line(s.title)), 300)
        url = _valid_url(s.url)
        head = f"[{title}]({url})" if url and ")" not in url else f"**{title}**"
        source = _fit_escaped(shown(_one_line(s.source)), 200) if s.source and s.source.strip() else None
        details = wording.source_details(shown(_one_line(s.date)) if s.date else None, source, s.language,
                                         _fit_escaped(shown(file_name(s.doc_id)), 200), s.chunks)
        lines.append(f"{head} — {details}")
    embeds: list[EmbedPayload] = []
    chunk: list[str] = []
    for line in lines:
        if chunk and discord_len("\n".join(chunk + [line])) > DESCRIPTION_LIMIT:
            embeds.append(EmbedPayload(description="\n".join(chunk), color=GREY))
            chunk = []
        chunk.append(line)
    embeds.append(EmbedPayload(description="\n".join(chunk), color=GREY))
    heading = wording.sources_heading(page.total) + " " + wording.sources_page(page.page, page.pages,
                                                                                "/sources page:")
    return pack_embeds(embeds, first_content=heading)
