"""Tokens and passwords never appear in logs, errors, command output or reprs.

Each test hands casebot distinctive fake secrets (through ``.env`` and the environment, as a
deployment does), runs the code path as a user or operator would (the CLI in a subprocess with
``LOG_LEVEL=DEBUG``; the Matrix bot in-process with every logger at DEBUG), and looks for the
secrets, whole or in part, in everything printed or logged. The Matrix paths run against the real
Synapse of tests/adapters/matrix; the Discord login runs against a local stand-in for Discord's HTTP API that
answers 401 like Discord does to a wrong token (no test leaves the machine).
"""

from __future__ import annotations

import asyncio
import dataclasses
import http.server
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Self

import pytest

from bot.service import CaseBot
from bot.settings import Settings, SettingsError
from tests.support import REPO
from tests.support.matrix import RunningBot, unique
from tests.support.synapse_server import Synapse, free_port

DISCORD_TOKEN = "MTA5ODc2NTQzMjEwOTg3NjU0.casebotFAKE.dIsCoRd-SECRET-q7ZxW2"
MATRIX_PASSWORD = "casebot-FAKE-matrix-password-SECRET-k3Wp9"
MATRIX_ACCESS_TOKEN = "syt_Y2FzZWJvdA_casebotFAKEaccess_SECRET_v9JmT4"
SECRETS = (DISCORD_TOKEN, MATRIX_PASSWORD, MATRIX_ACCESS_TOKEN)
QUESTION = "What did the FSB demand from Telegram?"
# discord.py's HTTP client, pointed at a local URL; otherwise exactly ``python -m bot``.
LAUNCH_WITH_DISCORD_API = """
import os, runpy, sys
import discord.http
discord.http.Route.BASE = os.environ["CASEBOT_TEST_DISCORD_API"]
runpy.run_module("bot", run_name="__main__", alter_sys=True)
"""


# -- looking for secrets -----------------------------------------------------------------------------
def fragments(secret: str) -> set[str]:
    """The secret and its distinctive ends: a truncated or partly masked secret is still a leak."""
    return {secret, secret[:16], secret[-12:]}


def leaked(text: str, secrets: Iterable[str]) -> list[str]:
    """The fragments of ``secrets`` that occur in ``text`` (empty: nothing leaked)."""
    return sorted({part for secret in secrets if secret for part in fragments(secret) if part in text})


def logged_text(records: Iterable[logging.LogRecord]) -> str:
    """Every log record as a handler would write it: message, arguments' reprs and traceback."""
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return "\n".join(formatter.format(r) + f" {r.args!r}" for r in records)


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Capture every logger at DEBUG, libraries included (nio, aiohttp, discord)."""
    for name in (None, "nio", "aiohttp", "discord", "bot", "asyncio"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


# -- running the command line ------------------------------------------------------------------------
def cli_env(casebot: CaseBot, **extra: str) -> dict[str, str]:
    """A user's environment for ``python -m bot``: the session's index, DEBUG logs, ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "MATRIX_"))}
    env.update(PYTHONPATH=str(REPO), HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false", LOG_LEVEL="DEBUG",
               CORPUS_DIR=str(casebot.settings.corpus_dir), INDEX_DIR=str(casebot.settings.index_dir))
    env.update(extra)
    return env


