"""Mentions, threads and pings under simcord."""

from __future__ import annotations

from collections.abc import Callable

import discord
import pytest
import simcord

from bot.service import CaseBot
from tests.support.discord import run, QUESTION, World, make_world
from tests.support.discord_helpers import custom_ids

pytestmark = pytest.mark.slow

HOSTILE_DOC = """---
title: "Minutes of the zebra council @everyone"
date: 2018-03-01
source: "<@111111111111111111> newsletter"
---

The zebra council meets every Tuesday in the old mill. @everyone must attend, and <@111111111111111111>
chairs the meeting while @here takes notes; <@&222222222222222222> brings **cake** and ||spoilers||.
"""


def pings(env: simcord.Env, message: discord.Message) -> tuple[list[int], list[int], bool]:
    """Who a stored message actually pinged (users, roles, everyone)."""
    stored = env.backend.get_message(message.channel.id, message.id)
    return stored.ping_user_ids, stored.ping_role_ids, stored.mention_everyone


async def test_mention_gets_the_same_answer_as_a_reply_without_message_content_intent(world: World) -> None:
    bot = world.env.bot
    assert not bot.intents.message_content
    question = await world.alice.send(world.channel, f"{bot.user.mention} {QUESTION}")

    replies = [m for m in world.channel.history() if m.author.id == bot.user.id]
    assert replies and replies[0].reference is not None and replies[0].reference.message_id == question.id
    assert replies[0].content.startswith(f"**Question:** {QUESTION}")
    expected = bot.casebot.ask(QUESTION)
    assert [e.title.split(" — ")[0] for m in replies for e in m.embeds] == \
        [f"[{n}] {p.title}" for n, p in enumerate(expected.passages, start=1)]
    assert len(custom_ids(replies[-1].components)) == 2
    assert pings(world.env, replies[0]) == ([], [], False)  # the reply does not even ping the asker


async def test_messages_not_addressed_to_the_bot_are_ignored(world: World) -> None:
    await world.alice.send(world.channel, "What did the FSB demand from Telegram?")
    await world.alice.send(world.channel, "@everyone look at this")
    assert all(m.author.id == world.alice.id for m in world.channel.history())


async def test_an_empty_mention_is_told_how_to_ask(world: World) -> None:
    await world.alice.send(world.channel, world.env.bot.user.mention)
    assert "The question is empty" in world.channel.last_message.content


async def test_thread_mode_answers_in_a_thread_named_after_the_question(
        casebot: CaseBot, make_bot: Callable[..., discord.Client]) -> None:
    long_question = QUESTION + " And " + "what happened next? " * 10
    async with run(make_bot(casebot, discord_thread_mode=True)) as env:
        world = await make_world(env)
        result = await world.alice.slash(world.channel, "ask", question=long_question)
        [thread] = world.channel.threads
        assert len(thread.name) == 100 and thread.name.endswith("…")
        assert long_question.startswith(thread.name[:-1].rstrip())
        assert "The answer is in the thread below." in result.response.content
        answer = thread.history()
        assert answer[0].content.startswith("**Question:**")
        assert sum(len(m.embeds) for m in answer) == casebot.settings.top_k
        assert not result.followups  # nothing else in the channel

        await world.bob.send(world.channel, f"{env.bot.user.mention} Who runs the FSB?")
        assert {t.name for t in world.channel.threads} == {thread.name, "Who runs the FSB?"}

        # Without the permission to open threads, the answer comes in the channel instead.
        closed = world.guild.create_text_channel(
            "no-threads",
            overwrites={world.guild.me: discord.PermissionOverwrite(create_public_threads=False)},
        )
        result = await world.alice.slash(closed, "ask", question=QUESTION)
        assert not closed.threads
        assert result.response.content.startswith(f"**Question:** {QUESTION}") and result.response.embeds


async def test_corpus_and_question_text_ping_no_one(
        make_casebot: Callable[..., CaseBot], make_bot: Callable[..., discord.Client]) -> None:
    service = make_casebot({"zebra.md": HOSTILE_DOC})
    bot = make_bot(service)
    async with run(bot) as env:
        world = await make_world(env)
        question = "@everyone <@111111111111111111> when does the zebra council meet?"
        result = await world.admin.slash(world.channel, "ask", question=question)
        await world.admin.send(world.channel, f"{bot.user.mention} {question}")

        sent = [m for m in world.channel.history() if m.author.id == bot.user.id]
        assert len(sent) >= 2
        zebra = [e for m in sent for e in m.embeds if "zebra" in (e.title or "")]
        assert zebra, "the hostile document should be quoted"
        for embed in zebra:
            assert "\\@everyone" in embed.description and "\\<\\@111111111111111111\\>" in embed.description
            assert "\\@everyone" in embed.title and "<@111111111111111111>" in embed.footer.text
        for message in sent:
            assert "\\@everyone" in message.content  # the question, escaped
            assert pings(env, message) == ([], [], False)
            assert not message.mentions and not message.role_mentions and not message.mention_everyone
        assert result.response is not None


async def test_a_direct_message_is_a_question(world: World) -> None:
    user = world.alice.user
    await user.send_dm(QUESTION)
    [asked, reply, *_] = user.dm_channel.history()
    assert asked.author.id == user.id and reply.author.id == world.env.bot.user.id
    assert reply.content.startswith(f"**Question:** {QUESTION}") and reply.embeds
