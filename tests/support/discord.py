"""Fixtures for driving the real Discord bot under simcord (an in-process emulated Discord).

``simcord_bot`` builds the bot over the session's ``casebot`` (the real article, real model) with
a feedback file in the test's tmp folder. A test that needs other settings or another corpus
builds its own bot with ``make_bot`` and runs it with ``simcord.run``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import discord
import pytest
import simcord

from bot.adapters.discord.client import create_bot
from bot.adapters.discord.run import sync_tree
from bot.service import CaseBot

QUESTION = "What did Iran's communications ministry demand from Telegram?"


@pytest.fixture
def make_bot(tmp_path: Path) -> Callable[..., discord.Client]:
    """``make_bot(casebot, **settings)``: a fresh Discord bot over ``casebot``; the feedback file
    is in the test's tmp folder unless given."""

    def factory(service: CaseBot, **overrides: object) -> discord.Client:
        overrides.setdefault("feedback_file", tmp_path / "feedback.jsonl")
        return create_bot(service, dataclasses.replace(service.settings, **overrides))

    return factory


@pytest.fixture
def simcord_bot(casebot: CaseBot, make_bot: Callable[..., discord.Client]) -> discord.Client:
    return make_bot(casebot)


# Answers run the real model in a worker thread, on shared CPUs: allow more than simcord's default
# 5 s of wall time for the bot to settle after each action (the virtual clock is unaffected).
SETTLE_TIMEOUT = 60.0


def run(bot: discord.Client, **options: object) -> simcord.run:
    """``simcord.run`` with this suite's settle timeout."""
    options.setdefault("settle_timeout", SETTLE_TIMEOUT)
    return simcord.run(bot, **options)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """simcord's ``simcord_env`` fixture, with this suite's settle timeout (unless a test sets its own)."""
    here = Path(__file__).resolve().parents[1] / "adapters" / "discord"
    for item in items:
        if here in item.path.parents and item.get_closest_marker("simcord") is None:
            item.add_marker(pytest.mark.simcord(settle_timeout=SETTLE_TIMEOUT))


@dataclass
class World:
    """A guild with a #general channel, two members and an admin (Manage Server)."""

    env: simcord.Env
    guild: simcord.GuildHandle
    channel: simcord.ChannelHandle
    alice: simcord.MemberActor
    bob: simcord.MemberActor
    admin: simcord.MemberActor


async def make_world(env: simcord.Env, *, sync: bool = True) -> World:
    guild = env.create_guild("Case Watchers")
    channel = guild.create_text_channel("general")
    mods = guild.create_role("Mods", permissions=discord.Permissions(manage_guild=True))
    world = World(
        env=env,
        guild=guild,
        channel=channel,
        alice=guild.add_member(env.create_user("alice")),
        bob=guild.add_member(env.create_user("bob")),
        admin=guild.add_member(env.create_user("carol"), roles=[mods]),
    )
    if sync:
        await sync_tree(env.bot)  # what `python -m bot discord sync` does
    return world


@pytest.fixture
async def world(simcord_env: simcord.Env) -> World:
    return await make_world(simcord_env)
