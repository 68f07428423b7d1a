"""Hostile input at the core: arbitrary files, odd names, huge paragraphs, arbitrary questions."""

from __future__ import annotations

import string
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.answer import Answer
from bot.render.terminal import render_answer
from bot.service import CaseBot
from index.ingest.chunk import chunk_document
from index.errors import QuestionRejected
from index.ingest.documents import MAX_FILE_BYTES, scan_corpus
from index.types import Document, Passage

NAME_CHARS = string.ascii_letters + string.digits + " -_.,'()[]{}!@#$%^&+=~`;éüñ中文ДЖ\u200b\u202e"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    files=st.dictionaries(
        st.text(alphabet=NAME_CHARS, min_size=1, max_size=30).filter(
            lambda n: n.strip(". ") == n and "/" not in n
        ),
        st.tuples(st.sampled_from([".md", ".txt", ".html", ".pdf", ".bin"]), st.binary(max_size=2000)),
        max_size=6,
    )
)
def test_any_files_are_either_indexed_or_named_in_a_warning(tmp_path_factory, files) -> None:
    folder = tmp_path_factory.mktemp("corpus")
    names = []
    for stem, (suffix, content) in files.items():
        (folder / (stem + suffix)).write_bytes(content)
        names.append(stem + suffix)
    scan = scan_corpus(folder)  # never raises
    seen = [d.doc_id for d in scan.documents] + [w.path for w in scan.warnings]
    assert sorted(seen) == sorted(n for n in names if not n.startswith("."))
    for document in scan.documents:
        for chunk in chunk_document(document):
            assert document.text[chunk.start : chunk.end] == chunk.text


def test_invalid_utf8_with_lone_surrogates_is_skipped_by_name(tmp_path: Path) -> None:
    (tmp_path / "good.md").write_text("Telegram text.\n", encoding="utf-8")
    (tmp_path / "surrogate.md").write_bytes(b"Lone surrogate: \xed\xa0\x80 here.\n")
    scan = scan_corpus(tmp_path)
    assert [d.doc_id for d in scan.documents] == ["good.md"]
    assert [w.path for w in scan.warnings] == ["surrogate.md"] and "UTF-8" in scan.warnings[0].reason


def test_huge_file_is_skipped_and_megabyte_paragraph_is_chunked_exactly(tmp_path: Path) -> None:
    with open(tmp_path / "huge.txt", "wb") as fh:
        fh.truncate(MAX_FILE_BYTES + 1)
    paragraph = ("Durov said the FSB asked for keys " * 30_000).strip()  # ~1 MB, one paragraph
    (tmp_path / "long.md").write_text(paragraph + "\n", encoding="utf-8")
    scan = scan_corpus(tmp_path)
    assert [w.path for w in scan.warnings] == ["huge.txt"] and "too large" in scan.warnings[0].reason
    (document,) = scan.documents
    chunks = chunk_document(document)
    assert len(chunks) > 100
    assert all(document.text[c.start : c.end] == c.text for c in chunks)
    assert "".join(c.text.replace(" ", "") for c in chunks) == paragraph.replace(" ", "")


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=300))
def test_any_question_is_answered_verbatim_or_rejected(fast_casebot: CaseBot, question: str) -> None:
    casebot = fast_casebot
    try:
        answer = casebot.ask(question)
    except QuestionRejected as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    documents = {d.doc_id: d for d in casebot.searcher.documents}
    for passage in answer.passages:
        assert documents[passage.doc_id].text[passage.start : passage.end] == passage.text
        assert passage.highlight and passage.highlight in passage.text
    render_answer(answer)


def test_terminal_output_cannot_be_rewritten_by_escape_sequences_in_the_corpus() -> None:
    hostile = "Evil \x1b[2J\x1b]0;pwned\x07 text \x9b31m here."
    passage = Passage(
        "d.md", "T\x1b[31m", None, None, None, 1, None, hostile, 0, len(hostile), 0, len(hostile), 1.0
    )
    for color in (False, True):
        output = render_answer(Answer("q", True, (passage,)), color=color)
        assert (
            "\x1b[2J" not in output
            and "\x1b]" not in output
            and "\x07" not in output
            and "\x9b" not in output
        )
        assert "\x1b[31m" not in output
    # A decline shows document titles (suggestions) and names from the question.
    output = render_answer(Answer("q", False, (), ("T\x1b[2J",), unknown_names=("Sig\x1b]0;x\x07",)))
    assert "\x1b" not in output and "\x07" not in output


def test_documents_with_every_kind_of_unicode_keep_exact_offsets() -> None:
    text = ("مرحبا بالعالم. Zero\u200bwidth and e\u0301 combining.\n\n"
            "\u202eRTL override. NUL-free 🙂 emoji! 日本語の文。\n")
    document = Document("u.md", "u", text, "h")
    for chunk in chunk_document(document):
        assert text[chunk.start : chunk.end] == chunk.text
        for s, e in chunk.sentences:
            assert text[s:e] and not text[s].isspace()
