"""Values that travel through the pipeline: documents, chunks and ranked passages.

Every text span is given as character offsets into ``Document.text``; a passage shown to a user is
always ``document.text[start:end]`` and nothing downstream re-derives offsets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


class ModelIdentity(Protocol):
    """What an index records of the models that built it (index.models.models.Models): its vectors
    are usable only by the same models."""

    @property
    def name(self) -> str: ...

    @property
    def dimension(self) -> int: ...


@dataclass(frozen=True)
class Document:
    """One corpus file, read and normalised to text."""

    doc_id: str  # path relative to the corpus folder, with forward slashes
    title: str
    text: str
    content_hash: str  # sha256 of the file bytes, its sidecar and the reader version: a change means re-read
    date: str | None = None
    source: str | None = None
    author: str | None = None
    url: str | None = None
    # For PDFs: (start offset, page number) where each page's text begins, in text order (a page's
    # footnotes can follow text of the next page). Empty for other formats.
    page_starts: tuple[tuple[int, int], ...] = ()
    ocr: bool = False  # some of the text was read from page images by OCR (it may hold misread words)
    language: str | None = None  # ISO 639-1 ("ru"): front matter or sidecar ``lang:``, else detected

    def page_at(self, offset: int) -> int | None:
        """The 1-based page that holds ``offset``, or None when the document has no pages."""
        page = None
        for start, number in self.page_starts:
            if start > offset:
                break
            page = number
        return page


@dataclass(frozen=True)
class Chunk:
    """A passage-sized span of one document: a paragraph, or part of a long one."""

    doc_id: str
    start: int
    end: int
    paragraph: int  # 1-based paragraph number within the document body
    text: str  # == document.text[start:end]
    # Sentence spans inside the chunk, as absolute (start, end) offsets into the document text.
    sentences: tuple[tuple[int, int], ...] = field(default=())
    page: int | None = None


@dataclass(frozen=True)
class Scored:
    """A candidate chunk with what each stage said of it (index.search: stages 1-3)."""

    chunk: int
    score: float  # what ranks the passages and what abstention compares with its threshold
    dense: float  # cosine of the question's vector with the chunk's (stage 1)
    words: float  # BM25 (stage 1)
    match: float  # late interaction (stage 2)
    logit: float | None = None  # cross-encoder (stage 3), when it read this chunk


@dataclass(frozen=True)
class Passage:
    """A ranked chunk with its attribution and the verbatim highlight that best answers."""

    doc_id: str
    title: str
    date: str | None
    source: str | None
    url: str | None
    paragraph: int
    page: int | None
    text: str
    start: int
    end: int
    highlight_start: int  # offsets relative to ``text``
    highlight_end: int
    score: float
    ocr: bool = False  # the document's text was (partly) read by OCR: the attribution says so
    language: str = "en"  # the document's language (quotes stay in it: nothing is translated)

    @property
    def highlight(self) -> str:
        return self.text[self.highlight_start : self.highlight_end]

    @property
    def before_highlight(self) -> str:
        return self.text[: self.highlight_start]

    @property
    def after_highlight(self) -> str:
        return self.text[self.highlight_end :]


@dataclass(frozen=True)
class Retrieval:
    """What a search found for one question: passages that answer it, or none (declined)."""

    question: str
    answered: bool
    passages: tuple[Passage, ...] = ()
    # The titles of the documents nearest the question, best first: what the corpus does cover.
    nearest: tuple[str, ...] = ()
    # When declined for it: the names and years of the question that no document contains.
    unknown: tuple[str, ...] = ()
    # What abstention compared with its threshold: the best cross-encoder logit (or ranking score).
    confidence: float = float("-inf")
    language: str = "en"  # the question's language (index.text.language)
    # True when the question's language is one casebot does not read: declined for that alone.
    unserved: bool = False
    # When declined for it: the kind of answer the question asks (index.search.answer_types: "date", "amount",
    # "name") that none of the best passages holds.
    missing: str = ""
