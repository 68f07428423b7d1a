"""The command line run as a user runs it: ``python -m bot`` in another process, with the real models
(tests/bot/test_cli.py covers the rest of the command line in-process, with the stand-ins)."""

from __future__ import annotations

import json
from pathlib import Path


from tests.support import QUESTION, assert_passages_are_document_slices


def test_first_ask_builds_the_index_and_answers_with_the_real_models(workdir: Path, cli_process) -> None:  # noqa: ANN001
    result = cli_process(workdir, "ask", QUESTION, "--json")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["answered"] is True and len(answer["passages"]) == 3
    assert_passages_are_document_slices(answer, workdir / "corpus")
    assert "criminal case" in answer["passages"][0]["highlight"]
    assert (workdir / "index" / "current").is_symlink()
    status = json.loads(cli_process(workdir, "index", "status", "--json").stdout)
    assert "all-MiniLM-L6-v2" in status["model"] and status["dimension"] == 384


def test_human_output_shows_the_quote_the_models_find(workdir: Path, cli_process) -> None:  # noqa: ANN001
    result = cli_process(workdir, "ask", "How many people in Iran use Telegram?", "--top-k", "1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("[1] “Around 40 million people in Iran use Telegram")
    assert result.stderr == ""


def test_one_question_is_read_by_torch_and_exports_nothing(workdir: Path, cli_process) -> None:  # noqa: ANN001
    """`ask "Q"` answers one question and exits: loading onnxruntime (and, the first time, exporting
    the model for it, ~10 s) would cost more than it saves, so it must not happen (cold start)."""
    cache = workdir / "models-one-question"
    result = cli_process(workdir, "ask", QUESTION, "--json", env={"MODEL_CACHE_DIR": str(cache)})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["answered"] is True
    assert not cache.exists() or not any(cache.iterdir())


