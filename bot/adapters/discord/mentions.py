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

from bot.adapters.discord.commands import is_admin_author, receive
from bot.adapters.discord.delivery import place, prepare, to_message
from bot.conversation import Notice
from bot.render import wording
from bot.render.discord import render_plain

if TYPE_CHECKING:
    from bot.adapters.discord.host import Host

log = logging.getLogger(__name__)

RATE_LIMITED_REACTION = "⏳"


def mention_pattern(user_id: int) -> re.Pattern[str]:
    return re.compile(rf"<@!?{user_id}>")


class Mentions(commands.Cog):
    """``@casebot question`` in a channel gets the same answer as ``/ask``, as a reply."""

    def __init__(self, bot: Host) -> None:
        self.bot = bot

    def question_in(self, message: discord.Message) -> str | None:
        """The question a message asks the bot, or None when it is not addressed to it: a mention,
        a direct message, or a reply to one of its answers (a follow-up)."""
        me = self.bot.user
        if me is None or message.author.bot or message.author.id == me.id:
            return None
        if message.guild is None:
            return message.content
        pattern = mention_pattern(me.id)
        if pattern.search(message.content):
            return pattern.sub(" ", message.content).strip()
        if self._continues_an_answer(message) and message.content.strip():
            return message.content.strip()
        return None  # role mentions, @everyone, replies to anything else: not a question

    def _continues_an_answer(self, message: discord.Message) -> bool:
        reference = message.reference.message_id if message.reference else None
        room = place(message.channel, "").room
        return bool(reference) and self.bot.conversation.knows(room, str(reference))

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        question = self.question_in(message)
        if question is None:
            return
        if message.attachments:  # a file sent to the bot: a document to add
            await self._add(message, question)
            return
        what = f"answering message {message.id} from user {message.author.id}"
        done = await self.bot.conversation.guard(what, self._answer(message, question))
        if isinstance(done, Notice):
            try:
                await message.reply(done.text, mention_author=False)
            except discord.HTTPException:
                log.warning("could not send the apology for message %s", message.id)

    async def _add(self, message: discord.Message, text: str) -> None:
        bot = self.bot
        if not is_admin_author(message, bot.settings.discord_admin_ids):
            await message.reply(wording.ADMINS_ONLY_ADD, mention_author=False)
            return
        replace = "replace" in text.casefold().split()
        for attachment in message.attachments:
            where = f"for user {message.author.id} in channel {message.channel.id}"
            work = receive(bot, attachment, message.author.id, message.channel.id, replace)
            result = await bot.conversation.guard("adding an attachment", work, where)
            text = render_plain(result.text) if isinstance(result, Notice) else result
            await message.reply(text, mention_author=False)

    async def _answer(self, message: discord.Message, question: str) -> None:
        conversation = self.bot.conversation
        refused = conversation.admit(str(message.author.id), question)
        if refused is not None and refused.quiet:
            await message.add_reaction(RATE_LIMITED_REACTION)  # told once already: seen, not answered
            return
        if refused is not None:
            await message.reply(refused.text, mention_author=False)
            return
        reference = message.reference.message_id if message.reference else None
        key = conversation.key(place(message.channel, str(message.id), (reference,)))
        answer = await conversation.answer(question, key, f"answering message {message.id}")
        if isinstance(answer, Notice):
            await message.reply(answer.text, mention_author=False)
            return
        messages = await prepare(self.bot, answer)
        sent = await to_message(message, answer, messages, thread_mode=self.bot.settings.discord_thread_mode)
        conversation.link(key, place(message.channel, "").room, [str(message.id), *sent])
