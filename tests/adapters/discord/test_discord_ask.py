"""/ask under simcord: defer, then follow-ups with one embed per passage, within Discord's limits."""

from __future__ import annotations

import re

import pytest

from tests.support.discord import QUESTION, World
from tests.support.discord_helpers import assert_within_discord_limits, custom_ids, parse_description

pytestmark = pytest.mark.slow


async def test_ask_defers_at_once_then_answers_with_one_embed_per_passage(world: World) -> None:
    result = await world.alice.slash(world.channel, "ask", question=QUESTION)

    callbacks = [r for r in world.env.http_requests if r.path.endswith("/callback")]
    assert callbacks[0].json["type"] == 5  # DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE, before any answer
    messages = [result.response, *result.followups]
    assert not result.ephemeral
    first = messages[0]
    assert first.content.startswith(f"**Question:** {QUESTION}")
    embeds = [e for m in messages for e in m.embeds]
    assert len(embeds) == world.env.bot.casebot.settings.top_k
    for n, embed in enumerate(embeds, start=1):
        assert re.fullmatch(rf"\[{n}\] .+ — (¶|p\.) \d+", embed.title)
        visible, bold = parse_description(embed.description)
        assert len(bold) == 1 and bold[0] in visible  # the highlight, in bold, inside the quote
        assert "2017-09-28" in embed.footer.text
    for message in messages:
        assert_within_discord_limits(message.content, message.embeds)
    ids = custom_ids(messages[-1].components)
    assert len(ids) == 2 and all(
        re.fullmatch(r"casebot:feedback:(helpful|not_helpful):[0-9a-f]{12}", i) for i in ids
    )


async def test_quotes_are_verbatim_passages_of_the_corpus(world: World, article_text: str) -> None:
    result = await world.alice.slash(world.channel, "ask", question="Which law required the keys?")
    answer = world.env.bot.casebot.ask("Which law required the keys?")
    embeds = [e for m in [result.response, *result.followups] for e in m.embeds]
    for embed, passage in zip(embeds, answer.passages, strict=True):
        visible, bold = parse_description(embed.description)
        assert visible == passage.text and passage.text in article_text
        assert bold == [passage.highlight]


async def test_a_question_in_russian_gets_verbatim_quotes_of_the_english_article(world: World,
                                                                                article_text: str) -> None:
    question = "Какие данные Роскомнадзор потребовал от Дурова?"
    result = await world.alice.slash(world.channel, "ask", question=question)
    assert result.response.content.startswith(f"**Question:** {question}")
    embeds = [e for m in [result.response, *result.followups] for e in m.embeds]
    assert embeds
    for embed in embeds:
        visible, bold = parse_description(embed.description)
        assert visible in article_text and bold and bold[0] in visible


async def test_a_question_in_german_is_told_which_languages_are_read(world: World) -> None:
    result = await world.alice.slash(
        world.channel, "ask", question="Wann wurde Telegram in Russland gesperrt?"
    )
    assert (
        "I read questions in English, Russian and Persian; this one looks like German."
        in result.response.content
    )
    assert not result.response.embeds


async def test_off_topic_question_is_declined_plainly(world: World) -> None:
    result = await world.alice.slash(world.channel, "ask", question="What is the recipe for a good lasagne?")
    message = result.response
    assert "do not answer this question" in message.content
    assert not message.embeds
    assert len(custom_ids(message.components)) == 2  # a decline can be rated too


async def test_a_question_about_something_no_document_mentions_is_declined_naming_it(world: World) -> None:
    result = await world.alice.slash(
        world.channel, "ask", question="What encryption protocol does Signal use?"
    )
    message = result.response
    assert "do not mention “Signal”, so I will not guess." in message.content
    assert not message.embeds


async def test_an_unusable_question_gets_an_ephemeral_explanation(world: World) -> None:
    result = await world.alice.slash(world.channel, "ask", question="?!?")
    assert result.ephemeral and "no words" in result.response.content
    assert not world.channel.history()  # nothing public


async def test_sources_lists_the_documents(world: World) -> None:
    result = await world.alice.slash(world.channel, "sources")
    assert result.ephemeral
    text = result.response.content + "\n".join(e.description for e in result.response.embeds)
    [source] = world.env.bot.casebot.sources()
    assert "I answer from 1 document: Page 1 of 1." in text
    file = "iran-fsb-telegram-2017.md"
    assert f"**{source.title}** — {source.date} · English · {file} · {source.chunks} passages" in text
