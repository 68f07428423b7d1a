"""Hostile files dropped into the corpus (issue 25): each gets one warning naming it and the limit or
the reason, the rest of the corpus still answers, what was indexed before is kept, and the build
stays far under 2 GB. Names are data: no file name can break a line or lay itself out backwards."""

from __future__ import annotations

import os
import shutil
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.answer import Answer
from bot.render import discord as discord_render, matrix as matrix_render
from bot.render.terminal import render_answer
from bot.service import CaseBot
from index.ingest.documents import scan_corpus
from index.types import Passage
from tests.support import ARTICLE, settings_for
from tests.support.hostile import EVIL_NAME, build_as_nobody, make_hostile_corpus

GIB = 1 << 30
# What must never reach a warning, a log line or an attribution from a name.
HIDDEN = {chr(c) for c in range(0x20)} | {"\x7f", "\u061c", "\u200e", "\u200f", "\u2028", "\u2029"} | {
    chr(c) for c in range(0x202A, 0x202F)} | {chr(c) for c in range(0x2066, 0x206A)}

needs_root = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                                reason="builds as user nobody (setpriv), which needs root")


@pytest.fixture
def hostile_root() -> Path:
    """A folder user nobody can reach (pytest's tmp_path is private to root)."""
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="casebot-hostile-"))
    root.chmod(0o755)
    yield root
    (root / "corpus" / "locked").chmod(0o755) if (root / "corpus" / "locked").exists() else None
    shutil.rmtree(root, ignore_errors=True)


@needs_root
def test_each_hostile_file_gets_one_warning_and_the_rest_answers_in_bounded_memory(
    hostile_root: Path, fast_models, fast_reranker  # noqa: ANN001
) -> None:
    corpus = hostile_root / "corpus"
    corpus.mkdir()
    shutil.copy(ARTICLE, corpus / ARTICLE.name)
    first, _ = build_as_nobody(hostile_root, {})  # the article alone, indexed before the hostile files
    assert first["documents"] == 1 and first["warnings"] == []

    cases = make_hostile_corpus(corpus)
    report, peak = build_as_nobody(hostile_root, {"MAX_PDF_PAGES": "5"})

    warnings = report["warnings"]
    for case in cases:
        said = [w for w in warnings if w.split(": ", 1)[0].split(" ", 1)[-1] == case.path]
        assert len(said) == 1 and case.words in said[0], (case, warnings)
    assert len(warnings) == len(cases)  # one each, nothing else
    logged = [line for line in report["stderr"].splitlines() if line.strip()]
    assert sorted(logged) == sorted(warnings)  # each said once, each on one line
    assert peak < 2 * GIB, f"peak resident memory {peak / GIB:.2f} GiB"

    bot = CaseBot(settings_for(hostile_root), fast_models.replace(reranker=fast_reranker))
    bot.open(build_if_missing=False)
    documents = {s.doc_id for s in bot.sources()}
    assert ARTICLE.name in documents and EVIL_NAME in documents  # nothing indexed before is lost
    assert "long.pdf" in documents and "export.json#9999" in documents
    assert "export.json#10000" not in documents
    answer = bot.ask("How many people in Iran use Telegram?")
    assert answer.answered and answer.passages[0].doc_id == ARTICLE.name
    evil = bot.ask("When was Telegram blocked in Russia in April 2018?")
    shown_answer = render_answer(evil)
    assert "evil\\nname \\u202egnp.exe" in shown_answer and not HIDDEN & set(shown_answer) - {"\n"}
    bot.close()


NAME_CHARS = string.ascii_letters + "\n\r\t\x1b\x07\u202e\u202d\u2066\u2067\u200f\u2028 .-_éДش中"


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stem=st.text(alphabet=NAME_CHARS, min_size=1, max_size=24).filter(
    lambda n: "/" not in n and not n.startswith(".")))
def test_no_file_name_can_break_a_line_or_reverse_itself_anywhere_it_is_shown(tmp_path_factory, stem) -> None:  # noqa: ANN001
    folder = tmp_path_factory.mktemp("names")
    (folder / f"{stem}.md").write_text("Telegram answers.\n", encoding="utf-8")
    (folder / f"{stem}.bin").write_bytes(b"\0")
    scan = scan_corpus(folder)
    for warning in scan.warnings:
        assert not HIDDEN & set(str(warning)), str(warning)
    (document,) = scan.documents
    passage = Passage(document.doc_id, document.title, None, stem, f"https://example.org/{stem}", 1, None,
                      document.text, 0, len(document.text), 0, 8, 1.0)
    answer = Answer("q", True, (passage,))
    (attribution,) = [line for line in render_answer(answer).splitlines() if line.startswith("    — ")]
    assert not HIDDEN & set(attribution) and "\ufffd" not in attribution  # escaped, not blotted out
    for embed in (discord_render.render_passage(passage, 1),):
        assert not HIDDEN & set(embed.title + embed.footer)
    rendered = matrix_render.render_answer(answer)
    assert not HIDDEN & set(matrix_render.attribution(passage)) and "\u202e" not in rendered.body
