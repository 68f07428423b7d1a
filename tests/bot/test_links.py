"""Links to the quoted place (bot.links) and how each renderer and the JSON answer carry them."""

from __future__ import annotations

import dataclasses
from urllib.parse import unquote

from bot.answer import Answer
from bot.links import quote_link
from bot.render.discord import render_answer as discord_answer
from bot.render.matrix import render_answer as matrix_answer
from bot.render.terminal import render_answer as terminal_answer
from index.types import Passage

TEXT = "Before it. The court, led by judge Smolina-Orlova, fined Telegram 800,000 rubles & more. After."
HIGHLIGHT = "The court, led by judge Smolina-Orlova, fined Telegram 800,000 rubles & more."


def passage(url: str | None, page: int | None = None, text: str = TEXT,
            highlight: str = HIGHLIGHT) -> Passage:
    start = text.index(highlight)
    return Passage(doc_id="doc.md", title="A ruling", date="2017-10-16", source="Court", url=url, paragraph=3,
                   page=page, text=text, start=0, end=len(text), highlight_start=start,
                   highlight_end=start + len(highlight), score=1.0)


def test_a_web_page_links_to_its_quote_with_an_encoded_text_fragment() -> None:
    link = quote_link(passage("https://example.org/ruling"))
    assert link is not None and link.startswith("https://example.org/ruling#:~:text=")
    directive = link.split(":~:text=", 1)[1]
    start, end = directive.split(",")  # more than eight words: named by its first and last four
    assert unquote(start) == "The court, led by" and unquote(end) == "800,000 rubles & more."
    assert "-" not in directive and "&" not in directive and " " not in directive
    assert "%2C" in start  # the comma inside a word list is encoded, never the directive's separator


def test_a_short_quote_is_named_whole_and_a_fragment_already_in_the_address_is_kept() -> None:
    short = passage("https://example.org/a#top", text="Fined. Then appealed.", highlight="Then appealed.")
    assert quote_link(short) == "https://example.org/a#top:~:text=Then%20appealed."


def test_a_pdf_links_to_its_page_and_a_telegram_post_to_itself() -> None:
    assert quote_link(passage("https://example.org/ruling.pdf#x", page=4)) == "https://example.org/ruling.pdf#page=4"
    assert quote_link(passage("https://t.me/durov/83")) == "https://t.me/durov/83"


def test_no_web_address_no_link() -> None:
    for url in (None, "", "file:///etc/passwd", "javascript:alert(1)", "https://exa mple.org"):
        assert quote_link(passage(url)) is None


def test_every_renderer_and_the_json_answer_carry_the_link() -> None:
    quoted = passage("https://example.org/ruling")
    link = quote_link(quoted)
    assert link is not None
    answer = Answer("Who fined Telegram?", True, (quoted,))
    assert answer.to_json()["passages"][0]["link"] == link
    assert answer.to_json()["passages"][0]["url"] == "https://example.org/ruling"
    assert link in terminal_answer(answer)
    assert f'<a href="{link}">A ruling</a>' in matrix_answer(answer).html
    assert discord_answer(answer)[0].embeds[0].url == link
    without = Answer("Who fined Telegram?", True, (dataclasses.replace(quoted, url=None),))
    assert without.to_json()["passages"][0]["link"] is None
    assert "<a href" not in matrix_answer(without).html
