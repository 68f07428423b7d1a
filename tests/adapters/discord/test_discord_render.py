"""Pure tests of the Discord renderer: limits, verbatim quotes, escaping (no bot, no model)."""

from __future__ import annotations

import re
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.answer import Answer
from bot.service import SourceInfo
from bot.sources import page_of
from bot.render.discord import (CONTENT_LIMIT, DESCRIPTION_LIMIT, ELLIPSIS, EMBED_TOTAL_LIMIT,
                                EMBEDS_PER_MESSAGE, FOOTER_LIMIT, TITLE_LIMIT, TRIM_NOTE, MessagePayload,
                                discord_len, escape_markdown, render_answer, render_quote, render_sources,
                                unescape_markdown)
from index.types import Passage
from tests.support.discord_helpers import parse_description

HOSTILE = (
    "@everyone <@123456789012345678> <@&42> <#7> **bold** __u__ ~~s~~ `c` ||spoiler|| [x](https://e.vil) \\"
)
ALPHABET = (
    string.ascii_letters + string.digits + " \n\t.,;:!?'\"()[]{}<>@#*_~`|\\-+=/&%$^" + "éß€…—¶😀𝔘\u200b"
)


def passage(text: str, hs: int = 0, he: int | None = None, **kw: object) -> Passage:
    he = len(text) if he is None else he
    fields: dict[str, object] = dict(
        doc_id="doc.md",
        title="A document",
        date="2017-09-28",
        source="Reuters",
        url="https://example.org/a",
        paragraph=3,
        page=None,
        start=0,
        end=len(text),
        score=1.0,
    )
    fields.update(kw)
    return Passage(text=text, highlight_start=hs, highlight_end=he, **fields)  # type: ignore[arg-type]


def assert_fits(messages: list[MessagePayload]) -> None:
    assert messages
    for message in messages:
        assert discord_len(message.content) <= CONTENT_LIMIT
        assert len(message.embeds) <= EMBEDS_PER_MESSAGE
        assert message.content or message.embeds
        assert message.embed_total <= EMBED_TOTAL_LIMIT
        for embed in message.embeds:
            assert discord_len(embed.title) <= TITLE_LIMIT
            assert discord_len(embed.description) <= DESCRIPTION_LIMIT
            assert discord_len(embed.footer) <= FOOTER_LIMIT


@st.composite
def passages(draw: st.DrawFn) -> Passage:
    unit = draw(st.text(alphabet=ALPHABET, min_size=1, max_size=200))
    text = unit * draw(st.sampled_from([1, 1, 2, 5, 30, 80]))
    hs = draw(st.integers(0, len(text)))
    he = draw(st.integers(hs, len(text)))
    return passage(
        text, hs, he,
        title=draw(st.text(alphabet=ALPHABET, max_size=400)),
        date=draw(st.none() | st.text(alphabet=ALPHABET, max_size=30)),
        source=draw(st.none() | st.text(alphabet=ALPHABET, max_size=3000)),
        url=draw(st.none() | st.just("https://example.org/x") | st.text(max_size=20)),
        paragraph=draw(st.integers(1, 10**6)),
        page=draw(st.none() | st.integers(1, 10**5)),
    )


@st.composite
def answers(draw: st.DrawFn) -> Answer:
    answered = draw(st.booleans())
    question = draw(st.text(alphabet=ALPHABET, min_size=1, max_size=2500))
    if answered:
        return Answer(question, True, tuple(draw(st.lists(passages(), min_size=1, max_size=25))))
    return Answer(
        question, False, (), tuple(draw(st.lists(st.text(alphabet=ALPHABET, max_size=300), max_size=60)))
    )


# -- escaping --------------------------------------------------------------------------------------
@given(st.text(alphabet=ALPHABET))
def test_unescaping_gives_back_the_verbatim_text(text: str) -> None:
    assert unescape_markdown(escape_markdown(text)) == text


