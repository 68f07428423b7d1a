"""Send a rendered answer: as interaction follow-ups, as a reply, or into a new thread.

Every message goes out with ``AllowedMentions.none()`` (also the Bot's default), so even text
that slipped past escaping could not ping anyone.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import discord

from bot.adapters.discord.views import feedback_view
from bot.answer import Answer
from bot.conversation import Place
from bot.render.discord import MessagePayload, discord_len, render_answer, render_thread_starter

if TYPE_CHECKING:
    from bot.adapters.discord.host import Host

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()
THREAD_NAME_LIMIT = 100


def send_kwargs(payload: MessagePayload) -> dict[str, Any]:
    """discord.py keyword arguments for one rendered message."""
    kwargs: dict[str, Any] = {"allowed_mentions": NO_MENTIONS}
    if payload.content:
        kwargs["content"] = payload.content
    if payload.embeds:
        kwargs["embeds"] = [discord.Embed.from_dict(e.to_dict()) for e in payload.embeds]
    return kwargs


def thread_name(question: str) -> str:
    """The question on one line, cut to Discord's 100-character thread-name limit."""
    name = " ".join(question.split()) or "Question"
    if discord_len(name) <= THREAD_NAME_LIMIT:
        return name
    while discord_len(name) > THREAD_NAME_LIMIT - 1:
        name = name[:-1]
    return name.rstrip() + "…"


async def prepare(bot: Host, answer: Answer) -> list[dict[str, Any]]:
    """The messages for ``answer``, the last one carrying the feedback buttons."""
    answer_id = await asyncio.to_thread(bot.feedback.record_answer, answer)
    messages = [send_kwargs(p) for p in render_answer(answer)]
    messages[-1]["view"] = feedback_view(answer_id)
    return messages


def _can_branch(channel: object) -> bool:
    return isinstance(channel, discord.TextChannel)


async def to_interaction(interaction: discord.Interaction[Any], answer: Answer,
                         messages: list[dict[str, Any]], *, thread_mode: bool) -> list[str]:
    """After a defer: the answer as follow-ups, or in a thread started from the response. Returns the
    ids of the messages (and thread) the answer is in, which later questions may continue."""
    if thread_mode and _can_branch(interaction.channel):
        try:
            original = await interaction.original_response()
            thread = await original.create_thread(name=thread_name(answer.question))
        except discord.HTTPException as error:
            log.warning("could not open a thread in #%s (%s); answering in the channel",
                        getattr(interaction.channel, "name", "?"), error)
        else:
            await interaction.edit_original_response(content=render_thread_starter(answer),
                                                     allowed_mentions=NO_MENTIONS)
            return [str(thread.id)] + [str((await thread.send(**kwargs)).id) for kwargs in messages]
    return [str((await interaction.followup.send(**kwargs, wait=True)).id) for kwargs in messages]


async def to_message(message: discord.Message, answer: Answer, messages: list[dict[str, Any]], *,
                     thread_mode: bool) -> list[str]:
    """Answer a message: as a reply (then plain messages), or in a thread started from it. Returns
    the ids of the messages (and thread) the answer is in."""
    if thread_mode and _can_branch(message.channel):
        try:
            thread = await message.create_thread(name=thread_name(answer.question))
        except discord.HTTPException as error:
            log.warning("could not open a thread in #%s (%s); replying in the channel",
                        getattr(message.channel, "name", "?"), error)
        else:
            return [str(thread.id)] + [str((await thread.send(**kwargs)).id) for kwargs in messages]
    first, *rest = messages
    sent = [await message.reply(**first, mention_author=False)]
    for kwargs in rest:
        sent.append(await message.channel.send(**kwargs))
    return [str(m.id) for m in sent]


def place(channel: object, own: str, continues: tuple[int | None, ...] = ()) -> Place:
    """Where a question was asked, for its conversation (bot.conversation): a thread counts as its
    channel's, so that a thread started from an answer continues that answer's conversation; a
    direct chat and a thread are one conversation each."""
    parent = getattr(channel, "parent_id", None)
    room = str(parent or getattr(channel, "id", ""))
    if isinstance(channel, discord.Thread):
        own, continues = f"thread:{channel.id}", (*continues, channel.id)
    elif isinstance(channel, (discord.DMChannel, discord.GroupChannel)):
        own = "direct"
    return Place(room, own, tuple(str(c) for c in continues if c))
