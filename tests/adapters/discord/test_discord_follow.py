"""The Discord bot (under simcord) follows INDEX_DIR: a build made by another process is answered
from without a restart, and /reindex says a rebuild is running whoever runs it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import discord
import pytest

from bot.service import CaseBot
from tests.support import build_in_another_process, build_lock_held_elsewhere, wait_until
from tests.support.discord import make_world, run

pytestmark = pytest.mark.slow

FINE = ("---\ntitle: Court fine\n---\n"
        "A Moscow court fined Telegram 800,000 rubles for refusing to hand over keys.\n")


async def test_a_build_by_another_process_is_answered_from_without_a_restart(
        make_casebot: Callable[..., CaseBot], make_bot: Callable[..., discord.Client]) -> None:
    service = make_casebot()
    async with run(make_bot(service)) as env:
        world = await make_world(env)
        (service.settings.corpus_dir / "fine.md").write_text(FINE, encoding="utf-8")
        # Real time, in threads: simcord's clock is virtual, the build and the follower are not.
        await asyncio.to_thread(build_in_another_process, service.settings.corpus_dir.parent)
        await asyncio.to_thread(
            wait_until, lambda: service.searcher.index.path == service.store.current_build(), 5.0
        )
        result = await world.alice.slash(
            world.channel, "ask", question="How much was Telegram fined by the Moscow court?"
        )
        first = result.response.embeds[0]
        assert "800,000 rubles" in first.description and first.title.startswith("[1] Court fine")


async def test_reindex_says_a_rebuild_is_running_when_another_process_builds(
        make_casebot: Callable[..., CaseBot], make_bot: Callable[..., discord.Client]) -> None:
    service = make_casebot()
    async with run(make_bot(service)) as env:
        world = await make_world(env)
        with build_lock_held_elsewhere(service.settings.index_dir):
            busy = await world.admin.slash(world.channel, "reindex")
        assert busy.ephemeral and "already running" in busy.response.content
