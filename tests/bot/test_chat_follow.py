"""`chat` follows INDEX_DIR: after a build by another process, the next question is answered from it."""

from __future__ import annotations

import subprocess

import pytest

from index.models.models import Models
from index.build import build_index
from index.store.files import IndexStore
from tests.support import REPO, build_in_another_process, cli_command, make_corpus

pytestmark = pytest.mark.slow

FINE = ("---\ntitle: Court fine\n---\n"
        "A Moscow court fined Telegram 800,000 rubles for refusing to hand over keys.\n")


def test_chat_answers_from_a_build_made_by_another_process(tmp_path, models: Models) -> None:
    build_index(make_corpus(tmp_path / "corpus"), IndexStore(tmp_path / "index"), models)
    command, env = cli_command(tmp_path, "-v", "chat", env={"MODEL_CACHE_DIR": str(REPO / "var" / "models")})
    chat = subprocess.Popen(command, cwd=tmp_path, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert chat.stdin is not None and chat.stdout is not None and chat.stderr is not None
    try:
        chat.stdin.write("Why did Iran open a criminal case against Pavel Durov?\n")
        chat.stdin.flush()
        # answered: it runs
        assert any("— Iran Joins Russia" in line for line in iter(chat.stdout.readline, ""))

        (tmp_path / "corpus" / "fine.md").write_text(FINE, encoding="utf-8")
        build_in_another_process(tmp_path)
        swapped = next(
            line
            for line in iter(chat.stderr.readline, "")
            if "questions are now answered from index build" in line
        )
        assert "(2 documents" in swapped
        out, _ = chat.communicate("How much was Telegram fined by the Moscow court?\n", timeout=120)
    finally:
        chat.kill()
    assert "800,000 rubles" in out and "— Court fine" in out
