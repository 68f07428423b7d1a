"""Answers: verbatim passages, highlights, no overlap, declines, bad questions. What holds whatever the
models find runs on the stand-in models (fast_casebot); what the real models find, on them (casebot)."""

from __future__ import annotations

import pytest

from bot.service import CaseBot
from index.errors import QuestionRejected

QUESTIONS = [
    "Why did Iran open a criminal case against Pavel Durov?",
    "What does Yarovaya's law require from network operators?",
    "What did Durov say about weakening encryption?",
    "How many users does Telegram have in Russia?",
]


@pytest.mark.parametrize("question", QUESTIONS)
def test_every_passage_is_an_exact_slice_and_highlight_is_inside_it(
    fast_casebot: CaseBot, question: str
) -> None:
    answer = fast_casebot.ask(question, top_k=5)
    assert answer.answered and len(answer.passages) == 5
    documents = {d.doc_id: d for d in fast_casebot.searcher.documents}
    spans = []
    for passage in answer.passages:
        document = documents[passage.doc_id]
        assert passage.text == document.text[passage.start : passage.end]
        assert passage.highlight and passage.highlight in passage.text
        assert passage.text[passage.highlight_start : passage.highlight_end] == passage.highlight
        assert passage.title == document.title and passage.date == "2017-09-28"
        spans.append((passage.start, passage.end))
    spans.sort()
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(spans, spans[1:])), "passages overlap"
    scores = [p.score for p in answer.passages]
    assert scores[0] == max(scores)


def test_best_passage_answers_a_plain_question(casebot: CaseBot) -> None:
    answer = casebot.ask("How many people in Iran use Telegram?")
    assert "Around 40 million people in Iran use Telegram" in answer.passages[0].highlight


@pytest.mark.parametrize(
    "question",
    ["What's a good recipe for chocolate chip cookies?", "How do I reverse a list in Python?",
     "Who won the 2018 FIFA World Cup?"],
)
def test_off_topic_question_is_declined_with_what_the_corpus_covers(casebot: CaseBot, question: str) -> None:
    answer = casebot.ask(question)
    assert not answer.answered and answer.passages == ()
    # the nearest
    assert answer.suggestions == ("Iran Joins Russia’s FSB In Fight Against Internet Freedoms",)


@pytest.mark.parametrize(
    ("question", "names"),
    [("What encryption protocol does Signal use?", ("Signal",)),
     ("What did Mark Zuckerberg say about encryption?", ("Mark Zuckerberg",)),
     ("How many people used Telegram in Iran in 2024?", ("2024",))],
)
def test_question_naming_what_no_document_mentions_is_declined_with_the_name(
        fast_casebot: CaseBot, question: str, names: tuple[str, ...]) -> None:
    """These are about the case's topics (encryption, Telegram's users); the name or year is what the
    corpus lacks."""
    answer = fast_casebot.ask(question)
    assert not answer.answered and answer.passages == () and answer.unknown_names == names
    assert answer.suggestions


@pytest.mark.parametrize("question", [
    "Why might Iran be siding with Moscow against the messenger?",
    "What does the Kremlin want from the messenger's founder?",
    "Is the app still available in the Islamic Republic?",
    "What happened after the metro attack in St Petersburg?",
])
def test_a_name_standing_for_one_the_corpus_writes_is_not_unknown(casebot: CaseBot, question: str) -> None:
    """The article writes "Russia", "Iran" and "Saint Petersburg", never "Moscow", "the Kremlin", "the
    Islamic Republic" or "St Petersburg" (index.search.aliases; "the X" is a description, not a name)."""
    assert casebot.searcher.unknown_terms(question) == ()


@pytest.mark.parametrize(("question", "names"), [
    ("When did China block the Signal messenger?", ("China", "Signal")),
    ("What encryption protocol does Signal use?", ("Signal",)),
    ("Why did Belarus restrict the messenger?", ("Belarus",)),
])
def test_a_name_nothing_in_the_corpus_stands_for_still_declines(casebot: CaseBot, question: str,
                                                                names: tuple[str, ...]) -> None:
    answer = casebot.ask(question)
    assert not answer.answered and answer.unknown_names == names and answer.reason == "unknown_names"


def test_a_question_asking_a_figure_no_passage_gives_is_declined_saying_so(casebot: CaseBot) -> None:
    """The article gives Telegram's users, channels and messages in figures, never its engineers."""
    answer = casebot.ask("How many engineers work for Telegram?")
    assert not answer.answered and answer.missing == "amount" and answer.reason == "no_amount"
    assert answer.suggestions  # the documents nearest it


@pytest.mark.parametrize(
    ("question", "message"),
    [("", "empty"), ("   \n\t ", "empty"), ("x" * 100_000, "too long"), ("a\x00b\x00c", "binary"),
     ("?!?", "no words"), (b"\xff\xfe\x00".decode("latin-1") * 20, "binary")],
)
def test_unusable_question_is_rejected_with_a_reason(
    fast_casebot: CaseBot, question: str, message: str
) -> None:
    with pytest.raises(QuestionRejected, match=message):
        fast_casebot.ask(question)


def test_markup_in_a_question_is_treated_as_text(fast_casebot: CaseBot) -> None:
    answer = fast_casebot.ask("<b>Who</b> is **Zharov**? @everyone")
    assert answer.question == "<b>Who</b> is **Zharov**? @everyone"
    assert answer.answered and "Zharov" in answer.passages[0].text


def test_sources_list_the_documents_with_chunk_counts(fast_casebot: CaseBot) -> None:
    (source,) = fast_casebot.sources()
    assert (
        source.doc_id == "iran-fsb-telegram-2017.md" and source.chunks == 16 and source.date == "2017-09-28"
    )
