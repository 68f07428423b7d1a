"""The same questions asked of the Markdown sources and of their PDFs find the same passages, and an
answer from OCR'd text says so in its attribution."""

from __future__ import annotations

import shutil
from collections.abc import Callable

import pytest

from bot.render import discord, matrix, terminal
from bot.service import CaseBot
from index.types import Passage
from tests.support.documents import DOCUMENTS, normalised

SOURCES = {
    "blocking-april-2018.md": "blocking-april-2018.chromium.pdf",
    "iran-ban-2018.md": "iran-ban-2018.libreoffice.pdf",
}
QUESTIONS = [
    "Why did Roskomnadzor ask the court to block Telegram?",
    "What happened to websites that had nothing to do with Telegram?",
    "How did people in Russia keep using the messenger?",
    "What did the protesters throw during the rally in Moscow?",
    "Why did the court in Tehran block Telegram?",
    "Which domestic messenger did Iranian officials promote?",
    "What did the minister of communications say about the block?",
    "When did Roskomnadzor drop its demand?",
]


def test_markdown_and_pdf_corpora_give_the_same_top_passage(make_casebot: Callable[..., CaseBot]) -> None:
    from_markdown = make_casebot({name: (DOCUMENTS / name).read_text(encoding="utf-8") for name in SOURCES},
                                 with_article=False)
    from_pdf = make_casebot(
        {pdf: (DOCUMENTS / pdf).read_bytes() for pdf in SOURCES.values()}, with_article=False
    )
    for question in QUESTIONS:
        md_top = from_markdown.ask(question, top_k=1).passages[0]
        pdf_top = from_pdf.ask(question, top_k=1).passages[0]
        assert normalised(pdf_top.text) == normalised(md_top.text), question
        assert SOURCES[md_top.doc_id] == pdf_top.doc_id and pdf_top.page is not None


def test_ocr_is_named_in_every_renderers_attribution() -> None:
    text = "Roskomnadzor said today that it was lifting its demand."
    passage = Passage(
        "scan.pdf", "Scan", "2020-06-18", None, None, 2, 1, text, 0, len(text), 0, len(text), 0.9, ocr=True
    )
    assert "(OCR)" in terminal.attribution(passage)
    assert "(OCR)" in matrix.attribution(passage)
    assert "(OCR)" in discord.render_passage(passage, 1).title
    plain = Passage("a.pdf", "A", None, None, None, 2, 1, text, 0, len(text), 0, len(text), 0.9)
    assert "OCR" not in terminal.attribution(plain) + matrix.attribution(plain)


@pytest.mark.skipif(
    shutil.which("tesseract") is None, reason="tesseract is not installed (apt-get install tesseract-ocr)"
)
def test_answer_from_a_scanned_page_says_it_came_from_ocr(make_casebot: Callable[..., CaseBot]) -> None:
    bot = make_casebot({"scan.pdf": (DOCUMENTS / "scan.pdf").read_bytes()})
    answer = bot.ask("When did Roskomnadzor lift its demand to restrict Telegram?", top_k=1)
    (passage,) = answer.passages
    assert passage.doc_id == "scan.pdf" and passage.ocr and passage.date == "2020-06-18"
    assert answer.to_json()["passages"][0]["ocr"] is True


def test_a_rebuild_does_not_read_an_unchanged_pdf_again(
    tmp_path, fast_models, monkeypatch: pytest.MonkeyPatch
) -> None:
    from index import build
    from index.ingest.readers import pdf
    from index.store.files import IndexStore

    calls: list[int] = []
    read_layout = pdf.read_layout
    monkeypatch.setattr(pdf, "read_layout",
                        lambda raw, *rest: calls.append(len(raw)) or read_layout(raw, *rest))
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(DOCUMENTS / "iran-ban-2018.libreoffice.pdf", corpus / "iran.pdf")
    store = IndexStore(tmp_path / "index")
    build.build_index(corpus, store, fast_models)
    assert len(calls) == 1
    again = build.build_index(corpus, store, fast_models)
    assert again.up_to_date and len(calls) == 1  # layout analysis (and OCR) run once per file version
    (corpus / "iran.pdf.yml").write_text("source: Example Courts\n", encoding="utf-8")
    changed = build.build_index(corpus, store, fast_models)
    assert changed.changed == ("iran.pdf",) and len(calls) == 2
    (document,) = store.load(fast_models).documents
    assert (
        document.source == "Example Courts" and document.page_at(document.text.index("Some officials")) == 2
    )
