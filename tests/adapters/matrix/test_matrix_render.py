"""The Matrix renderer, without a server: verbatim quotes, escaping, and the event size limit."""

from __future__ import annotations

import html
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.answer import Answer
from bot.render.matrix import (CONTENT_BUDGET, ELISION, MAX_EVENT_BYTES, render_answer, render_decline,
                               render_help, render_sources, render_text)
from bot.service import SourceInfo
from bot.sources import page_of
from index.types import Passage


def passage(text: str, highlight: tuple[int, int] | None = None, **fields: object) -> Passage:
    start, end = highlight or (0, len(text))
    values: dict[str, object] = dict(doc_id="a.md", title="Iran Joins Russia’s FSB", date="2017-09-28",
                                     source="Example News", url=None, paragraph=4, page=None, text=text,
                                     start=100, end=100 + len(text), highlight_start=start, highlight_end=end,
                                     score=0.9)
    values.update(fields)
    return Passage(**values)  # type: ignore[arg-type]


def visible(formatted: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", formatted.replace("<br>", "\n")))


def quotes(formatted: str) -> list[str]:
    return [
        visible(q) for q in re.findall(r'<blockquote dir="auto">(.*?)</blockquote>', formatted, flags=re.S)
    ]


def test_passage_is_quoted_verbatim_with_its_highlight_in_bold():
    text = "Telegram’s London office receives frequent letters.\nThe FSB demands the keys."
    p = passage(text, (52, len(text)))
    rendered = render_answer(Answer("q", True, (p,)))
    assert quotes(rendered.html) == [text]
    assert "<strong>The FSB demands the keys.</strong>" in rendered.html
    assert "— Iran Joins Russia’s FSB, 2017-09-28, Example News, ¶ 4" in rendered.body
    assert (
        "> Telegram’s London office receives frequent letters.\n> The FSB demands the keys." in rendered.body
    )


def test_a_passage_without_highlight_is_quoted_whole_without_empty_bold():
    rendered = render_answer(Answer("q", True, (passage("Just the paragraph.", (5, 5)),)))
    assert "<strong>" not in rendered.html
    assert quotes(rendered.html) == ["Just the paragraph."]


def test_attribution_names_the_page_for_pdfs_and_links_only_web_urls():
    pdf = passage("Text.", page=3, url="https://example.org/a?x=1&y=<2>")
    rendered = render_answer(Answer("q", True, (pdf,)))
    assert "Example News, p. 3, ¶ 4" in rendered.body
    # a PDF's link opens its page (bot.links)
    assert '<a href="https://example.org/a?x=1&amp;y=&lt;2&gt;#page=3">Iran Joins Russia’s FSB</a>' \
        in rendered.html
    sneaky = passage("Text.", url="javascript:alert(1)")
    assert "javascript:" not in render_answer(Answer("q", True, (sneaky,))).html


def test_corpus_and_question_text_is_escaped():
    hostile = passage("<script>alert(1)</script> & <img src=x onerror=y>", (0, 8),
                      title="</blockquote><b>Title</b>", source="<i>src</i>")
    rendered = render_answer(Answer("<q>", True, (hostile,)))
    assert "<script" not in rendered.html and "<img" not in rendered.html
    assert "<b>" not in rendered.html and "<i>" not in rendered.html
    assert rendered.html.count('<blockquote dir="auto">') == rendered.html.count("</blockquote>") == 1
    assert quotes(rendered.html) == [hostile.text]
    declined = render_decline(Answer("<script>x</script>", False, (), ("<b>A</b>",)))
    assert "&lt;script&gt;x&lt;/script&gt;" in declined.html and "&lt;b&gt;A&lt;/b&gt;" in declined.html


def test_decline_says_so_and_lists_what_the_corpus_covers():
    rendered = render_answer(Answer("pizza?", False, (), ("Doc one", "Doc two")))
    assert rendered.body.startswith(
        "Question: pizza?\nThe documents I have do not answer this question, so I will not guess."
    )
    assert "• Doc one\n• Doc two" in rendered.body
    assert "<li>Doc one</li><li>Doc two</li>" in rendered.html
    assert "<blockquote" not in rendered.html


def test_decline_for_unknown_names_says_which_escaped():
    rendered = render_answer(Answer("q", False, (), ("Doc",), unknown_names=("<b>Signal</b>", "B", "C", "D")))
    assert "The documents I have do not mention “<b>Signal</b>”, “B”, “C” and 1 more, so" in rendered.body
    assert "&lt;b&gt;Signal&lt;/b&gt;" in rendered.html and "<b>" not in rendered.html


def test_decline_for_a_missing_kind_of_answer_says_which():
    rendered = render_answer(Answer("How much <b>?", False, (), ("Doc",), missing="amount"))
    assert "The question asks for a figure, and none of the passages nearest it gives one" in rendered.body
    assert "&lt;b&gt;" in rendered.html and "<li>Doc</li>" in rendered.html


def test_too_many_passages_drop_whole_lowest_ranked_passages_with_a_note():
    paragraphs = [passage(f"Passage {n}. " + "word " * 3000, (0, 10), paragraph=n) for n in range(1, 9)]
    rendered = render_answer(Answer("q", True, tuple(paragraphs)))
    assert rendered.size <= CONTENT_BUDGET
    shown = quotes(rendered.html)
    assert 1 <= len(shown) < 8
    assert shown == [p.text for p in paragraphs[: len(shown)]]  # whole, verbatim, best first
    dropped = 8 - len(shown)
    assert f"{dropped} more passages were left out to fit Matrix's message size limit." in rendered.body
    assert ELISION not in rendered.body


def test_one_huge_passage_is_shortened_around_its_highlight_and_says_so():
    text = "Before. " * 5000 + "THE KEY SENTENCE." + " After." * 5000
    start = text.index("THE KEY")
    huge = passage(text, (start, start + len("THE KEY SENTENCE.")))
    rendered = render_answer(Answer("q", True, (huge, passage("Second."))))
    assert rendered.size <= CONTENT_BUDGET
    assert rendered.size > CONTENT_BUDGET - 1000  # uses the room it has
    [shown] = quotes(rendered.html)
    assert "<strong>THE KEY SENTENCE.</strong>" in rendered.html
    before, after = shown.split("THE KEY SENTENCE.")
    assert before.startswith(ELISION) and after.endswith(ELISION)
    assert before[len(ELISION):].strip() in text and after[: -len(ELISION)].strip() in text  # still verbatim
    assert "The quote was shortened ([…]) to fit" in rendered.body
    assert "1 more passage was left out" in rendered.body


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=40_000), min_size=1, max_size=5))
def test_any_answer_fits_the_event_limit_and_quotes_are_verbatim_or_marked(texts):
    passages = tuple(passage(t, (0, min(len(t), 7))) for t in texts)
    rendered = render_answer(Answer("q", True, passages))
    assert rendered.size <= CONTENT_BUDGET < MAX_EVENT_BYTES
    for shown, original in zip(quotes(rendered.html), texts):
        if ELISION in shown and ELISION not in original:  # shortened: the note says so, the rest is verbatim
            assert "The quote was shortened" in rendered.body
            assert all(piece.strip() in original for piece in shown.split(ELISION))
        else:
            assert shown == original


