"""The evaluation sets are sound, and the default settings keep their measured quality on the real models."""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import pytest
import yaml

from bot.evaluation import evaluate, load_questions
from bot.service import CaseBot
from index.models.models import Models
from index.ingest.documents import scan_corpus
from index.models.retrieval_models import CrossEncoder
from tests.support import ARTICLE, EVAL_FILE, REPO, assert_floors, settings_for


def test_evaluation_set_has_verbatim_gold_and_enough_hard_questions() -> None:
    text = ARTICLE.read_text(encoding="utf-8")
    lines = [json.loads(line) for line in EVAL_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]
    on_topic = [line for line in lines if line.get("gold")]
    off_topic = [
        line for line in lines if not line.get("gold") and line.get("kind", "off_topic") == "off_topic"
    ]
    assert len(on_topic) >= 40 and len(off_topic) >= 10
    assert sum(bool(line.get("paraphrase")) for line in on_topic) * 2 >= len(on_topic)
    for line in on_topic:
        for span in line["gold"]:
            assert span in text, f"gold span is not verbatim: {span!r}"
    assert len({line["q"] for line in lines}) == len(lines), "duplicate questions"


# Measured with the default settings (docs/evaluation.md), 97 on-topic questions: recall@1 0.732,
# recall@3 0.887, highlight 0.608, 47 of 51 off-topic questions declined, 4 on-topic ones (names the
# article never writes are read through index.search.aliases; "the Kremlin" is a description). These floors
# keep what is reached from silently getting worse.
def test_default_settings_keep_the_measured_retrieval_quality(casebot: CaseBot) -> None:
    report = evaluate(load_questions(EVAL_FILE), lambda question: casebot.ask(question, 3))
    assert_floors(report, recall_at_1=0.72, recall_at_3=0.87, highlight=0.59, off_topic_declined=47,
                  on_topic_declined_at_most=4, mrr=0.74)


CASE = REPO / "tests" / "eval" / "case"


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_case_evaluation_set_has_gold_documents_and_enough_hard_questions() -> None:
    documents = {d.doc_id: d for d in scan_corpus(CASE / "corpus").documents}
    lines, blind = _lines(CASE / "questions.jsonl"), _lines(CASE / "blind.jsonl")
    assert len(documents) >= 9 and {Path(d).suffix for d in documents} >= {".md", ".html", ".pdf"}
    on_topic = [line for line in lines if line.get("gold")]
    off_topic = [line for line in lines if line.get("kind") == "off_topic"]
    assert len(on_topic) >= 80 and sum(bool(line.get("paraphrase")) for line in on_topic) * 2 > len(on_topic)
    assert sum(line.get("tag") == "disambiguation" for line in on_topic) >= 20
    assert len(off_topic) >= 25 and sum(bool(line.get("near")) for line in off_topic) >= 12
    assert len(blind) >= 20 and not {line["q"] for line in blind} & {line["q"] for line in lines}
    for line in on_topic + [line for line in blind if line.get("gold")]:
        text = documents[line["doc"]].text
        for span in line["gold"]:
            assert span in text, f"gold span is not verbatim in {line['doc']}: {span!r}"
    assert len({line["q"] for line in lines}) == len(lines), "duplicate questions"


def _script(text: str) -> str:
    """The language a document's letters are mostly written in: "ru" (Cyrillic), "fa" (Arabic script)
    or "en"."""
    cyrillic = sum("\u0400" <= ch <= "\u04ff" for ch in text)
    arabic = sum("\u0600" <= ch <= "\u06ff" for ch in text)
    latin = sum(ch.isascii() and ch.isalpha() for ch in text)
    return "ru" if cyrillic > max(arabic, latin) else "fa" if arabic > max(cyrillic, latin) else "en"


def _front_matter(path: Path) -> dict:
    match = re.match(r"---\n(.*?)\n---\n", path.read_text(encoding="utf-8"), re.S)
    return yaml.safe_load(match.group(1)) if match else {}


# Issue 16: questions in English, Russian and Persian over the whole corpus, whose answers lie in a
# document of another language (or the same one); written before any retrieval was run on them.
def test_language_evaluation_sets_have_verbatim_gold_in_documents_of_the_right_language() -> None:
    documents = {d.doc_id: d for d in scan_corpus(CASE / "corpus").documents}
    language = {doc_id: _script(d.text) for doc_id, d in documents.items()}
    for doc_id, lang in language.items():
        if lang == "ru":  # for now a Russian document must say so; the Persian one deliberately does not
            assert _front_matter(CASE / "corpus" / doc_id).get("lang") == "ru", doc_id
    assert any(lang == "fa" and "lang" not in _front_matter(CASE / "corpus" / doc_id)
               for doc_id, lang in language.items()), "no Persian document left for language detection"
    lines, blind = _lines(CASE / "languages.jsonl"), _lines(CASE / "languages-blind.jsonl")
    earlier = {line["q"] for name in ("questions.jsonl", "blind.jsonl") for line in _lines(CASE / name)}
    questions = [line["q"] for line in lines + blind]
    assert len(set(questions)) == len(questions) and not set(questions) & earlier, "duplicate questions"
    for line in lines + blind:
        assert line["lang"] in {"en", "ru", "fa"}
        if line.get("kind") == "off_topic":
            assert line["gold"] == []
            continue
        assert line["gold"] and line["doc"] in documents, line["q"]
        assert line["direction"] == f"{line['lang']}→{language[line['doc']]}", line["q"]
        text = documents[line["doc"]].text
        for span in line["gold"]:
            assert span in text, f"gold span is not verbatim in {line['doc']}: {span!r}"
            assert unicodedata.normalize("NFC", span) == span, f"gold span is not NFC: {span!r}"

    def count(rows: list[dict], *directions: str, paraphrased: bool = False) -> int:
        return sum(line.get("direction") in directions and (not paraphrased or bool(line.get("paraphrase")))
                   for line in rows)

    def off_topic(rows: list[dict], lang: str) -> int:
        return sum(line.get("kind") == "off_topic" and line["lang"] == lang for line in rows)

    # The tuning part: English questions answered only by the Russian and Persian documents, Russian and
    # Persian ones answered by documents of either language, about a third of each group paraphrased.
    minimums = {("en→ru",): 18, ("en→fa",): 7, ("en→ru", "en→fa"): 28, ("ru→ru",): 7, ("ru→en",): 6,
                ("ru→ru", "ru→en"): 15, ("fa→fa",): 3, ("fa→en",): 2}
    for directions, least in minimums.items():
        assert count(lines, *directions) >= least, directions
        assert count(lines, *directions, paraphrased=True) * 4 >= count(lines, *directions), directions
    assert off_topic(lines, "ru") >= 4 and off_topic(lines, "fa") >= 2
    assert count(blind, "en→ru", "en→fa") >= 8 and count(blind, "ru→ru", "ru→en") >= 5
    assert count(blind, "fa→fa", "fa→en") >= 2 and off_topic(blind, "ru") + off_topic(blind, "fa") >= 2


