"""A Word file made by pandoc: its paragraphs, headings as their own paragraphs, its table as text."""

from __future__ import annotations

from pathlib import Path

from index.ingest.documents import read_documents, scan_corpus
from tests.support.documents import (DOCUMENTS, assert_chunks_are_exact_slices, paragraphs, share_found,
                                     source_paragraphs)

NAME = "fsb-keys-2017.pandoc.docx"


def read():
    (document,) = read_documents(DOCUMENTS / NAME, NAME).documents
    return document


def test_word_file_has_the_sources_paragraphs_and_headings() -> None:
    document = read()
    found = paragraphs(document)
    assert share_found(source_paragraphs("fsb-keys-2017.md"), found) == 1.0
    # headings, each its own paragraph
    assert "What the law requires" in found and "The dispute so far" in found
    assert (document.title, document.date) == ("The FSB asks Telegram for its keys", "2017-10-16")
    assert_chunks_are_exact_slices(document, one_line=False)


def test_word_table_is_a_row_per_line_with_cells_joined() -> None:
    table = next(p for p in read().text.split("\n\n") if p.startswith("Date | Event"))
    assert table.split("\n") == [
        "Date | Event",
        "June 2017 | Roskomnadzor threatens to block Telegram",
        "October 2017 | A Moscow court fines Telegram 800,000 rubles",
        "March 2018 | The Supreme Court rejects Telegram's appeal",
    ]


def test_damaged_word_file_is_named_in_a_warning(tmp_path: Path) -> None:
    (tmp_path / "broken.docx").write_bytes((DOCUMENTS / NAME).read_bytes()[:500])
    (tmp_path / "good.md").write_text("A good document about Telegram.\n", encoding="utf-8")
    scan = scan_corpus(tmp_path)
    assert [d.doc_id for d in scan.documents] == ["good.md"]
    (warning,) = scan.warnings
    assert warning.path == "broken.docx" and "Word" in warning.reason