@given(st.text(alphabet=ALPHABET))
def test_escaped_text_has_no_live_markdown_or_mentions(text: str) -> None:
    # What Discord parses: each escaped character stands for a literal, here an inert "x".
    live = re.sub("\\\\[" + re.escape(string.punctuation) + "]", "x", escape_markdown(text))
    assert not set(live) & set("*_~`|<>@[]\\")
    for line in live.split("\n"):
        assert not re.match(r"\s*([#\-+]|\d+\.)", line)


def test_mentions_in_corpus_text_are_escaped() -> None:
    escaped = escape_markdown(HOSTILE)
    assert "\\@everyone" in escaped and "\\<\\@123456789012345678\\>" in escaped
    assert unescape_markdown(escaped) == HOSTILE


# -- one passage -----------------------------------------------------------------------------------
def test_embed_title_names_document_and_paragraph_or_page() -> None:
    [message] = render_answer(
        Answer("q?", True, (passage("Text."), passage("Other.", page=4, title="Filing")))
    )
    first, second = message.embeds
    assert first.title == "[1] A document — ¶ 3"
    assert second.title == "[2] Filing — p. 4"
    assert first.footer == "2017-09-28 · Reuters"
    assert first.url == "https://example.org/a#:~:text=Text."  # the quote itself (bot.links)


def test_highlight_is_bold_and_quote_is_verbatim() -> None:
    text = "Before it. The FSB demanded the keys. After it."
    hs = text.index("The FSB")
    he = text.index(" After")
    description, quote = render_quote(passage(text, hs, he))
    assert description == "Before it. **The FSB demanded the keys.** After it."
    assert (quote.before, quote.highlight, quote.after) == (
        "Before it. ",
        "The FSB demanded the keys.",
        " After it.",
    )
    assert not quote.trimmed


def test_invalid_urls_are_left_out() -> None:
    for url in ("javascript:alert(1)", "not a url", "", None):
        [message] = render_answer(Answer("q", True, (passage("x", url=url),)))
        assert message.embeds[0].url is None


def test_long_quote_is_trimmed_visibly_around_a_whole_highlight() -> None:
    text = "word " * 3000 + "THE HIGHLIGHT SENTENCE." + " tail" * 3000
    hs = text.index("THE")
    he = hs + len("THE HIGHLIGHT SENTENCE.")
    [message] = render_answer(Answer("q", True, (passage(text, hs, he),)))
    [embed] = message.embeds
    assert discord_len(embed.description) <= DESCRIPTION_LIMIT
    assert embed.description.startswith(ELLIPSIS) and embed.description.endswith(ELLIPSIS)
    assert "**THE HIGHLIGHT SENTENCE.**" in embed.description
    assert TRIM_NOTE in embed.footer
    visible, bold = parse_description(embed.description)
    assert visible[1:-1] in text and bold == ["THE HIGHLIGHT SENTENCE."]


def test_a_highlight_longer_than_an_embed_is_cut_at_its_end() -> None:
    text = "x" * 10 + "y" * 9000
    description, quote = render_quote(passage(text, 10, len(text)))
    assert discord_len(description) <= DESCRIPTION_LIMIT
    assert quote.cut_highlight and quote.highlight == text[10 : 10 + len(quote.highlight)]
    assert description == ELLIPSIS + "**" + quote.highlight + "**" + ELLIPSIS


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(passages())
def test_every_quote_stays_verbatim(p: Passage) -> None:
    description, quote = render_quote(p)
    assert discord_len(description) <= DESCRIPTION_LIMIT
    # The pieces are the passage's own text, at their own place.
    hs = p.highlight_start
    assert p.text[hs - len(quote.before) : hs] == quote.before
    assert p.text[hs : hs + len(quote.highlight)] == quote.highlight
    if not quote.cut_highlight:
        assert quote.highlight == p.highlight
        assert p.text[p.highlight_end : p.highlight_end + len(quote.after)] == quote.after
    # And reading the description back gives exactly those pieces.
    visible, bold = parse_description(description)
    expected = quote.before + quote.highlight + quote.after
    if quote.cut_before:
        expected = ELLIPSIS + expected
    if quote.cut_highlight or quote.cut_after:
        expected += ELLIPSIS
    assert visible == expected
    if quote.highlight.strip():
        assert bold == [quote.highlight]
    if not quote.trimmed:
        assert visible == p.text


