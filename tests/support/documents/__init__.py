"""Test documents made by real tools from sources written for the tests (see make.py), and the
measures the reader tests assert on them."""

from __future__ import annotations

import re
from pathlib import Path

from index.ingest.chunk import chunk_document
from index.types import Document

DOCUMENTS = Path(__file__).resolve().parent


def normalised(text: str) -> str:
    return " ".join(text.split())


def source_paragraphs(name: str) -> list[str]:
    """The paragraphs of a Markdown source, after its front matter, headings without their marks."""
    body = (DOCUMENTS / name).read_text(encoding="utf-8").split("---\n", 2)[2]
    return [
        normalised(re.sub(r"^#+\s*", "", p))
        for p in body.split("\n\n")
        if p.strip() and not p.startswith("|")
    ]


def paragraphs(document: Document) -> list[str]:
    return [normalised(p) for p in document.text.split("\n\n") if p.strip()]


def share_found(source: list[str], found: list[str]) -> float:
    """The share of the source's paragraphs that the document holds word for word."""
    return sum(p in set(found) for p in source) / len(source)


def assert_chunks_are_exact_slices(document: Document, one_line: bool = True) -> None:
    """Every passage is a slice of the document text and (``one_line``) holds no line break."""
    chunks = chunk_document(document)
    assert chunks
    for chunk in chunks:
        assert chunk.text == document.text[chunk.start:chunk.end]
        if one_line:
            assert "\n" not in chunk.text, f"a layout line break inside a passage: {chunk.text!r}"
