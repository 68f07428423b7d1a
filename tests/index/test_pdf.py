"""PDFs made by Chromium and LibreOffice read as a reader sees them: the source's paragraphs, no page
furniture, no layout line breaks, the stated date and title, every passage an exact slice."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from index.ingest.chunk import chunk_document
from index.ingest.documents import read_documents, scan_corpus
from index.ingest.readers import ocr
from index.ingest.readers.pdf import join_lines
from tests.support.documents import (DOCUMENTS, assert_chunks_are_exact_slices, normalised, paragraphs,
                                  share_found, source_paragraphs)

CHROMIUM = ["blocking-april-2018.chromium.pdf", "blocking-april-2018.chromium-plain.pdf"]


def read(name: str):
    (document,) = read_documents(DOCUMENTS / name, name).documents
    return document


@pytest.mark.parametrize("name", CHROMIUM)
def test_browser_print_has_the_pages_paragraphs_and_nothing_else(name: str) -> None:
    document = read(name)
    source = source_paragraphs("blocking-april-2018.md")
    found = paragraphs(document)
    assert share_found(source, found) == 1.0
    # The only paragraph the source does not have is the page's heading.
    assert [p for p in found if p not in source] == ["Russia's court orders Telegram blocked"]
    assert_chunks_are_exact_slices(document)


@pytest.mark.parametrize("name", CHROMIUM)
def test_print_header_footer_navigation_and_related_links_are_left_out(name: str) -> None:
    document = read(name)
    for chunk in chunk_document(document):
        for furniture in (r"\d{1,2}:\d{2}", r"file:", r"\b\d/3\b", r"\bHome\b", r"\bAbout\b", r"Related",
                          r"bans Telegram", r"What the FSB asked"):
            assert not re.search(furniture, chunk.text), (furniture, chunk.text)


def test_a_paragraph_that_runs_onto_the_next_page_is_one_paragraph_with_both_pages() -> None:
    document = read("blocking-april-2018.chromium.pdf")
    sentence = "The court ruled that the block takes effect immediately"
    paragraph = next(p for p in document.text.split("\n\n") if p.startswith(sentence))
    assert paragraph.endswith(
        "Under Russian procedure the company had one month to appeal, and it said it would."
    )
    start = document.text.index(paragraph)
    assert document.page_at(start) == 1
    assert document.page_at(document.text.index("appeal, and it said it would")) == 2
    assert document.page_at(document.text.index("The dispute lasted more than two years")) == 2


def test_the_date_is_the_dateline_not_the_day_the_page_was_printed() -> None:
    document = read("blocking-april-2018.chromium.pdf")
    assert document.title == "Russia's court orders Telegram blocked"
    assert document.date == "2018-04-13"


def test_a_one_page_browser_print_loses_its_header_and_footer_and_states_no_date() -> None:
    document = read("undated.chromium.pdf")
    # One page: nothing repeats, so the print header (date, time, title) and footer (file URL, "1/1")
    # are recognised by their shape.
    assert document.text == source_paragraphs("blocking-april-2018.md")[8] + "\n"
    assert document.title == "Proxies keep Telegram reachable"
    assert document.date is None  # its PDF's CreationDate is only the moment it was printed


def test_hyphen_at_a_line_end_is_kept_only_for_compounds_the_document_writes_elsewhere() -> None:
    compounds = {"state-owned"}
    assert join_lines(["a state-", "owned broadcaster and a mes-", "saging app"], compounds) == (
        "a state-owned broadcaster and a messaging app")


def test_two_column_court_paper_reads_column_by_column_with_words_rejoined() -> None:
    document = read("iran-ban-2018.libreoffice.pdf")
    source = source_paragraphs("iran-ban-2018.md")
    found = paragraphs(document)
    assert share_found(source, found) >= 0.95
    extra = [p for p in found if p not in source]
    assert extra == [
        "Iran's judiciary orders Telegram blocked",
        "1 The figure given by Iranian officials in 2018.",
        "2 Soroush was launched in 2017 by the state broadcaster, IRIB.",
    ]
    assert (document.title, document.date) == ("Iran's judiciary orders Telegram blocked", "2018-04-30")
    text = document.text
    assert "messaging application" in text and "pornography and terrorism" in text  # hyphenated at line ends
    assert not re.search(r"\w- \w", text)
    # running header, page numbers
    assert "Tehran Culture and Media Court" not in text and "Page " not in text
    assert "Iran1" not in text and "Soroush2" not in text  # footnote marks
    assert_chunks_are_exact_slices(document)


def test_footnotes_follow_the_paragraph_they_interrupt_and_keep_their_page() -> None:
    document = read("iran-ban-2018.libreoffice.pdf")
    text = document.text
    continued = text.index("The block in Iran came two weeks")
    note = text.index("1 The figure given")
    after = text.index("Some officials disagreed")
    assert continued < text.index("based on national security and public morals.") < note < after
    assert document.page_at(text.index("based on national security")) == 2
    assert document.page_at(note) == 1
    assert document.page_at(after) == 2


def test_scanned_page_without_tesseract_is_named_and_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ocr, "available", lambda: False)
    shutil.copy(DOCUMENTS / "scan.pdf", tmp_path / "scan.pdf")
    (tmp_path / "good.md").write_text("A good document about Telegram.\n", encoding="utf-8")
    scan = scan_corpus(tmp_path)
    assert [d.doc_id for d in scan.documents] == ["good.md"]
    (warning,) = scan.warnings
    assert warning.path == "scan.pdf" and "no text layer" in warning.reason and "tesseract" in warning.reason


def test_a_pdf_with_one_scanned_page_is_indexed_and_the_page_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pypdf import PdfWriter

    monkeypatch.setattr(ocr, "available", lambda: False)
    writer = PdfWriter()
    writer.append(str(DOCUMENTS / "undated.chromium.pdf"))
    writer.append(str(DOCUMENTS / "scan.pdf"))
    writer.write(tmp_path / "mixed.pdf")
    scan = scan_corpus(tmp_path)
    (document,) = scan.documents
    assert "Many users in Russia kept using the messenger" in document.text and not document.ocr
    (warning,) = scan.warnings
    assert not warning.skipped and "page(s) 2 " in warning.reason and str(warning).startswith("mixed.pdf: ")


def _tesseract_reads(language: str) -> bool:
    if shutil.which("tesseract") is None:
        return False
    import pytesseract

    return language in pytesseract.get_languages(config="")


@pytest.mark.parametrize(
    ("name", "date", "language"), [("scan", "2020-06-18", "eng"), ("scan-ru", "2018-04-16", "rus")]
)
def test_scanned_page_is_read_by_ocr_and_says_so(name: str, date: str, language: str) -> None:
    if not _tesseract_reads(language):
        pytest.skip(
            f"tesseract with {language} is not installed "
            f"(apt-get install tesseract-ocr tesseract-ocr-{language})"
        )
    document = read(f"{name}.pdf")
    assert document.ocr
    source = (DOCUMENTS / f"{name}.txt").read_text(encoding="utf-8").split("\n\n")
    words = normalised(document.text).split()
    source_words = normalised(" ".join(source)).split()
    assert sum(w in words for w in source_words) / len(source_words) >= 0.95
    assert document.date == date
    assert document.page_at(len(document.text) - 2) == 1
    assert_chunks_are_exact_slices(document)


def test_sidecar_overrides_what_the_pdf_says_and_is_not_a_document(tmp_path: Path) -> None:
    shutil.copy(DOCUMENTS / "undated.chromium.pdf", tmp_path / "proxies.pdf")
    (tmp_path / "proxies.pdf.yml").write_text(
        "title: Proxies keep Telegram reachable in Russia\ndate: 2018-04-20\nsource: Example News\n"
        "author: A. Reporter\nurl: https://example.org/proxies\n", encoding="utf-8")
    (tmp_path / "orphan.md.yml").write_text("title: Nothing\n", encoding="utf-8")
    scan = scan_corpus(tmp_path)
    (document,) = scan.documents
    assert (document.title, document.date, document.source, document.author, document.url) == (
        "Proxies keep Telegram reachable in Russia", "2018-04-20", "Example News", "A. Reporter",
        "https://example.org/proxies")
    (warning,) = scan.warnings
    assert warning.path == "orphan.md.yml" and "orphan.md" in warning.reason
    before = document.content_hash
    (tmp_path / "proxies.pdf.yml").write_text("title: Another title\n", encoding="utf-8")
    (changed,) = scan_corpus(tmp_path).documents
    assert changed.content_hash != before  # an edited sidecar makes the next build re-read the file
    assert changed.title == "Another title" and changed.date is None


def test_a_page_ocr_cannot_read_is_named_and_the_rest_indexed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pytesseract

    def fail(*args: object, **kwargs: object) -> str:
        raise pytesseract.TesseractError(1, "Error opening data file eng.traineddata")

    monkeypatch.setattr(ocr, "available", lambda: True)
    monkeypatch.setattr(ocr, "_languages", lambda: "eng")
    monkeypatch.setattr(pytesseract, "image_to_string", fail)
    shutil.copy(DOCUMENTS / "scan.pdf", tmp_path / "scan.pdf")
    shutil.copy(DOCUMENTS / "undated.chromium.pdf", tmp_path / "undated.pdf")
    scan = scan_corpus(tmp_path)
    assert [d.doc_id for d in scan.documents] == ["undated.pdf"]
    (warning,) = scan.warnings
    assert warning.path == "scan.pdf" and "OCR could not read it" in warning.reason
