"""The Matrix bot follows INDEX_DIR: a build made by another process is answered from without a
restart, and !reindex says a rebuild is running whoever runs it (a real Synapse, real processes)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.render import wording
from tests.support import build_in_another_process, build_lock_held_elsewhere, wait_until
from tests.support.matrix import direct_chat

pytestmark = pytest.mark.slow

FINE = ("---\ntitle: Court fine\n---\n"
        "A Moscow court fined Telegram 800,000 rubles for refusing to hand over keys.\n")


async def test_a_build_by_another_process_is_answered_from_without_a_restart(
        people, start_bot, make_casebot, caplog: pytest.LogCaptureFixture) -> None:
    core = make_casebot()
    alice = await people("alice")
    bot = await start_bot(core)
    room_id = await direct_chat(alice, bot)
    before = core.searcher

    (core.settings.corpus_dir / "fine.md").write_text(FINE, encoding="utf-8")
    with caplog.at_level(logging.INFO):
        summary = await asyncio.to_thread(build_in_another_process, core.settings.corpus_dir.parent)
        assert "added 1" in summary
        took = await asyncio.to_thread(
            wait_until, lambda: core.searcher.index.path == core.store.current_build(), 5.0
        )
    assert took < 2.5  # polled every second, loaded in a worker thread
    swaps = [
        r for r in caplog.records if r.getMessage().startswith("questions are now answered from index build")
    ]
    assert len(swaps) == 1
    assert before.index.path != core.searcher.index.path

    question_id = await alice.send(room_id, "How much was Telegram fined by the Moscow court?")
    reply = (await alice.reply_to(question_id))["content"]
    assert "800,000 rubles" in reply["body"] and "Court fine" in reply["body"]


async def test_reindex_says_a_rebuild_is_running_when_another_process_builds(
    people, start_bot, make_casebot
) -> None:
    core = make_casebot()
    alice = await people("alice")
    bot = await start_bot(core, matrix_admins=(alice.user_id,))
    room_id = await direct_chat(alice, bot)
    with build_lock_held_elsewhere(core.settings.index_dir):
        asked = await alice.send(room_id, "!reindex")
        assert (await alice.reply_to(asked))["content"]["body"] == wording.REBUILD_RUNNING
    assert not core.rebuilding  # the holder was killed: its lock went with it
