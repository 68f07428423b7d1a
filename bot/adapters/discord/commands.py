"""The slash commands: ``/ask``, ``/sources``, and for administrators ``/reindex``, ``/add`` and
``/remove``.

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
from bot.library import Upload
from bot.render import wording
from bot.render.discord import render_added, render_plain, render_sources
from bot.sources import PER_PAGE, page_of

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


def is_admin_author(message: discord.Message, admin_ids: tuple[str, ...]) -> bool:
    """The same for the author of a message (a direct message: DISCORD_ADMIN_IDS only)."""
    if str(message.author.id) in admin_ids:
        return True
    permissions = getattr(message.author, "guild_permissions", None)
    return message.guild is not None and permissions is not None and permissions.manage_guild


async def receive(bot: Host, attachment: discord.Attachment, user: int, room: int, replace: bool) -> str:
    """An admin's attachment added to the documents (bot.library): the reply, or a UploadRefused."""
    bot.library.check_size(attachment.filename, attachment.size)  # before downloading it
    data = await attachment.read()
    added = await bot.library.add(Upload(attachment.filename, data, str(user), str(room), "discord", replace))
    log.info("added %s (%d passages) for user %s in %.1f s", added.name, added.passages, user, added.seconds)
    return render_added(added)


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
        where = f"for user {interaction.user.id} in guild {interaction.guild_id}"
        answer = await conversation.answer(question, key, "/ask", where)
        if isinstance(answer, Notice):  # after a public defer Discord shows it in place of "thinking…"
            await interaction.followup.send(answer.text, ephemeral=True, allowed_mentions=NO_MENTIONS)
            return
        messages = await prepare(bot, answer)
        thread_mode = bot.settings.discord_thread_mode
        sent = await to_interaction(interaction, answer, messages, thread_mode=thread_mode)
        original = await interaction.original_response()
        conversation.link(key, place(interaction.channel, "").room, [str(original.id), *sent])

    @app_commands.command(name="sources")
    @app_commands.describe(page=f"Which page of the list ({PER_PAGE} documents a page)")
    async def sources(self, interaction: discord.Interaction[Any], page: int = 1) -> None:
        """List the documents the answers are quoted from."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        sources = await asyncio.to_thread(self.bot.casebot.sources)
        for payload in render_sources(page_of(sources, page)):
            await interaction.followup.send(**send_kwargs(payload), ephemeral=True)

    @app_commands.command(name="add")
    @app_commands.describe(file="A .md, .txt, .html, .pdf, .docx or Telegram .json file",
                           replace="Replace the document of the same name")
    async def add(self, interaction: discord.Interaction[Any], file: discord.Attachment,
                  replace: bool = False) -> None:
        """Add a document to the ones the answers quote (administrators only)."""
        bot = self.bot
        if not is_admin(interaction, bot.settings.discord_admin_ids):
            await interaction.response.send_message(wording.ADMINS_ONLY_ADD, ephemeral=True)
            return
        await interaction.response.defer(thinking=True)
        where = f"for user {interaction.user.id} in guild {interaction.guild_id}"
        result = await bot.conversation.guard(
            "/add", receive(bot, file, interaction.user.id, interaction.channel_id or 0, replace), where)
        text = render_plain(result.text) if isinstance(result, Notice) else result
        await interaction.followup.send(text, allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="remove")
    @app_commands.describe(name="The document's file name, as /sources shows it")
    async def remove(self, interaction: discord.Interaction[Any], name: str) -> None:
        """Take a document out of the ones the answers quote (administrators only)."""
        bot = self.bot
        if not is_admin(interaction, bot.settings.discord_admin_ids):
            await interaction.response.send_message(wording.ADMINS_ONLY_ADD, ephemeral=True)
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        result = await bot.conversation.guard("/remove", bot.library.remove(name))
        text = result.text if isinstance(result, Notice) else result
        await interaction.followup.send(render_plain(text), ephemeral=True, allowed_mentions=NO_MENTIONS)

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
