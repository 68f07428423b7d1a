"""Follow-up questions under simcord: a reply to an answer, a mention in the answer's thread."""

from __future__ import annotations

from collections.abc import Callable

import discord
import pytest

from bot.service import CaseBot
from tests.support.discord import World, make_world, run

pytestmark = pytest.mark.slow

FIRST = "Why did Iran open a criminal case against Pavel Durov?"
FOLLOW_UP = "And who ordered it?"
READ_AS = f"*Read as:* {FIRST} {FOLLOW_UP}"


def bot_messages(world: World, channel) -> list[discord.Message]:
    return [m for m in channel.history() if m.author.id == world.env.bot.user.id]


async def test_a_reply_to_an_answer_is_a_follow_up_even_without_a_mention(world: World) -> None:
    bot = world.env.bot
    await world.alice.send(world.channel, f"{bot.user.mention} {FIRST}")
    answer = bot_messages(world, world.channel)[-1]
    assert "Read as" not in answer.content
    await world.alice.send(world.channel, FOLLOW_UP, reply_to=answer)
    followed = bot_messages(world, world.channel)[-1]
    assert followed.id != answer.id and READ_AS in followed.content
    # A mention outside any reply or thread stands alone; a reply to someone else is not for the bot.
    await world.bob.send(world.channel, f"{bot.user.mention} {FOLLOW_UP}")
    assert "Read as" not in bot_messages(world, world.channel)[-1].content
    chatter = await world.bob.send(world.channel, "what do you all think?")
    before = len(bot_messages(world, world.channel))
    await world.alice.send(world.channel, "Why?", reply_to=chatter)
    assert len(bot_messages(world, world.channel)) == before


async def test_a_mention_in_the_answers_thread_is_a_follow_up(
        casebot: CaseBot, make_bot: Callable[..., discord.Client]) -> None:
    async with run(make_bot(casebot, discord_thread_mode=True)) as env:
        world = await make_world(env)
        await world.alice.slash(world.channel, "ask", question=FIRST)
        [thread] = world.channel.threads
        await world.alice.send(thread, f"{env.bot.user.mention} {FOLLOW_UP}")
        followed = bot_messages(world, thread)[-1]
        assert READ_AS in followed.content and followed.embeds
        await world.bob.send(world.channel, f"{env.bot.user.mention} {FOLLOW_UP}")  # a new thread: alone
        assert len(world.channel.threads) == 2
        assert all("Read as" not in m.content for t in world.channel.threads if t.id != thread.id
                   for m in t.history())
