"""The Bot subclass: dependencies passed in, async setup in ``setup_hook``.

``create_bot`` picks discord.py's plain ``commands.Bot`` or, when ``DISCORD_SHARD_COUNT`` is set,
its ``AutoShardedBot`` (``-1``: as many shards as Discord recommends).
"""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.adapters.discord.commands import CaseCommands
from bot.adapters.discord.delivery import NO_MENTIONS
from bot.adapters.discord.mentions import Mentions
from bot.adapters.discord.views import FeedbackButton
from bot.conversation import Conversation
from bot.feedback import FeedbackStore
from bot.library import Library
from bot.ratelimit import RateLimiter
from bot.render.wording import APOLOGY
from bot.service import CaseBot
from bot.settings import Settings, SettingsError
from index.errors import CasebotError

log = logging.getLogger(__name__)


def quiet_voice_warnings() -> None:
    """A text bot has no voice: discord.py's warnings about the missing voice libraries (PyNaCl,
    davey) would only bury the one line that matters, such as a wrong token. Called when a client
    is made, not on import, so importing this module changes nothing in discord.py."""
    discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False


def default_intents() -> discord.Intents:
    """Non-privileged intents only: mentions and direct messages still carry their content."""
    intents = discord.Intents.default()
    intents.message_content = False
    intents.members = False
    intents.presences = False
    return intents


class CaseCommandTree(app_commands.CommandTree):
    """Turns an error inside any command into an ephemeral apology and a log line."""

    async def on_error(self, interaction: discord.Interaction[Any],
                       error: app_commands.AppCommandError) -> None:
        """bot.conversation's policy for what a command did not handle: a CasebotError is shown as it
        is; anything else is logged and apologised for."""
        name = interaction.command.qualified_name if interaction.command else "?"
        cause = error.original if isinstance(error, app_commands.CommandInvokeError) else error
        if isinstance(cause, CasebotError):
            text = str(cause)
        else:
            text = APOLOGY
            log.error("/%s failed for user %s in guild %s: %r", name, interaction.user.id,
                      interaction.guild_id, cause, exc_info=cause)
        try:
            if interaction.response.is_done():
                # After a public defer Discord shows this in place of "thinking…".
                await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
            else:
                await interaction.response.send_message(text, ephemeral=True)
        except discord.HTTPException as send_error:
            log.warning("could not send the apology for /%s: %s", name, send_error)


class CaseBotMixin:
    """What the casebot Discord bot adds to a discord.py Bot (plain or auto-sharded)."""

    casebot: CaseBot
    settings: Settings
    feedback: FeedbackStore
    limiter: RateLimiter
    conversation: Conversation
    library: Library
    user: discord.ClientUser | None
    tree: CaseCommandTree

    def __init__(self, casebot: CaseBot, settings: Settings, *, feedback: FeedbackStore | None = None,
                 limiter: RateLimiter | None = None, **options: Any) -> None:
        self.casebot = casebot
        self.settings = settings
        self.feedback = feedback if feedback is not None else FeedbackStore(settings.feedback_file)
        self.limiter = limiter if limiter is not None else RateLimiter(settings.rate_limit_per_minute, 60.0)
        self.conversation = Conversation(casebot, settings, limiter=self.limiter)
        self.library = Library(casebot)
        options.setdefault("intents", default_intents())
        super().__init__(  # type: ignore[call-arg]
            command_prefix=commands.when_mentioned,  # unused: no prefix commands
            help_command=None,
            allowed_mentions=NO_MENTIONS,
            tree_cls=CaseCommandTree,
            **options,
        )

    async def setup_hook(self) -> None:
        # Persistent feedback buttons: routed by custom_id, also for messages sent before a restart.
        self.add_dynamic_items(FeedbackButton)  # type: ignore[attr-defined]
        await self.add_cog(CaseCommands(self))  # type: ignore[attr-defined, arg-type]
        await self.add_cog(Mentions(self))  # type: ignore[attr-defined, arg-type]
        self.casebot.start_background()  # follow INDEX_DIR (and the corpus, with CORPUS_WATCH)
        # Commands are not synced here: `python -m bot discord sync` does it, once.

    async def on_message(self, message: discord.Message) -> None:
        """No prefix commands: the Mentions cog answers questions addressed to the bot."""

    async def on_ready(self) -> None:
        guilds = len(self.guilds)  # type: ignore[attr-defined]
        log.info("connected to Discord as %s, in %d server%s", self.user, guilds, "s" * (guilds != 1))


class DiscordCaseBot(CaseBotMixin, commands.Bot):
    """casebot on one gateway connection."""


class ShardedDiscordCaseBot(CaseBotMixin, commands.AutoShardedBot):
    """casebot over several gateway connections (shards), managed by discord.py."""


def create_bot(
    casebot: CaseBot, settings: Settings, **options: Any
) -> DiscordCaseBot | ShardedDiscordCaseBot:
    """The bot for ``settings``: sharded when DISCORD_SHARD_COUNT is not 0."""
    quiet_voice_warnings()
    shards = settings.discord_shard_count
    if shards == 0:
        return DiscordCaseBot(casebot, settings, **options)
    if shards < -1:
        raise SettingsError(
            "DISCORD_SHARD_COUNT must be 0 (no sharding), -1 (automatic) or a positive number."
        )
    options.setdefault("shard_count", None if shards == -1 else shards)
    return ShardedDiscordCaseBot(casebot, settings, **options)
