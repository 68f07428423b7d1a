"""Answer a message that mentions the bot (or any message in a direct chat with it).

Works without the privileged message-content intent: Discord still delivers the content of
messages that mention the bot, and of direct messages.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

import discord
from discord.ext import commands

from bot.adapters.discord.delivery import prepare, to_message
from bot.render import wording
from index.errors import QuestionRejected

if TYPE_CHECKING:
    from bot.adapters.discord.host import Host

log = logging.getLogger(__name__)


def mention_pattern(user_id: int) -> re.Pattern[str]:
    return re.compile(rf"<@!?{user_id}>")


class Mentions(commands.Cog):
    """``@casebot question`` in a channel gets the same answer as ``/ask``, as a reply."""

    def __init__(self, bot: Host) -> None:
        self.bot = bot

    def question_in(self, message: discord.Message) -> str | None:
        """The question a message asks the bot, or None when it is not addressed to it."""
        me = self.bot.user
        if me is None or message.author.bot or message.author.id == me.id:
            return None
        if message.guild is None:
            return message.content
        pattern = mention_pattern(me.id)
        if not pattern.search(message.content):
            return None  # replies that merely ping the bot, role mentions, @everyone: not a question
        return pattern.sub(" ", message.content).strip()

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        question = self.question_in(message)
        if question is None:
            return
        bot = self.bot
        user = str(message.author.id)
        try:
            if not bot.limiter.allow(user):
                await message.reply(wording.rate_limited(bot.limiter.limit, bot.limiter.retry_after(user)),
                                    mention_author=False)
                return
            try:
                answer = await bot.casebot.ask_async(question)
            except QuestionRejected as error:
                await message.reply(str(error), mention_author=False)
                return
            messages = await prepare(bot, answer)
            await to_message(message, answer, messages, thread_mode=bot.settings.discord_thread_mode)
        except Exception:
            log.exception("answering message %s from user %s failed", message.id, message.author.id)
            try:
                await message.reply(wording.APOLOGY, mention_author=False)
            except discord.HTTPException:
                log.warning("could not send the apology for message %s", message.id)
