"""The evaluation sets answered from the Milvus store (INDEX_STORE=milvus, milvus-lite 2.5.1) against
the files store, with the real models: recall, the right document and highlights within 0.02 of each
other, and the files store's floors held (tests/bot/test_evaluation.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.evaluation import evaluate, load_questions
from bot.service import CaseBot
from index.models.models import Models
from index.models.retrieval_models import CrossEncoder
from tests.support import REPO, assert_floors, settings_for
from tests.support.milvus_server import remembered

FLOORS = {  # the files store's (tests/bot/test_evaluation.py)
    "case": dict(recall_at_1=0.63, recall_at_3=0.77, highlight=0.55, off_topic_declined=22,
                 on_topic_declined_at_most=2, right_document=0.78),
    "case2": dict(recall_at_1=0.84, recall_at_3=0.93, highlight=0.75, off_topic_declined=15,
                  on_topic_declined_at_most=1, right_document=0.96),
}


@pytest.mark.parametrize("case", ["case", "case2"])
def test_the_milvus_store_answers_the_evaluation_sets_as_the_files_store_does(
        models: Models, reranker: CrossEncoder, tmp_path: Path, case: str) -> None:
    folder = REPO / "tests" / "eval" / case
    both = remembered(models).replace(reranker=reranker)  # the second build costs no model time
    questions = load_questions(folder / "questions.jsonl")
    reports = {}
    for store, extra in (("files", {}), ("milvus", {"index_store": "milvus",
                                                    "milvus_uri": str(tmp_path / "milvus" / "casebot.db")})):
        bot = CaseBot(settings_for(tmp_path / store, corpus_dir=folder / "corpus", **extra), both)
        bot.open(build_if_missing=True)
        reports[store] = evaluate(questions, lambda question: bot.ask(question, 3))
        bot.close()
    files, milvus = reports["files"], reports["milvus"]
    for field in ("recall_at_1", "recall_at_3", "right_document", "highlight_accuracy"):
        difference = abs(getattr(milvus, field) - getattr(files, field))
        assert difference <= 0.02, (field, milvus.rows(), files.rows())
    assert_floors(milvus, **FLOORS[case])
