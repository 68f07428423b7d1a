"""Documents added from Discord under simcord: /add with an attachment, an attachment to a mention,
the same name again and replace, /remove, someone else's file, and a zip bomb named .docx refused
while the bot keeps answering."""

from __future__ import annotations

from collections.abc import Callable

import discord
import pytest

from bot.render.wording import ADMINS_ONLY_ADD
from bot.service import CaseBot
from tests.support.discord import QUESTION, make_world, run
from tests.support.uploads import BOMB_NAME, zip_bomb_docx

pytestmark = pytest.mark.slow

NOTE = ("---\ntitle: Harbour notes\ndate: 2019-05-02\n---\n\nThe harbour master of Vologda keeps a "
        "logbook of every ferry crossing, written in green ink since 1998.\n").encode()
def said(result) -> str:  # noqa: ANN001 - simcord's InteractionResult
    """What the bot last said in answer to a slash command (after a defer: its last follow-up)."""
    return result.followups[-1].content if result.followups else result.response.content


INK = "What colour of ink does the Vologda harbour master use?"


async def test_admins_add_replace_and_remove_documents_and_others_are_told_once(
        make_casebot: Callable[..., CaseBot], make_bot: Callable[..., discord.Client]) -> None:
    core = make_casebot()
    async with run(make_bot(core)) as env:
        world = await make_world(env)
        refused = await world.bob.slash(world.channel, "add", file=("harbour-notes.md", NOTE))
        assert refused.ephemeral and refused.response.content == ADMINS_ONLY_ADD
        assert not (core.settings.corpus_dir / "harbour-notes.md").exists()

        added = await world.admin.slash(world.channel, "add", file=("harbour-notes.md", NOTE))
        assert said(added).startswith("Added harbour-notes.md: “Harbour notes” (2019-05-02, English); "
                               "1 passage read.")
        answer = await world.alice.slash(world.channel, "ask", question=INK)
        shown = [answer.response, *answer.followups]
        assert any("green ink" in e.description for m in shown for e in m.embeds)

        again = await world.admin.slash(world.channel, "add", file=("harbour-notes.md", NOTE))
        assert "already in the corpus" in said(again)
        replaced = await world.admin.slash(world.channel, "add", file=("harbour-notes.md", NOTE),
                                           replace=True)
        assert "Replaced harbour" in said(replaced)

        # An attachment to a mention: an admin's is added, anyone else's gets the one line.
        await world.bob.send(world.channel, env.bot.user.mention, attachments=[("bob.md", NOTE)])
        assert world.channel.last_message.content == ADMINS_ONLY_ADD
        await world.admin.send(world.channel, env.bot.user.mention, attachments=[("ferry-log.md", NOTE)])
        assert world.channel.last_message.content.startswith("Added ferry-log.md")

        removed = await world.admin.slash(world.channel, "remove", name="harbour-notes.md")
        assert "Removed harbour" in said(removed)
        assert not (core.settings.corpus_dir / "harbour-notes.md").exists()
        assert {s.doc_id for s in core.sources()} == {"iran-fsb-telegram-2017.md", "ferry-log.md"}


async def test_a_zip_bomb_named_docx_is_refused_while_the_bot_keeps_answering(
        make_casebot: Callable[..., CaseBot], make_bot: Callable[..., discord.Client]) -> None:
    core = make_casebot()
    async with run(make_bot(core)) as env:
        world = await make_world(env)
        bomb = await world.admin.slash(world.channel, "add", file=(BOMB_NAME, zip_bomb_docx()))
        text = said(bomb)
        assert text.startswith("I did not add minutes.docx:") and "MAX\\_UNZIPPED\\_MIB" in text
        assert (await world.alice.slash(world.channel, "ask", question=QUESTION)).response.embeds
        assert not (core.settings.corpus_dir / BOMB_NAME).exists()