def test_sources_list_titles_dates_languages_files_and_links():
    sources = [SourceInfo("a.md", "First <doc>", "2017-09-28", "News", "https://example.org/a", 16),
               SourceInfo("posts.json#83", "Channel — post 83", None, None, "javascript:x", 1, "fa")]
    rendered = render_sources(page_of(sources))
    assert ("• First <doc> (2017-09-28 · News · English · a.md · 16 passages) https://example.org/a"
            in rendered.body)
    assert "• Channel — post 83 (undated · Persian · posts.json · 1 passage)" in rendered.body
    assert '<a href="https://example.org/a">First &lt;doc&gt;</a>' in rendered.html
    assert "javascript" not in rendered.html and rendered.body.endswith("Page 1 of 1.")


def test_sources_are_paged_and_each_page_fits():
    many = [
        SourceInfo(f"{n}.md", f"Document number {n} " + "x" * 4000, None, None, None, 1) for n in range(2000)
    ]
    first, last = render_sources(page_of(many, 1)), render_sources(page_of(many, 999))
    assert first.size <= CONTENT_BUDGET and last.size <= CONTENT_BUDGET
    assert first.body.endswith("Page 1 of 100. Send !sources 2 for the next.")
    assert "Document number 1999 " in last.body and last.body.endswith("Page 100 of 100.")
    assert '<ol start="1981">' in last.html
    assert first.body.count("• Document number") == 20 and " …" in first.body  # titles cut, none left out


def test_plain_notices_and_help_are_escaped():
    assert render_text("a <b> & c").html == "<p>a &lt;b&gt; &amp; c</p>"
    helped = render_help("@casebot:example.org", "Case <Bot>")
    assert "Case &lt;Bot&gt;:" in helped.html and "!ask" in helped.body


def test_decline_reads_the_same_in_matrix_discord_and_the_terminal():
    from bot.render import discord, terminal, wording

    declined = Answer("q", False, (), ("Doc",))
    unknown = Answer("q", False, (), ("Doc",), unknown_names=("Signal",))
    for answer in (declined, unknown):
        sentence = wording.decline(answer.unknown_names_phrase() if answer.unknown_names else "")
        assert sentence in render_answer(answer).body
        assert sentence in discord.render_answer(answer)[0].content
        assert sentence in terminal.render_answer(answer)