# Measured with the default settings (docs/evaluation.md): A, the set the settings were tuned on (131
# on-topic questions over fourteen documents), recall@1 0.641, recall@3 0.779, right document 0.794,
# highlight 0.565, 22 of 25 off-topic questions declined, 2 on-topic ones; B, written by someone who
# never ran the pipeline and never tuned on (111 over ten documents), 0.856 / 0.946, right document
# 0.973, highlight 0.766, 15 of 20 off-topic declined, 1 on-topic. The targets are higher; these
# floors keep what is reached from silently getting worse.
@pytest.fixture(scope="module")
def case_bot(models: Models, reranker: CrossEncoder, tmp_path_factory: pytest.TempPathFactory) -> CaseBot:
    """The default CaseBot over the many-document corpus (English, Russian and Persian documents)."""
    settings = settings_for(tmp_path_factory.mktemp("case"), corpus_dir=CASE / "corpus")
    bot = CaseBot(settings, models.replace(reranker=reranker))
    bot.open(build_if_missing=True)
    return bot


def test_default_settings_keep_the_measured_quality_on_many_documents(case_bot: CaseBot) -> None:
    report = evaluate(load_questions(CASE / "questions.jsonl"), lambda question: case_bot.ask(question, 3))
    assert_floors(report, recall_at_1=0.63, recall_at_3=0.77, highlight=0.55, off_topic_declined=22,
                  on_topic_declined_at_most=2, right_document=0.78)


def test_default_settings_keep_the_measured_quality_on_the_held_out_case_set(
        models: Models, reranker: CrossEncoder, tmp_path: Path) -> None:
    case2 = REPO / "tests" / "eval" / "case2"
    bot = CaseBot(settings_for(tmp_path, corpus_dir=case2 / "corpus"), models.replace(reranker=reranker))
    bot.open(build_if_missing=True)
    report = evaluate(load_questions(case2 / "questions.jsonl"), lambda question: bot.ask(question, 3))
    assert_floors(report, recall_at_1=0.84, recall_at_3=0.93, highlight=0.75, off_topic_declined=15,
                  on_topic_declined_at_most=1, right_document=0.96)


# Measured with the default settings (docs/evaluation.md, "Languages"), 48 questions answered only by
# the Russian and Persian documents or asked in those languages, by direction: recall@1 / recall@3
# (another language's best passage comes first, or joins the three, when index.search.answer_language says it
# answers). The targets (0.60 / 0.90 each way) are not all reached; these floors keep what is.
LANGUAGE_FLOORS = {  # direction: floors of EvalReport fields
    "en→ru": {"recall_at_1": 0.50, "recall_at_3": 0.70}, "en→fa": {"recall_at_1": 0.35, "recall_at_3": 0.45},
    "ru→ru": {"recall_at_1": 0.70, "recall_at_3": 0.95}, "ru→en": {"recall_at_1": 0.55, "recall_at_3": 0.55},
    "fa→fa": {"recall_at_1": 0.65, "recall_at_3": 0.95}, "fa→en": {"recall_at_1": 0.45, "recall_at_3": 0.45},
}
# On-topic declines allowed per direction. English → Persian declines two "who" questions since the
# cross-encoder reads 8 instead of 12 (issue 24); the second had been answered without the right passage
# among the three (the set's recall is the same at either depth: docs/evaluation.md).
DECLINED_AT_MOST = {"en→fa": 2}


def test_default_settings_keep_the_measured_quality_in_each_language_direction(case_bot: CaseBot) -> None:
    questions = load_questions(CASE / "languages.jsonl")
    answers = {q.question: case_bot.ask(q.question, 3) for q in questions}
    for direction, floors in LANGUAGE_FLOORS.items():
        report = evaluate([q for q in questions if q.group == direction], answers.__getitem__)
        for field, floor in floors.items():
            assert getattr(report, field) >= floor, (direction, field, dict(report.rows()))
        assert report.on_topic_declined <= DECLINED_AT_MOST.get(direction, 1), (direction, report.misses)
    off_topic = evaluate([q for q in questions if not q.on_topic], answers.__getitem__)
    assert round(off_topic.off_topic_declined * off_topic.off_topic) >= 4, off_topic.answered_off_topic
