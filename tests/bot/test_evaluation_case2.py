"""The second case set (issue 22) and the follow-up pairs (issue 26) are sound: every gold span is a verbatim
NFC slice of its document as casebot's readers give it, the sets have the promised size, and no question
repeats one of the older sets. Fast: the documents are read, no model is loaded, nothing is asked."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest

from bot.evaluation import load_questions
from index.ingest.documents import scan_corpus
from tests.support import REPO

EVAL = REPO / "tests" / "eval"
CASE, CASE2 = EVAL / "case", EVAL / "case2"


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def case2_documents() -> dict:
    return {d.doc_id: d for d in scan_corpus(CASE2 / "corpus").documents}


@pytest.fixture(scope="module")
def case_documents() -> dict:
    return {d.doc_id: d for d in scan_corpus(CASE / "corpus").documents}


def _older_questions() -> set[str]:
    older = {line["q"] for path in sorted(CASE.glob("*.jsonl")) for line in _lines(path)}
    return older | {line["q"] for line in _lines(EVAL / "questions.jsonl")}


def _assert_verbatim(line: dict, documents: dict) -> None:
    assert line["gold"] and line["doc"] in documents, line
    text = documents[line["doc"]].text
    for span in line["gold"]:
        assert unicodedata.normalize("NFC", span) == span, f"gold span is not NFC: {span!r}"
        assert span in text, f"gold span is not verbatim in {line['doc']}: {span!r}"


def test_case2_corpus_has_every_format_and_the_article(case2_documents: dict) -> None:
    assert len(case2_documents) >= 10, sorted(case2_documents)
    suffixes = [Path(doc_id).suffix for doc_id in case2_documents]
    assert suffixes.count(".md") >= 5 and {".html", ".pdf", ".docx"} <= set(suffixes)
    article = (REPO / "corpus" / "iran-fsb-telegram-2017.md").read_text(encoding="utf-8")
    assert (CASE2 / "corpus" / "iran-fsb-telegram-2017.md").read_text(encoding="utf-8") == article
    for doc_id, document in case2_documents.items():
        assert document.title and document.date, doc_id  # the readers find a title and a date in each
        if doc_id != "iran-fsb-telegram-2017.md":
            assert "2018" <= str(document.date)[:4] <= "2021", (doc_id, document.date)


def test_case2_questions_have_verbatim_gold_and_the_promised_counts(case2_documents: dict) -> None:
    lines, blind = _lines(CASE2 / "questions.jsonl"), _lines(CASE2 / "blind.jsonl")
    for path in (CASE2 / "questions.jsonl", CASE2 / "blind.jsonl"):
        load_questions(path)  # the format bot.evaluation reads
    on_topic = [line for line in lines if line.get("gold")]
    off_topic = [line for line in lines if line.get("kind") == "off_topic"]
    unanswerable = [line for line in lines if line.get("kind") == "unanswerable"]
    assert len(on_topic) >= 80 and sum(bool(line.get("paraphrase")) for line in on_topic) * 2 > len(on_topic)
    assert sum(line.get("tag") == "disambiguation" for line in on_topic) >= 20
    assert len(off_topic) >= 15 and sum(bool(line.get("near")) for line in off_topic) >= 15
    assert len(unanswerable) >= 10
    assert len(on_topic) + len(off_topic) + len(unanswerable) == len(lines)
    assert {line["doc"] for line in on_topic} == set(case2_documents), "a document without questions"
    blind_on = [line for line in blind if line.get("gold")]
    assert len(blind_on) >= 20 and sum(line.get("kind") == "off_topic" for line in blind) >= 5
    assert sum(line.get("kind") == "unanswerable" for line in blind) >= 4
    for line in on_topic + blind_on:
        _assert_verbatim(line, case2_documents)
    for line in lines + blind:
        if not line.get("gold"):
            assert "doc" not in line and line.get("kind") in {"off_topic", "unanswerable"}, line
    questions = [line["q"] for line in lines + blind]
    assert len(set(questions)) == len(questions), "duplicate questions"
    assert not set(questions) & _older_questions(), "a question of an older set"


def test_followup_pairs_have_verbatim_gold_and_the_promised_counts(case_documents: dict) -> None:
    lines = _lines(EVAL / "followups.jsonl")
    dependent = [line for line in lines if not line.get("new_topic")]
    new_topic = [line for line in lines if line.get("new_topic")]
    assert len(dependent) >= 32 and len(new_topic) >= 16
    assert sum(line["lang"] == "ru" for line in dependent) >= 5
    assert sum(line["lang"] == "fa" for line in dependent) >= 3
    for line in lines:
        assert line["first"].strip() and line["followup"].strip() and line["first"] != line["followup"]
        _assert_verbatim(line, case_documents)
    for line in dependent:
        assert line["full"].strip() and line["full"] != line["followup"], line
        # a follow-up leans on the first question: it is shorter than the question written out in full
        assert len(line["followup"]) < len(line["full"]), line
    for line in new_topic:
        assert "full" not in line, line
    followups = [line["followup"] for line in new_topic] + [line["full"] for line in dependent]
    assert len(set(followups)) == len(followups), "duplicate questions"
    assert not set(followups) & _older_questions(), "a question of an older set"