def write_env_file(folder: Path, values: Mapping[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / ".env"
    path.write_text("".join(f"{key}={value}\n" for key, value in values.items()), encoding="utf-8")
    return path


def run_cli(cwd: Path, env: dict[str, str], *args: str, launcher: tuple[str, ...] = ("-m", "bot"),
            timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *launcher, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL, check=False)


def assert_no_secret(text: str, secrets: Iterable[str] = SECRETS, where: str = "") -> None:
    found = leaked(text, secrets)
    assert not found, f"secret leaked in {where}: {found}\n{text[-3000:]}"


# -- settings and git --------------------------------------------------------------------------------
def test_settings_repr_str_and_errors_hide_secrets_from_env_file_and_environment(tmp_path: Path) -> None:
    """Secrets read from .env and from the environment are absent from repr/str/format of Settings
    (also of a copy), and from the error about another, invalid setting in the same file."""
    env_file = write_env_file(tmp_path, {"DISCORD_TOKEN": DISCORD_TOKEN, "MATRIX_PASSWORD": MATRIX_PASSWORD})
    settings = Settings.load(env_file, environ={"MATRIX_ACCESS_TOKEN": MATRIX_ACCESS_TOKEN})
    assert (settings.discord_token, settings.matrix_password, settings.matrix_access_token) == SECRETS
    copy = dataclasses.replace(settings, top_k=5)
    for text in (repr(settings), str(settings), f"{settings}", f"{settings!r}", repr(copy), repr([settings])):
        assert_no_secret(text, where="the settings' repr")

    env_file.write_text(env_file.read_text() + "TOP_K=three\n", encoding="utf-8")
    with pytest.raises(SettingsError) as error:
        Settings.load(env_file, environ={"MATRIX_ACCESS_TOKEN": MATRIX_ACCESS_TOKEN})
    assert "TOP_K" in str(error.value)
    assert_no_secret(str(error.value) + repr(error.value), where="a settings error")


def test_env_file_and_session_store_are_git_ignored() -> None:
    """``.env`` (tokens, passwords) and the Matrix session file (an access token) cannot be committed
    by accident: git ignores them, and no .env is tracked."""
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    for path in (".env", "var/matrix/session.json"):
        check = subprocess.run(["git", "check-ignore", "-v", path], cwd=REPO, capture_output=True, text=True,
                               check=False)
        assert check.returncode == 0, f"{path} is not git-ignored: {check.stdout}{check.stderr}"
    tracked = subprocess.run(["git", "ls-files", "--", ".env", "**/.env"], cwd=REPO, capture_output=True,
                             text=True, check=False)
    assert tracked.stdout.strip() == ""


# -- the command line --------------------------------------------------------------------------------
@pytest.mark.slow
def test_index_status_and_ask_print_no_secret(tmp_path: Path, casebot: CaseBot) -> None:
    """``index status`` (text and JSON) and ``ask`` (text, JSON, and a rejected question), with every
    secret set in .env and the environment and logs at DEBUG, print none of them on stdout or stderr."""
    # TOP_K=2 shows that the .env was read (the default is 3 passages).
    write_env_file(tmp_path, {"DISCORD_TOKEN": DISCORD_TOKEN, "MATRIX_PASSWORD": MATRIX_PASSWORD,
                              "TOP_K": "2"})
    env = cli_env(casebot, MATRIX_ACCESS_TOKEN=MATRIX_ACCESS_TOKEN)
    for args in (("index", "status"), ("index", "status", "--json"), ("ask", QUESTION),
                 ("ask", QUESTION, "--json"), ("--verbose", "ask", "")):
        result = run_cli(tmp_path, env, *args)
        assert result.returncode == (1 if args[-1] == "" else 0), (args, result.stderr[-2000:])
        if args[:2] == ("index", "status"):
            assert "documents" in result.stdout
        if args[-1] == "--json" and args[0] == "ask":
            assert len(json.loads(result.stdout)["passages"]) == 2
        assert_no_secret(result.stdout + result.stderr, where=" ".join(args))


class FakeDiscordAPI:
    """A local stand-in for https://discord.com/api/v10: answers every request with Discord's 401
    and records the Authorization headers it received (proof the token was really sent)."""

    def __init__(self) -> None:
        self.authorizations: list[str] = []
        received = self.authorizations

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                received.append(self.headers.get("Authorization", ""))
                body = json.dumps({"message": "401: Unauthorized", "code": 0}).encode()
                self.send_response(401)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_GET

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/v10"

    def __enter__(self) -> Self:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.slow
def test_wrong_discord_token_error_line_hides_the_token(tmp_path: Path, casebot: CaseBot) -> None:
    """``python -m bot run discord`` with a token Discord rejects (HTTP 401) prints the one-line
    error and exits 1; the token was sent to the API, and is nowhere in stdout/stderr at DEBUG."""
    write_env_file(tmp_path, {"DISCORD_TOKEN": DISCORD_TOKEN})
    with FakeDiscordAPI() as api:
        env = cli_env(casebot, CASEBOT_TEST_DISCORD_API=api.url)
        result = run_cli(tmp_path, env, "run", "discord", launcher=("-c", LAUNCH_WITH_DISCORD_API))
    assert result.returncode == 1, result.stderr[-2000:]
    assert "Discord rejected DISCORD_TOKEN" in result.stderr
    assert api.authorizations == [f"Bot {DISCORD_TOKEN}"]
    assert_no_secret(result.stdout + result.stderr, where="run discord (401)")


@pytest.mark.slow
def test_unreachable_discord_error_line_hides_the_token(tmp_path: Path, casebot: CaseBot) -> None:
    """With Discord unreachable (here: a closed local port; under the test runner the network is cut
    off too) ``run discord`` fails within seconds with one line that does not show the token."""
    env = cli_env(casebot, DISCORD_TOKEN=DISCORD_TOKEN,
                  CASEBOT_TEST_DISCORD_API=f"http://127.0.0.1:{free_port()}/api/v10")
    result = run_cli(tmp_path, env, "run", "discord", launcher=("-c", LAUNCH_WITH_DISCORD_API), timeout=120)
    assert result.returncode == 1, result.stderr[-2000:]
    assert "Cannot reach Discord" in result.stderr
    assert_no_secret(result.stdout + result.stderr, where="run discord (unreachable)")


def matrix_env(casebot: CaseBot, server: Synapse, user_id: str, tmp_path: Path,
               **extra: str) -> dict[str, str]:
    return cli_env(casebot, MATRIX_HOMESERVER=server.url, MATRIX_USER_ID=user_id,
                   MATRIX_STORE_DIR=str(tmp_path / "matrix-store"), **extra)


@pytest.mark.slow
def test_matrix_run_with_a_wrong_password_hides_it(
        tmp_path: Path, casebot: CaseBot, synapse: Synapse) -> None:  # noqa: F811 (fixture)
    """``python -m bot run matrix`` refused by the homeserver exits 2 with one error line; the
    password is nowhere in its output at DEBUG."""
    user_id = synapse.register(unique("secretbot"), "the real password")
    env = matrix_env(casebot, synapse, user_id, tmp_path, MATRIX_PASSWORD=MATRIX_PASSWORD)
    result = run_cli(tmp_path, env, "run", "matrix")
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Check MATRIX_USER_ID and MATRIX_PASSWORD" in result.stderr
    assert_no_secret(result.stdout + result.stderr, where="run matrix (wrong password)")


def wait_for_line(path: Path, text: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while text not in path.read_text(errors="replace"):
        assert process.poll() is None, f"the bot exited early:\n{path.read_text(errors='replace')[-3000:]}"
        assert time.monotonic() < deadline, f"no {text!r} after {timeout:.0f} s"
        time.sleep(0.2)


@pytest.mark.slow
def test_matrix_run_logs_neither_password_nor_issued_token(
        tmp_path: Path, casebot: CaseBot, synapse: Synapse) -> None:  # noqa: F811 (fixture)
    """A Matrix bot that logs in with its password, listens and is stopped (SIGTERM), with logs at
    DEBUG: neither the password nor the access token the homeserver issued appear in its output."""
    user_id = synapse.register(unique("secretbot"), MATRIX_PASSWORD)
    env = matrix_env(casebot, synapse, user_id, tmp_path, MATRIX_PASSWORD=MATRIX_PASSWORD)
    output = tmp_path / "output.log"
    with open(output, "wb") as sink:
        process = subprocess.Popen([sys.executable, "-m", "bot", "run", "matrix"], cwd=tmp_path, env=env,
                                   stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT)
    try:
        wait_for_line(output, "is listening", process, timeout=180)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    issued = json.loads((tmp_path / "matrix-store" / "session.json").read_text())["access_token"]
    assert issued.startswith("syt_")
    assert_no_secret(output.read_text(errors="replace"), (MATRIX_PASSWORD, issued), where="run matrix")


# -- the Matrix bot in-process, every logger at DEBUG ------------------------------------------------
def assert_nothing_leaked(caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str],
                          secrets: Iterable[str], where: str) -> None:
    secrets = tuple(secrets)
    captured = capfd.readouterr()
    assert_no_secret(caplog.text, secrets, where=f"{where}: caplog")
    assert_no_secret(logged_text(caplog.records), secrets, where=f"{where}: log records")
    assert_no_secret(captured.out + captured.err, secrets, where=f"{where}: stdout/stderr")


async def test_matrix_bad_password_is_not_logged(start_bot, debug_logs, capfd) -> None:  # noqa: F811
    """The bad-credentials error (exit 2) and everything logged around it omit the password."""
    handle: RunningBot = await start_bot(wait=False, matrix_password=MATRIX_PASSWORD)
    assert await asyncio.wait_for(handle.task, 30) == 2
    assert any("MATRIX_PASSWORD" in r.getMessage() for r in debug_logs.records if r.levelno >= logging.ERROR)
    assert_nothing_leaked(debug_logs, capfd, [MATRIX_PASSWORD], "bad password")


async def test_matrix_rejected_access_token_is_not_logged(
        start_bot, debug_logs, capfd) -> None:  # noqa: F811 (fixture)
    """A token the homeserver rejects (sent with every request nio makes) appears in no log line."""
    handle: RunningBot = await start_bot(wait=False, matrix_password="",
                                         matrix_access_token=MATRIX_ACCESS_TOKEN)
    assert await asyncio.wait_for(handle.task, 30) == 2
    assert any("rejected MATRIX_ACCESS_TOKEN" in r.getMessage() for r in debug_logs.records)
    assert_nothing_leaked(debug_logs, capfd, [MATRIX_ACCESS_TOKEN], "rejected token")


async def test_matrix_unreachable_homeserver_logs_no_credentials(
        start_bot, debug_logs, capfd) -> None:  # noqa: F811 (fixture)
    """While the homeserver is unreachable the bot retries and logs why, without its credentials."""
    for token in (MATRIX_ACCESS_TOKEN, ""):
        handle: RunningBot = await start_bot(wait=False, matrix_homeserver=f"http://127.0.0.1:{free_port()}",
                                             matrix_password=MATRIX_PASSWORD, matrix_access_token=token)
        await asyncio.sleep(1.5)
        assert not handle.task.done()
        assert await handle.stop() == 0
    assert sum("Cannot reach the Matrix homeserver" in r.getMessage() for r in debug_logs.records) >= 2
    assert_nothing_leaked(debug_logs, capfd, [MATRIX_PASSWORD, MATRIX_ACCESS_TOKEN], "unreachable homeserver")


async def test_matrix_login_and_answer_log_neither_password_nor_issued_token(
        synapse: Synapse, start_bot, people, debug_logs, capfd) -> None:  # noqa: F811 (fixtures)
    """A full session at DEBUG (password login, sync, a question answered, stop): neither the
    password nor the access token the homeserver issued is in any log record or on stderr."""
    user_id = synapse.register(unique("secretbot"), MATRIX_PASSWORD)
    bot: RunningBot = await start_bot(matrix_user_id=user_id, matrix_password=MATRIX_PASSWORD)
    alice = await people("alice")
    room_id = await alice.create_room(invite=(bot.user_id,), direct=True)
    await alice.membership(room_id, bot.user_id, "join")
    reply = await alice.reply_to(await alice.send(room_id, QUESTION))
    assert '<blockquote dir="auto">' in reply["content"]["formatted_body"]
    issued = bot.bot.store.session.access_token
    assert await bot.stop() == 0
    assert issued and any(r.name.startswith("nio") for r in debug_logs.records)  # nio did log at DEBUG
    assert_nothing_leaked(debug_logs, capfd, [MATRIX_PASSWORD, issued], "login and answer")

