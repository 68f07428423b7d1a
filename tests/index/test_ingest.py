"""Ingestion of every supported format, and of broken files that must be skipped by name."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from index.errors import CorpusError
from index.ingest.documents import scan_corpus
from tests.support import ARTICLE
from tests.support import write_file as write
from tests.support.pdf_maker import make_pdf


def test_article_front_matter_becomes_metadata_and_body_keeps_text(tmp_path: Path) -> None:
    scan = scan_corpus(ARTICLE.parent)
    (doc,) = [d for d in scan.documents if d.doc_id == ARTICLE.name]
    assert doc.title == "Iran Joins Russia’s FSB In Fight Against Internet Freedoms"
    assert doc.date == "2017-09-28"
    assert doc.text.startswith("On September 26 Iranian authorities opened a criminal case")
    assert "Print Friendly" not in doc.text
    assert doc.text in ARTICLE.read_text(encoding="utf-8")  # the body is an exact slice of the file


def test_markdown_and_text_files_with_and_without_front_matter(tmp_path: Path) -> None:
    write(
        tmp_path,
        "a.md",
        "---\ntitle: Alpha\ndate: 2020-01-02\nsource: Example News\nauthor: Ann\n"
        "url: https://example.org/a\n---\nBody of alpha.\n",
    )
    write(tmp_path, "notes/b.txt", "# Heading of beta\n\nBody of beta.\n")
    write(tmp_path, "c.txt", "Plain text, no title.\n")
    docs = {d.doc_id: d for d in scan_corpus(tmp_path).documents}
    assert set(docs) == {"a.md", "notes/b.txt", "c.txt"}
    a = docs["a.md"]
    assert (a.title, a.date, a.source, a.author, a.url) == ("Alpha", "2020-01-02", "Example News", "Ann", "https://example.org/a")
    assert a.text == "Body of alpha.\n"
    assert docs["notes/b.txt"].title == "Heading of beta"
    assert docs["c.txt"].title == "c"
    assert docs["c.txt"].date is None


def test_html_keeps_main_text_and_page_title(tmp_path: Path) -> None:
    html = """<!doctype html><html><head><title>Court filing</title>
    <meta property="article:published_time" content="2017-10-16T09:00:00Z">
    <meta property="og:site_name" content="Example Courts"><link rel="canonical" href="https://example.org/f">
    <script>var tracking = 1;</script><style>p {color: red}</style></head>
    <body><nav>Home | About</nav><header>Site header</header>
    <article><h1>Filing</h1><p>The court fined Telegram <b>800,000 rubles</b>.</p><p>Second paragraph.</p></article>
    <footer>Copyright footer</footer></body></html>"""  # noqa: E501
    write(tmp_path, "f.html", html)
    (doc,) = scan_corpus(tmp_path).documents
    assert doc.title == "Court filing"
    assert doc.date == "2017-10-16"
    assert doc.source == "Example Courts"
    assert doc.url == "https://example.org/f"
    assert "The court fined Telegram 800,000 rubles." in doc.text
    assert "Second paragraph." in doc.text
    for boilerplate in ("tracking", "color: red", "Home | About", "Site header", "Copyright footer"):
        assert boilerplate not in doc.text


def test_pdf_text_is_read_per_page_with_page_numbers(tmp_path: Path) -> None:
    pdf = make_pdf(
        [["First page says Durov left Russia."], ["Second page names Roskomnadzor."]], title="A filing"
    )
    write(tmp_path, "filing.pdf", pdf)
    (doc,) = scan_corpus(tmp_path).documents
    assert doc.title == "A filing"
    assert "Durov left Russia" in doc.text and "Roskomnadzor" in doc.text
    assert doc.page_at(doc.text.index("Durov")) == 1
    assert doc.page_at(doc.text.index("Roskomnadzor")) == 2


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("binary.md", b"\x00\x01\x02binary\x00", "binary"),
        ("latin1.txt", "caf\u00e9 cr\u00e8me".encode("latin-1"), "UTF-8"),
        ("empty.md", "", "no text"),
        ("bad-yaml.md", "---\ntitle: [unclosed\n---\nText.\n", "front matter"),
        ("list-yaml.md", "---\n- a\n- b\n---\nText.\n", "front matter"),
        ("truncated.pdf", make_pdf([["Some text."]])[:60], "PDF"),
        ("image.png", b"\x89PNG\r\n", "unsupported"),
    ],
)
def test_broken_file_is_named_in_a_warning_and_the_rest_is_indexed(
    tmp_path: Path, name: str, content: bytes | str, reason: str
) -> None:
    write(tmp_path, "good.md", "A good document about Telegram.\n")
    write(tmp_path, name, content)
    scan = scan_corpus(tmp_path)
    assert [d.doc_id for d in scan.documents] == ["good.md"]
    (warning,) = scan.warnings
    assert warning.path == name
    assert reason.lower() in warning.reason.lower()
    assert name in str(warning)


def test_symlink_outside_the_corpus_is_not_followed(tmp_path: Path) -> None:
    outside = write(tmp_path / "outside", "secret.md", "Secret text that must not be indexed.\n")
    corpus = tmp_path / "corpus"
    write(corpus, "good.md", "Good text.\n")
    os.symlink(outside, corpus / "link.md")
    os.symlink(tmp_path / "outside", corpus / "linked-dir")
    scan = scan_corpus(corpus)
    assert [d.doc_id for d in scan.documents] == ["good.md"]
    assert [w.path for w in scan.warnings] == ["link.md"]
    assert "outside the corpus" in scan.warnings[0].reason


def test_missing_corpus_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="does not exist"):
        scan_corpus(tmp_path / "nowhere")


def test_windows_line_endings_and_bom_are_normalised(tmp_path: Path) -> None:
    write(tmp_path, "w.txt", "\ufeffFirst paragraph.\r\n\r\nSecond paragraph.\r\n".encode("utf-8"))
    (doc,) = scan_corpus(tmp_path).documents
    assert doc.text == "First paragraph.\n\nSecond paragraph.\n"


def test_broken_sidecar_is_named_and_its_document_indexed_without_it(tmp_path: Path) -> None:
    write(tmp_path, "notes/a.md", "---\ntitle: Alpha\n---\nMoscow, 16 April 2018\n\nBody of alpha.\n")
    write(tmp_path, "notes/a.md.yml", "title: [unclosed\n")
    scan = scan_corpus(tmp_path)
    (doc,) = scan.documents
    assert (doc.title, doc.date) == ("Alpha", "2018-04-16")  # the dateline gives the date the file does not
    (warning,) = scan.warnings
    assert warning.path == "notes/a.md.yml" and not warning.skipped and "YAML" in warning.reason


def test_build_summary_counts_skipped_files_apart_from_files_indexed_with_a_warning() -> None:
    from index.build import BuildReport
    from index.ingest.documents import IngestWarning

    warnings = (
        IngestWarning("a.png", "unsupported file type"),
        IngestWarning("b.pdf", "page(s) 2 …", skipped=False),
    )
    summary = BuildReport(1, 3, 3, 0, warnings=warnings).summary()
    assert "1 skipped" in summary and "1 indexed with a warning" in summary


def test_sidecar_linked_from_outside_the_corpus_is_not_read(tmp_path: Path) -> None:
    outside = write(tmp_path / "outside", "secret.yml", "title: Secret title\n")
    corpus = tmp_path / "corpus"
    write(corpus, "a.md", "Body of alpha.\n")
    os.symlink(outside, corpus / "a.md.yml")
    scan = scan_corpus(corpus)
    (doc,) = scan.documents
    assert doc.title == "a"
    (warning,) = scan.warnings
    assert warning.path == "a.md.yml" and "outside the corpus" in warning.reason


@pytest.mark.parametrize(
    ("first_paragraph", "date"),
    [
        ("Moscow, 13 April 2018", "2018-04-13"),
        ("TEHRAN, April 30, 2018", "2018-04-30"),
        ("Москва, 16 апреля 2018 года", "2018-04-16"),
        ("Updated 2020-06-18", "2020-06-18"),
        (
            "On 16 April 2018 Roskomnadzor began to block the service, "
            "and millions of addresses went with it.",
            None,
        ),
    ],
)
def test_a_dateline_gives_an_undated_file_its_date_but_a_date_in_a_sentence_does_not(
        tmp_path: Path, first_paragraph: str, date: str | None) -> None:
    write(tmp_path, "a.txt", f"{first_paragraph}\n\nBody text about Telegram.\n")
    (doc,) = scan_corpus(tmp_path).documents
    assert doc.date == date


def test_a_text_file_takes_its_title_from_a_first_line_that_reads_as_one(tmp_path: Path) -> None:
    (tmp_path / "fine-2017.txt").write_text("Moscow court fines Telegram\n\nThe court fined Telegram.\n",
                                            encoding="utf-8")
    (tmp_path / "no-title.txt").write_text("The court fined Telegram 800,000 roubles.\n\nMore.\n",
                                           encoding="utf-8")
    titles = {d.doc_id: d.title for d in scan_corpus(tmp_path).documents}
    assert titles == {"fine-2017.txt": "Moscow court fines Telegram", "no-title.txt": "no title"}
