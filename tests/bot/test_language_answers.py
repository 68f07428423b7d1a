"""Questions in English, Russian and Persian over a corpus in all three, with the real models: quotes
stay verbatim in their document's language, the attribution names it, right-to-left text is laid out
right to left by every renderer, and a language casebot does not read gets a sentence."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.render import PDI, RLI
from bot.render import discord as discord_render
from bot.render import matrix as matrix_render
from bot.render import terminal
from bot.render.wording import QUESTION_LANGUAGES
from bot.service import CaseBot
from index.models.models import Models
from index.ingest.documents import scan_corpus
from index.search.searcher import SearchParams, Searcher
from index.models.retrieval_models import CrossEncoder
from tests.support import ARTICLE, settings_for

CASE = Path(__file__).resolve().parents[1] / "eval" / "case" / "corpus"
RUSSIAN, PERSIAN = "telegram-apple-privacy-2018.md", "telegram-iran-forks-1398.md"
# Asked of documents written for the evaluation (tests/eval/case), not of its question sets.
ASKED_IN_RUSSIAN = "Когда Роскомнадзор направил Apple письмо с требованием удалить Telegram из App Store?"
ASKED_IN_PERSIAN = "چه کسی گفت سرورهای هات‌گرام و طلاگرام در وزارت ارتباطات است؟"
ASKED_IN_RUSSIAN_OF_THE_ARTICLE = "Какие данные Роскомнадзор потребовал от Дурова?"
# Asked in English of what only the Russian or the Persian document says.
ASKED_OF_THE_RUSSIAN = "What did the press take Roskomnadzor's warning to Apple for?"
ASKED_OF_THE_PERSIAN = "What did Khorramabadi say the two apps opened to foreigners?"


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("languages")
    (root / "corpus").mkdir()
    for source in (ARTICLE, CASE / RUSSIAN, CASE / PERSIAN):
        shutil.copy(source, root / "corpus" / source.name)
    return root


@pytest.fixture(scope="module")
def bot(root: Path, models: Models, reranker: CrossEncoder) -> CaseBot:
    casebot = CaseBot(settings_for(root), models.replace(reranker=reranker))
    casebot.open(build_if_missing=True)
    return casebot


def text_of(root: Path, name: str) -> str:
    return (root / "corpus" / name).read_text(encoding="utf-8")


def test_a_russian_question_is_answered_with_a_verbatim_russian_quote(bot: CaseBot, root: Path) -> None:
    answer = bot.ask(ASKED_IN_RUSSIAN)
    assert answer.answered and answer.language == "ru"
    top = answer.passages[0]
    assert (top.doc_id, top.language) == (RUSSIAN, "ru")
    assert top.text in text_of(root, RUSSIAN) and "28 мая" in top.highlight
    assert "in Russian" in terminal.attribution(top)


def test_a_russian_question_finds_the_english_article(bot: CaseBot) -> None:
    answer = bot.ask(ASKED_IN_RUSSIAN_OF_THE_ARTICLE)
    assert answer.answered
    english = [p for p in answer.passages if p.language == "en"]
    assert english and english[0].text in ARTICLE.read_text(encoding="utf-8")
    assert "in English" not in terminal.attribution(english[0])  # English needs no label


def test_persian_quotes_are_laid_out_right_to_left_everywhere(bot: CaseBot, root: Path) -> None:
    answer = bot.ask(ASKED_IN_PERSIAN)
    assert answer.answered and answer.language == "fa"
    persian = [p for p in answer.passages if p.language == "fa"]
    assert persian and persian[0].doc_id == PERSIAN and "جلالی" in persian[0].text
    quote = persian[0]
    assert quote.text in text_of(root, PERSIAN)  # verbatim: nothing translated, nothing added

    shown = terminal.render_answer(answer)
    assert f"{RLI}{quote.highlight}{PDI}" in shown and "in Persian" in shown

    rendered = matrix_render.render_answer(answer)
    assert '<blockquote dir="auto">' in rendered.html and "in Persian" in rendered.html
    assert any(line.startswith(f"> {RLI}") and line.endswith(PDI) for line in rendered.body.splitlines())

    embeds = [e for message in discord_render.render_answer(answer) for e in message.embeds]
    persian_embed = embeds[answer.passages.index(quote)]
    assert persian_embed.description.startswith(RLI) and persian_embed.description.endswith(PDI)
    assert "in Persian" in persian_embed.footer
    assert len(persian_embed.description) <= discord_render.DESCRIPTION_LIMIT


def test_without_the_cross_encoder_every_language_is_still_answered(bot: CaseBot, models: Models) -> None:
    index = bot.searcher.index
    searcher = Searcher(index, models, SearchParams(rerank_depth=0))
    english = searcher.search("What did Roskomnadzor demand from Durov in May?", 3)
    assert english.answered and english.passages[0].language == "en"
    russian = searcher.search(ASKED_IN_RUSSIAN, 3)
    assert russian.answered and russian.passages[0].doc_id == RUSSIAN
    assert not searcher.search("What is the best pizza recipe in Naples?", 3).answered


def test_an_english_question_only_a_russian_document_answers_gets_its_quote_first_in_every_renderer(
    bot: CaseBot, root: Path
) -> None:
    answer = bot.ask(ASKED_OF_THE_RUSSIAN)
    assert answer.answered and answer.language == "en"
    top = answer.passages[0]
    assert (top.doc_id, top.language) == (RUSSIAN, "ru") and "угрозу" in top.text
    assert top.text in text_of(root, RUSSIAN)  # verbatim, not translated
    assert "· in Russian" in terminal.render_answer(answer)
    assert "in Russian" in matrix_render.render_answer(answer).html
    assert "in Russian" in discord_render.render_answer(answer)[0].embeds[0].footer


def test_a_first_place_persian_quote_is_isolated_right_to_left_in_every_renderer(bot: CaseBot,
                                                                                root: Path) -> None:
    answer = bot.ask(ASKED_OF_THE_PERSIAN)
    assert answer.answered and answer.language == "en"
    top = answer.passages[0]
    assert (top.doc_id, top.language) == (PERSIAN, "fa") and "خرم‌آبادی" in top.text
    assert top.text in text_of(root, PERSIAN)
    shown = terminal.render_answer(answer)
    assert f"{RLI}{top.highlight}{PDI}" in shown and "· in Persian" in shown
    rendered = matrix_render.render_answer(answer)
    assert '<blockquote dir="auto">' in rendered.html and "in Persian" in rendered.html
    embed = discord_render.render_answer(answer)[0].embeds[0]
    assert embed.description.startswith(RLI) and embed.description.endswith(PDI)
    assert "in Persian" in embed.footer


def test_english_quotes_carry_no_direction_marks(bot: CaseBot) -> None:
    answer = bot.ask("What did Roskomnadzor demand from Durov in May?")
    assert answer.answered and answer.passages[0].language == "en"
    assert RLI not in terminal.render_answer(answer) and RLI not in matrix_render.render_answer(answer).body


@pytest.mark.parametrize("question, language", [("Wann wurde Telegram in Russland gesperrt?", "German"),
                                                ("متى حظرت إيران تيليجرام؟", "Arabic")])
def test_a_question_in_a_language_casebot_does_not_read_gets_a_sentence(bot: CaseBot, question: str,
                                                                        language: str) -> None:
    answer = bot.ask(question)
    assert not answer.answered and answer.unserved_language == language and not answer.passages
    shown = terminal.render_answer(answer)
    assert f"I read questions in {QUESTION_LANGUAGES}; this one looks like {language}." in shown
    assert f"looks like {language}" in matrix_render.render_answer(answer).body
    assert f"looks like {language}" in discord_render.render_answer(answer)[0].content


def test_the_command_line_answers_in_russian_with_the_language_in_json(
    bot: CaseBot, root: Path, cli_process: Callable[..., Any]
) -> None:
    result = cli_process(root, "ask", "--json", ASKED_IN_RUSSIAN)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["language"] == "ru" and data["answered"]
    top = data["passages"][0]
    assert top["language"] == "ru" and top["doc_id"] == RUSSIAN
    document = next(d for d in scan_corpus(root / "corpus").documents if d.doc_id == RUSSIAN).text
    assert document[top["start"]:top["end"]] == top["text"]  # an exact slice of the text read
    assert top["text"] in text_of(root, RUSSIAN)
    shown = cli_process(root, "ask", ASKED_IN_RUSSIAN)
    assert shown.returncode == 0 and re.search(r"· in Russian", shown.stdout), shown.stdout
