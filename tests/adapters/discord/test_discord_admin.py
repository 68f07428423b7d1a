"""/reindex permissions, cooldowns, errors, unsynced commands, sharding and long answers."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from pathlib import Path

import discord
import pytest
import simcord

from bot.adapters.discord.commands import ADMIN_ONLY
from bot.adapters.discord.run import sync_tree
from bot.render.wording import APOLOGY
from bot.service import CaseBot
from tests.support.discord import run, QUESTION, World, make_world
from tests.support.discord_helpers import assert_within_discord_limits, custom_ids, parse_description

pytestmark = pytest.mark.slow

NEW_DOC = """---
title: "Durov on the key demand"
date: 2017-10-16
source: "Interview"
url: https://example.org/durov
---

Pavel Durov said the platypus sanctuary in Perth had nothing to do with encryption keys.
"""


def long_document() -> str:
    sentence = ("The court file says Telegram was told to hand the FSB the encryption keys that decrypt "
                "the messages of its users, and Telegram refused to hand over the keys. ")
    paragraphs = [f"Part {n}. " + sentence * 8 for n in range(14)]
    return (
        '---\ntitle: "The encryption keys file"\ndate: 2018-04-13\n---\n\n' + "\n\n".join(paragraphs) + "\n"
    )


async def test_reindex_is_for_administrators_only(
        make_casebot: Callable[..., CaseBot], make_bot: Callable[..., discord.Client],
        caplog: pytest.LogCaptureFixture) -> None:
    service = make_casebot()
    async with run(make_bot(service, discord_admin_ids=("999",))) as env:
        world = await make_world(env)
        with caplog.at_level(logging.WARNING, logger="bot.adapters.discord.commands"):
            refused = await world.alice.slash(world.channel, "reindex")
        assert refused.ephemeral and refused.response.content == ADMIN_ONLY
        assert any(
            "refused /reindex" in r.message and str(world.alice.id) in r.message for r in caplog.records
        )

        # An administrator adds a document and rebuilds; the new document is then answered from.
        (service.settings.corpus_dir / "durov.md").write_text(NEW_DOC, encoding="utf-8")
        accepted = await world.admin.slash(world.channel, "reindex")
        assert accepted.ephemeral and "Rebuilding the index in the background" in accepted.response.content
        [report] = accepted.followups
        assert report.ephemeral and report.content.startswith("Index rebuilt:")
        result = await world.bob.slash(
            world.channel, "ask", question="What about the platypus sanctuary in Perth?"
        )
        assert "Durov on the key demand" in result.response.embeds[0].title
        assert result.response.embeds[0].url.startswith("https://example.org/durov#:~:text=")  # the quote


async def test_reindex_by_configured_admin_id_and_while_a_rebuild_runs(
        make_casebot: Callable[..., CaseBot], make_bot: Callable[..., discord.Client],
        monkeypatch: pytest.MonkeyPatch) -> None:
    service = make_casebot()
    bot = make_bot(service)
    async with run(bot) as env:
        world = await make_world(env)
        bot.settings = dataclasses.replace(bot.settings, discord_admin_ids=(str(world.bob.id),))
        monkeypatch.setattr(CaseBot, "rebuilding", property(lambda self: True))
        busy = await world.bob.slash(world.channel, "reindex")
        assert busy.ephemeral and "already running" in busy.response.content
        # ... and questions are still answered meanwhile.
        result = await world.alice.slash(world.channel, "ask", question=QUESTION)
        assert result.response.embeds


async def test_cooldown_answers_politely_and_only_for_that_user(
        casebot: CaseBot, make_bot: Callable[..., discord.Client]) -> None:
    async with run(make_bot(casebot, rate_limit_per_minute=2)) as env:
        world = await make_world(env)
        for _ in range(2):
            assert (await world.alice.slash(world.channel, "ask", question=QUESTION)).response.embeds
        slowed = await world.alice.slash(world.channel, "ask", question=QUESTION)
        assert slowed.ephemeral and "Please ask again in" in slowed.response.content
        assert "2 questions in the last minute" in slowed.response.content
        # Told once already: a mention now gets a quiet ⏳ instead of a message (bot.conversation).
        mention = await world.alice.send(world.channel, f"{env.bot.user.mention} {QUESTION}")
        assert world.channel.last_message.id == mention.id
        stored = env.backend.get_message(world.channel.id, mention.id)
        assert [getattr(r.emoji, "name", r.emoji) for r in stored.reactions] == ["⏳"]
        assert (await world.bob.slash(world.channel, "ask", question=QUESTION)).response.embeds


async def test_an_error_inside_a_command_is_an_apology_and_a_log_line(
    world: World, casebot: CaseBot, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    async def broken_async(*args: object, **kwargs: object) -> None:
        broken()

    monkeypatch.setattr(casebot, "sources", broken)
    monkeypatch.setattr(casebot, "ask", broken)
    monkeypatch.setattr(casebot, "ask_async", broken_async)
    with caplog.at_level(logging.ERROR):
        sources = await world.alice.slash(world.channel, "sources")
        asked = await world.alice.slash(world.channel, "ask", question=QUESTION)
        await world.alice.send(world.channel, f"{world.env.bot.user.mention} {QUESTION}")
    assert sources.ephemeral and sources.response.content == APOLOGY
    # After the public defer, Discord shows the apology in place of "thinking…".
    assert asked.response.content == APOLOGY and not asked.response.embeds
    assert "Sorry, something went wrong" in world.channel.last_message.content
    logged = [r.getMessage() for r in caplog.records]
    assert any("/sources failed" in m and "disk on fire" in m for m in logged)
    assert any("/ask failed" in m for m in logged)
    assert any("answering message" in m for m in logged)
    # /sources reached discord.py's error handler (seen, and acknowledged); /ask and the mention were
    # handled by bot.conversation's policy.
    assert len([e for e in world.env.errors if "disk on fire" in str(e)]) >= 1


async def test_commands_are_not_synced_on_start(simcord_env: simcord.Env) -> None:
    world = await make_world(simcord_env, sync=False)
    assert not [r for r in simcord_env.http_requests if r.method == "PUT" and r.path.endswith("/commands")]
    with pytest.raises(simcord.SetupError, match="never synced"):
        await world.alice.slash(world.channel, "ask", question=QUESTION)

    synced = await sync_tree(simcord_env.bot, guild_id=world.guild.id)  # `discord sync --guild ID`
    assert sorted(c.name for c in synced) == ["add", "ask", "reindex", "remove", "sources"]
    assert (await world.alice.slash(world.channel, "ask", question=QUESTION)).response.embeds


async def test_sharded_bot_answers_on_every_shard(
    casebot: CaseBot, make_bot: Callable[..., discord.Client]
) -> None:
    bot = make_bot(casebot, discord_shard_count=2)
    assert isinstance(bot, discord.AutoShardedClient) and bot.shard_count == 2
    async with run(bot) as env:
        for shard in (0, 1):
            guild = env.create_guild(f"Guild {shard}", shard_id=shard)
            channel = guild.create_text_channel("general")
            member = guild.add_member(env.create_user(f"user{shard}"))
            if shard == 0:
                await sync_tree(bot)
            result = await member.slash(channel, "ask", question=QUESTION)
            assert result.response.embeds
            assert bot.get_guild(guild.id).shard_id == shard


async def test_a_long_answer_is_split_into_followups_within_every_limit(
    make_casebot: Callable[..., CaseBot], make_bot: Callable[..., discord.Client], tmp_path: Path
) -> None:
    service = make_casebot({"keys-file.md": long_document()}, top_k=10)
    async with run(make_bot(service)) as env:
        world = await make_world(env)
        question = "Did Telegram hand the FSB the encryption keys?"
        result = await world.alice.slash(world.channel, "ask", question=question)
        messages = [result.response, *result.followups]
        answer = service.ask(question)
        assert len(answer.passages) >= 6
        assert len(messages) >= 2  # more than one message's worth of quotes
        for message in messages:
            assert_within_discord_limits(message.content, message.embeds)
        embeds = [e for m in messages for e in m.embeds]
        assert len(embeds) == len(answer.passages)
        for n, (embed, passage) in enumerate(zip(embeds, answer.passages), start=1):
            assert embed.title.startswith(f"[{n}] ")
            assert parse_description(embed.description)[0] == passage.text  # whole, verbatim quotes
        assert len(custom_ids(messages[-1].components)) == 2
        assert all(not custom_ids(m.components) for m in messages[:-1])