# -- whole answers ---------------------------------------------------------------------------------
@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(answers())
def test_every_message_fits_every_limit(answer: Answer) -> None:
    messages = render_answer(answer)
    assert_fits(messages)
    embeds = [e for m in messages for e in m.embeds]
    if answer.answered:
        # One embed per passage, in order: splits fall between passages, never inside one.
        assert [e.title.split("]")[0] for e in embeds] == [
            f"[{n}" for n in range(1, len(answer.passages) + 1)
        ]
        for embed, p in zip(embeds, answer.passages):
            visible = parse_description(embed.description)[0]
            assert visible.removeprefix(ELLIPSIS).removesuffix(ELLIPSIS) in p.text  # "…" marks a cut
    else:
        assert len(messages) == 1 and not embeds
    assert "Question:" in messages[0].content


def test_many_long_passages_are_split_across_messages_at_passage_boundaries() -> None:
    long = passage("A sentence that goes on. " * 150, 0, 25)  # about 3,750 characters
    messages = render_answer(Answer("What happened?", True, (long,) * 12))
    assert len(messages) > 1
    assert_fits(messages)
    assert sum(len(m.embeds) for m in messages) == 12
    assert messages[0].content.startswith("**Question:** What happened?")
    assert all(not m.content for m in messages[1:])


def test_decline_says_so_plainly_and_lists_what_the_corpus_covers() -> None:
    [message] = render_answer(
        Answer("Who won the 1998 World Cup?", False, (), ("Telegram vs FSB", "Another *doc*"))
    )
    assert "do not answer this question" in message.content
    assert "- Telegram vs FSB" in message.content and "- Another \\*doc\\*" in message.content
    assert not message.embeds


def test_decline_for_an_unknown_name_says_which_escaped() -> None:
    [message] = render_answer(
        Answer("Who is *Sig*nal?", False, (), ("Doc",), unknown_names=("*Sig*nal", "@everyone"))
    )
    assert "do not mention “\\*Sig\\*nal” and “\\@everyone”, so I will not guess." in message.content
    assert "- Doc" in message.content and discord_len(message.content) <= CONTENT_LIMIT


def test_decline_for_a_missing_kind_of_answer_says_which() -> None:
    [message] = render_answer(Answer("When was it founded?", False, (), ("Doc",), missing="date"))
    assert "asks for a date, and none of the passages nearest it gives one" in message.content
    assert "- Doc" in message.content and not message.embeds


def test_decline_with_very_many_suggestions_still_fits() -> None:
    [message] = render_answer(Answer("q", False, (), tuple(f"Document {n} " + "x" * 150 for n in range(100))))
    assert discord_len(message.content) <= CONTENT_LIMIT
    assert "more" in message.content.splitlines()[-1]


def test_question_text_is_escaped_in_the_header() -> None:
    [message] = render_answer(Answer("@everyone <@1> **now**", False))
    assert message.content.startswith("**Question:** \\@everyone \\<\\@1\\> \\*\\*now\\*\\*")


def test_sources_are_listed_a_page_at_a_time_within_limits() -> None:
    sources = [SourceInfo(f"doc{n}.md", f"Doc {n} @everyone " + "x" * 250, "2017", "Reuters <@1>",
                          f"https://example.org/{n}", n, "ru") for n in range(400)]
    seen = 0
    for number in range(1, 21):
        messages = render_sources(page_of(sources, number))
        assert_fits(messages)
        text = "\n".join(e.description for m in messages for e in m.embeds)
        seen += text.count("Doc ")
        assert "@everyone" not in text.replace("\\@", "") and "<@1>" not in text
        assert "2017 · Reuters \\<\\@1\\> · Russian · doc" in text
        more = " Send /sources page:" + str(number + 1) + " for the next." if number < 20 else ""
        assert messages[0].content == f"I answer from 400 documents: Page {number} of 20.{more}"
    assert seen == 400
