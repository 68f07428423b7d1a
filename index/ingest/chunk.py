"""Split a document into paragraph chunks and sentences, keeping exact character offsets.

Every span produced here satisfies ``document.text[start:end] == chunk.text`` and never starts or
ends with whitespace. Chunks of one document never overlap.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from index.types import Chunk, Document

DEFAULT_MAX_CHUNK_CHARS = 1500
# A long sentence (or a run of text without punctuation) is cut into pieces of at most this size.
MAX_SENTENCE_CHARS = 600

_PARAGRAPH_BREAK = re.compile(r"\n[ \t\f\v]*\n\s*")
# A sentence ends at . ! ? or … (optionally followed by closing quotes/brackets), then whitespace,
# then something that can open a sentence.
# Russian and Persian: «ёлочки» and „low-high“ quotes, the Arabic question mark, Persian digits.
_SENTENCE_END = re.compile(r"[.!?…؟]+[\"'”“’»)\]]*(?=\s+[\"'“‘«„(\[]?[A-Z0-9А-ЯЁ\u0600-\u06FF])")
_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "vs", "gen", "sen", "rep", "gov",
    "inc", "ltd", "co", "corp", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept",
    "oct", "nov", "dec", "u.s", "u.k", "e.g", "i.e", "etc", "fig", "art", "p", "pp", "ch", "vol",
    # Russian: «ст. 13.31», «гг.», «тыс.», «им. Мещанского», «т. е.», «т. н.» («руб.» ends sentences)
    "ст", "стр", "гг", "тыс", "млн", "млрд", "им", "проф", "акад", "ул", "рис", "см",
    "др", "пр", "т.е", "т.н", "т.к", "т.д", "т.п",
}


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def paragraph_spans(text: str) -> list[tuple[int, int]]:
    """Non-empty paragraphs separated by blank lines, as trimmed (start, end) spans."""
    spans: list[tuple[int, int]] = []
    position = 0
    for match in _PARAGRAPH_BREAK.finditer(text):
        spans.append(_trimmed(text, position, match.start()))
        position = match.end()
    spans.append(_trimmed(text, position, len(text)))
    return [(s, e) for s, e in spans if e > s]


def sentence_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentences of ``text[start:end]`` as absolute, trimmed spans covering all its non-space text."""
    spans: list[tuple[int, int]] = []
    position = start
    for match in _SENTENCE_END.finditer(text, start, end):
        stop = match.end()
        if _ends_with_abbreviation(text, position, match.start()):
            continue
        spans.append(_trimmed(text, position, stop))
        position = stop
    spans.append(_trimmed(text, position, end))
    result: list[tuple[int, int]] = []
    for s, e in spans:
        if e > s:
            result.extend(_cut_long(text, s, e, MAX_SENTENCE_CHARS))
    return result


def _ends_with_abbreviation(text: str, sentence_start: int, dot: int) -> bool:
    if text[dot] != ".":
        return False
    word_start = dot
    while word_start > sentence_start and not text[word_start - 1].isspace():
        word_start -= 1
    word = text[word_start:dot].lower().lstrip("(\"'“‘")
    return word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha())


def _cut_long(text: str, start: int, end: int, limit: int) -> Iterator[tuple[int, int]]:
    """Cut a span longer than ``limit`` at whitespace (or hard, when there is none)."""
    while end - start > limit:
        cut = text.rfind(" ", start + limit // 2, start + limit)
        if cut <= start:
            cut = start + limit
        piece = _trimmed(text, start, cut)
        if piece[1] > piece[0]:
            yield piece
        start = _trimmed(text, cut, end)[0]
    if end > start:
        yield (start, end)


def chunk_document(document: Document, max_chars: int = DEFAULT_MAX_CHUNK_CHARS) -> list[Chunk]:
    """Paragraph chunks; a paragraph longer than ``max_chars`` is split between sentences."""
    if max_chars < MAX_SENTENCE_CHARS:
        raise ValueError(f"max_chars must be at least {MAX_SENTENCE_CHARS}")
    text = document.text
    chunks: list[Chunk] = []
    for number, (p_start, p_end) in enumerate(paragraph_spans(text), start=1):
        sentences = sentence_spans(text, p_start, p_end)
        group: list[tuple[int, int]] = []
        for sentence in sentences:
            if group and sentence[1] - group[0][0] > max_chars:
                chunks.append(_make_chunk(document, number, group))
                group = []
            group.append(sentence)
        if group:
            chunks.append(_make_chunk(document, number, group))
    return chunks


def _make_chunk(document: Document, paragraph: int, sentences: list[tuple[int, int]]) -> Chunk:
    start, end = sentences[0][0], sentences[-1][1]
    return Chunk(
        doc_id=document.doc_id,
        start=start,
        end=end,
        paragraph=paragraph,
        text=document.text[start:end],
        sentences=tuple(sentences),
        page=document.page_at(start),
    )
