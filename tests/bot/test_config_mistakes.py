"""Every configuration mistake is one line on stderr, no traceback, a non-zero exit, and before any
model loads: the child processes below could not load one (HF_HOME points nowhere), and finish
in the time the imports take."""

from __future__ import annotations

import http.server
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.adapters.matrix.run import _first_start_problem
from bot.adapters.matrix.session import SessionStore
from bot.settings import Settings
from tests.support import ARTICLE, REPO

QUICK = 10.0  # seconds: loading the models alone takes 12-22 s


def casebot(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith(("DISCORD_", "MATRIX_", "LOG_LEVEL", "TOP_K"))}
    environment |= {"PYTHONPATH": str(REPO), "CORPUS_DIR": str(root / "corpus"),
                    "INDEX_DIR": str(root / "index"), "HF_HOME": str(root / "no-models"),
                    "HF_HUB_OFFLINE": "1", **(env or {})}
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "bot", *args], cwd=root, env=environment,
                            capture_output=True, text=True, timeout=120)
    assert time.monotonic() - started < QUICK, "it loaded the models first"
    return result


def one_error_line(result: subprocess.CompletedProcess[str], *words: str) -> str:
    assert result.returncode != 0
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "corpus").mkdir()
    shutil.copy(ARTICLE, tmp_path / "corpus" / ARTICLE.name)
    return tmp_path


@pytest.mark.parametrize(("key", "value", "words"), [
    ("LOG_LEVEL", "verbose", ("LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR", "'verbose'")),
    ("TOP_K", "three", ("TOP_K",)),
    ("MAX_PDF_PAGES", "0", ("MAX_PDF_PAGES must be at least 1",)),
])
def test_a_bad_value_is_one_line(root: Path, key: str, value: str, words: tuple[str, ...]) -> None:
    one_error_line(casebot(root, "ask", "Who is Durov?", env={key: value}), "error:", *words)


def test_typos_in_env_are_named_once_with_the_nearest_setting(root: Path) -> None:
    (root / ".env").write_text("DISCORD_TOKN=abc\nTOPK=5\nMATRIX_USERID=@bot:example.org\nEDITOR=vim\n",
                               encoding="utf-8")
    result = casebot(root, "run", "discord")
    lines = result.stderr.splitlines()
    assert lines[:3] == [
        "warning: .env sets DISCORD_TOKN, which is not a casebot setting; did you mean DISCORD_TOKEN?",
        "warning: .env sets TOPK, which is not a casebot setting; did you mean TOP_K?",
        "warning: .env sets MATRIX_USERID, which is not a casebot setting; did you mean MATRIX_USER_ID?",
    ]  # EDITOR is not casebot's: not mentioned
    assert result.returncode != 0 and len(lines) == 4
    assert lines[3].startswith("error: DISCORD_TOKEN is not set")


@pytest.mark.parametrize(("env", "words"), [
    ({}, ("MATRIX_HOMESERVER is not set",)),
    ({"MATRIX_HOMESERVER": "matrix.example.org"}, ("must be a URL",)),
    ({"MATRIX_HOMESERVER": "https://matrix.example.org"}, ("MATRIX_USER_ID and MATRIX_PASSWORD",)),
])
def test_missing_matrix_settings_are_one_line_before_the_models(root: Path, env: dict[str, str],
                                                                words: tuple[str, ...]) -> None:
    one_error_line(casebot(root, "run", "matrix", env=env), "error:", *words)


MATRIX_ACCOUNT = {"MATRIX_USER_ID": "@casebot:example.org", "MATRIX_PASSWORD": "pw"}


@pytest.fixture
def not_matrix() -> Iterator[str]:
    """An HTTP server that is no Matrix homeserver (it answers 404 to everything)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_first_start_on_a_server_that_does_not_speak_matrix_is_one_line(root: Path,
                                                                          not_matrix: str) -> None:
    result = casebot(root, "run", "matrix", env={"MATRIX_HOMESERVER": not_matrix, **MATRIX_ACCOUNT})
    one_error_line(result, "ERROR", "Cannot start the Matrix bot", "does not speak Matrix")
    assert result.returncode == 2


def test_a_first_start_on_a_name_that_does_not_resolve_is_one_line(root: Path) -> None:
    result = casebot(root, "run", "matrix",
                     env={"MATRIX_HOMESERVER": "https://casebot-test.invalid", **MATRIX_ACCOUNT})
    one_error_line(result, "Cannot start the Matrix bot", "cannot be resolved")


def test_a_bot_that_synced_before_retries_through_an_outage_instead(tmp_path: Path) -> None:
    settings = Settings.from_mapping({"MATRIX_HOMESERVER": "https://casebot-test.invalid",
                                      "MATRIX_STORE_DIR": str(tmp_path / "store")})
    assert "cannot be resolved" in (_first_start_problem(settings) or "")
    store = SessionStore(settings.matrix_store_dir)
    store.update(homeserver="https://casebot-test.invalid", next_batch="s1_2")
    assert _first_start_problem(settings) is None  # not asked: the login's backoff retries as before


def test_a_missing_corpus_without_an_index_is_one_line(root: Path) -> None:
    one_error_line(casebot(root, "ask", "Who is Durov?", env={"CORPUS_DIR": str(root / "nowhere")}),
                   "error: The corpus folder", "nowhere", "does not exist")
    one_error_line(casebot(root, "index", "build", env={"CORPUS_DIR": str(root / "nowhere")}),
                   "does not exist")


def test_a_missing_corpus_with_an_index_answers_from_it_with_a_warning(tmp_path: Path, cli) -> None:  # noqa: ANN001
    (tmp_path / "corpus").mkdir()
    shutil.copy(ARTICLE, tmp_path / "corpus" / ARTICLE.name)
    assert cli(tmp_path, "index", "build").returncode == 0
    shutil.rmtree(tmp_path / "corpus")
    result = cli(tmp_path, "ask", "How many people in Iran use Telegram?")
    assert result.returncode == 0 and "40 million" in result.stdout
    assert result.stderr.splitlines() == [f"warning: the corpus folder {tmp_path / 'corpus'} does not exist; "
                                          "answering from the index built before"]


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("mount") is None, reason="mounts a read-only tmpfs")
def test_a_read_only_index_dir_is_one_line_and_keeps_its_index(tmp_path: Path, cli) -> None:  # noqa: ANN001
    (tmp_path / "corpus").mkdir()
    shutil.copy(ARTICLE, tmp_path / "corpus" / ARTICLE.name)
    mount = tmp_path / "index"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mount)]).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        assert cli(tmp_path, "index", "build").returncode == 0
        built = sorted(p.name for p in (mount / "builds").iterdir())
        subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
        for args in (("ask", "Who is Durov?"), ("index", "build"), ("chat",)):
            one_error_line(casebot(tmp_path, *args), "error: INDEX_DIR", "cannot be written")
        assert sorted(p.name for p in (mount / "builds").iterdir()) == built  # nothing lost
        assert (mount / "current").resolve().is_dir()
    finally:
        subprocess.run(["umount", "-l", str(mount)])
