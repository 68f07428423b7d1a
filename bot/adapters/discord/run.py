"""Entry points for the CLI: ``python -m bot run discord`` and ``python -m bot discord sync``.

See docs/discord.md.
"""

from __future__ import annotations

import asyncio
import logging
import sys

import aiohttp
import discord
from discord.ext import commands

from bot.adapters.discord.client import create_bot, default_intents, quiet_voice_warnings
from bot.adapters.discord.commands import CaseCommands
from bot.service import CaseBot
from bot.settings import NO_DISCORD_TOKEN, Settings

log = logging.getLogger(__name__)

NO_TOKEN = NO_DISCORD_TOKEN
BAD_TOKEN = ("Discord rejected DISCORD_TOKEN: copy the token from the Developer Portal "
             "(your application → Bot → Reset Token) into .env.")


def _fail(line: str, code: int = 1) -> int:
    print(line, file=sys.stderr)
    return code


async def _login(bot: discord.Client, token: str) -> int | None:
    """Log in over HTTP; on failure print one line and return the exit code."""
    try:
        await bot.login(token)
    except discord.LoginFailure:
        return _fail(BAD_TOKEN)
    except (aiohttp.ClientError, OSError) as error:
        return _fail(f"Cannot reach Discord ({error.__class__.__name__}: {error}); check the network.")
    return None


async def serve(bot: discord.Client, casebot: CaseBot, token: str) -> int:
    """Log in (failing fast on a bad token), make sure the index is open, then stay connected."""
    async with bot:
        failed = await _login(bot, token)
        if failed is not None:
            return failed
        await asyncio.to_thread(casebot.open)  # builds a missing index; the model is already loaded
        try:
            await bot.connect()
        except discord.PrivilegedIntentsRequired:
            return _fail("Discord refused a privileged intent; casebot needs none: check the bot's settings.")
    return 0


def main(settings: Settings, casebot: CaseBot | None = None) -> int:
    """``python -m bot run discord``: run the bot until interrupted; returns the exit code."""
    token = settings.discord_token.strip()
    if not token:
        return _fail(NO_TOKEN, 2)
    service = casebot if casebot is not None else CaseBot(settings)
    bot = create_bot(service, settings)
    try:
        return asyncio.run(serve(bot, service, token))
    except KeyboardInterrupt:
        return 0


async def sync_tree(bot: commands.Bot, guild_id: int | None = None) -> list[discord.app_commands.AppCommand]:
    """Register the bot's slash commands with Discord: globally, or in one guild (instantly)."""
    if guild_id is None:
        return await bot.tree.sync()
    guild = discord.Object(id=guild_id)
    bot.tree.copy_global_to(guild=guild)
    return await bot.tree.sync(guild=guild)


def sync_commands(settings: Settings, guild_id: int | None = None) -> int:
    """``python -m bot discord sync [--guild ID]``: register the slash commands (the CaseCommands cog)."""
    token = settings.discord_token.strip()
    if not token:
        return _fail(NO_TOKEN, 2)

    async def run() -> int:
        # Only the command definitions are needed: no model, no index, no gateway connection.
        quiet_voice_warnings()
        bot = commands.Bot(
            command_prefix=commands.when_mentioned, intents=default_intents(), help_command=None
        )
        async with bot:
            failed = await _login(bot, token)
            if failed is not None:
                return failed
            await bot.add_cog(CaseCommands(bot))  # type: ignore[arg-type]
            synced = await sync_tree(bot, guild_id)
        where = (
            f"in guild {guild_id} (available now)"
            if guild_id
            else "globally (may take up to an hour to appear)"
        )
        print(f"Synced {len(synced)} commands {where}: " + ", ".join(f"/{c.name}" for c in synced))
        return 0

    try:
        return asyncio.run(run())
    except discord.HTTPException as error:
        return _fail(f"Discord refused the command sync: {error}")
