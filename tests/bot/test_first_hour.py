"""The first hour at the command line (issue 25): one line per warning, summaries that say what they
measure, progress while models load and while `eval` runs, the program called casebot."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from index import build, passes
from index.store.files import IndexStore
from tests.support import ARTICLE, QUESTION, make_corpus


def test_a_build_says_each_warning_once_and_a_summary_of_the_whole_command(workdir: Path, cli,  # noqa: ANN001
                                                                          caplog) -> None:  # noqa: ANN001
    (workdir / "corpus" / "notes.txt").write_bytes(b"\x00binary")
    with caplog.at_level(logging.WARNING):
        result = cli(workdir, "index", "build")
    assert result.returncode == 0
    logged = [r.getMessage() for r in caplog.records if "notes.txt" in r.getMessage()]
    assert len(logged) == 1 and "looks binary" in logged[0]  # the log line (on stderr) is the one line
    assert "notes.txt" not in result.stderr + result.stdout  # not printed a second time
    (summary,) = result.stdout.splitlines()
    assert "1 skipped; built in " in summary and " s in all" in summary


def test_eval_says_how_many_questions_it_has_asked(workdir: Path, cli) -> None:  # noqa: ANN001
    questions = workdir / "questions.jsonl"
    lines = [{"q": QUESTION, "gold": ["criminal case"]}, {"q": "Best cookie recipe?", "kind": "off_topic"}]
    questions.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    result = cli(workdir, "eval", str(questions))
    assert result.returncode == 0
    lines = result.stderr.splitlines()
    assert lines[0].startswith("loading the models") and lines[-1] == "eval: 2 of 2 questions asked"


def test_chat_says_it_is_loading_before_the_blank_wait(tmp_path: Path, cli) -> None:  # noqa: ANN001
    make_corpus(tmp_path / "corpus")
    result = cli(tmp_path, "chat", stdin="How many people in Iran use Telegram?\n")
    assert result.returncode == 0
    assert result.stderr.splitlines()[:2] == [
        "loading the models (5-30 s)…",
        f"no index yet: building it from {tmp_path / 'corpus'} (a few minutes the first time)…"]
    assert "40 million" in result.stdout


def test_usage_lines_name_the_program_casebot(workdir: Path, cli) -> None:  # noqa: ANN001
    for args in (("--help",), ("chat", "--help"), ("index", "build", "--help")):
        assert cli(workdir, *args).stdout.startswith("Usage: casebot ")
    assert "Ctrl-D quits" in cli(workdir, "chat", "--help").stdout


def test_a_build_off_a_terminal_logs_its_progress(tmp_path: Path, fast_models, monkeypatch, caplog) -> None:  # noqa: ANN001
    monkeypatch.setattr(passes, "PROGRESS_EVERY", 0.0)
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / ARTICLE.name).write_text(ARTICLE.read_text(encoding="utf-8"), encoding="utf-8")
    with caplog.at_level(logging.INFO, logger="index.passes"):
        build.build_index(tmp_path / "corpus", IndexStore(tmp_path / "index"), fast_models, progress=False)
    assert any(r.getMessage().startswith("embedding: ") and " of " in r.getMessage() for r in caplog.records)
