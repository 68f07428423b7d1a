"""The slash commands: ``/ask``, ``/sources`` and ``/reindex``.

Each command's docstring is its description in Discord. Commands are registered with Discord by
``python -m bot discord sync`` (see ``bot.adapters.discord.run.sync_commands``), never on start.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.adapters.discord.delivery import NO_MENTIONS, place, prepare, send_kwargs, to_interaction
from bot.conversation import Notice
from bot.render import wording
from bot.render.discord import render_sources

if TYPE_CHECKING:
    from bot.adapters.discord.host import Host

log = logging.getLogger(__name__)

ADMIN_ONLY = wording.admins_only(
    "you need the Manage Server permission, or your user id in DISCORD_ADMIN_IDS"
)


def is_admin(interaction: discord.Interaction[Any], admin_ids: tuple[str, ...]) -> bool:
    """Manage Server permission in this guild, or a user id listed in DISCORD_ADMIN_IDS."""
    if str(interaction.user.id) in admin_ids:
        return True
    return interaction.guild is not None and interaction.permissions.manage_guild


class CaseCommands(commands.Cog):
    """Questions about the case, the documents behind the answers, and index maintenance."""

    def __init__(self, bot: Host) -> None:
        self.bot = bot
        self._rebuilds: set[asyncio.Task[None]] = set()

    @app_commands.command(name="ask")
    @app_commands.describe(question="What you want to know about the case")
    async def ask(self, interaction: discord.Interaction[Any], question: str) -> None:
        """Ask about the case; the answer quotes the documents word for word."""
        bot = self.bot
        refused = bot.conversation.admit(str(interaction.user.id), question)
        if refused is not None:
            await interaction.response.send_message(refused.text, ephemeral=True)
            return
        await interaction.response.defer(thinking=True)  # within Discord's 3 seconds, before any work
        conversation = bot.conversation
        key = conversation.key(place(interaction.channel, f"interaction:{interaction.id}"))
        answer = await conversation.answer(question, key)
        if isinstance(answer, Notice):  # after a public defer Discord shows it in place of "thinking…"
            await interaction.followup.send(answer.text, ephemeral=True, allowed_mentions=NO_MENTIONS)
            return
        messages = await prepare(bot, answer)
        thread_mode = bot.settings.discord_thread_mode
        sent = await to_interaction(interaction, answer, messages, thread_mode=thread_mode)
        original = await interaction.original_response()
        conversation.link(key, place(interaction.channel, "").room, [str(original.id), *sent])

    @app_commands.command(name="sources")
    async def sources(self, interaction: discord.Interaction[Any]) -> None:
        """List the documents the answers are quoted from."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        sources = await asyncio.to_thread(self.bot.casebot.sources)
        for payload in render_sources(sources):
            await interaction.followup.send(**send_kwargs(payload), ephemeral=True)

    @app_commands.command(name="reindex")
    @app_commands.describe(full="Re-embed every document instead of only new and changed ones")
    async def reindex(self, interaction: discord.Interaction[Any], full: bool = False) -> None:
        """Rebuild the index from the corpus folder (administrators only)."""
        bot = self.bot
        if not is_admin(interaction, bot.settings.discord_admin_ids):
            log.warning("refused /reindex for user %s in guild %s: not an administrator",
                        interaction.user.id, interaction.guild_id)
            await interaction.response.send_message(ADMIN_ONLY, ephemeral=True)
            return
        if bot.casebot.rebuilding or self._rebuilds:
            await interaction.response.send_message(wording.REBUILD_RUNNING, ephemeral=True)
            return
        log.info("/reindex%s by user %s in guild %s", " (full)" if full else "", interaction.user.id,
                 interaction.guild_id)
        await interaction.response.send_message(wording.REBUILD_STARTED, ephemeral=True)
        task = asyncio.create_task(self._rebuild(interaction, full), name="casebot-reindex")
        self._rebuilds.add(task)
        task.add_done_callback(self._rebuilds.discard)

    async def _rebuild(self, interaction: discord.Interaction[Any], full: bool) -> None:
        text = await self.bot.conversation.rebuild(full=full)
        try:
            await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException as error:  # e.g. the 15-minute follow-up window has passed
            log.info("could not report the rebuild to the admin (%s): %s", error, text)

    async def cog_unload(self) -> None:
        for task in self._rebuilds:
            task.cancel()
