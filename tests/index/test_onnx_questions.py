"""Questions read by the onnxruntime copy of the model (index/models/onnx_model.py): the same vectors and the
same answers as torch, and a damaged or missing copy only means torch, never a wrong answer."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from bot.service import CaseBot
from bot.settings import Settings
from index.models.models import Models, reading_questions
from index.models.onnx_model import (CheckedQuestions, OnnxQuestionEmbedder, checked_questions, model_file,
                                     question_copy_ready)
from index.models.retrieval_models import CrossEncoder
from tests.support import EVAL_FILE, make_corpus, settings_for


def _questions(n: int = 12) -> list[str]:
    lines = [json.loads(line) for line in EVAL_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [line["q"] for line in lines][:n]


@pytest.fixture(scope="module")
def bots(
    models: Models, reranker: CrossEncoder, tmp_path_factory: pytest.TempPathFactory
) -> tuple[CaseBot, CaseBot]:
    """The same index read once with onnxruntime and once with torch."""
    root = tmp_path_factory.mktemp("onnx")
    make_corpus(root / "corpus")
    onnx = bot_with(settings_for(root, question_runtime="onnx"), models, reranker)
    onnx.open(build_if_missing=True)
    torch = bot_with(settings_for(root, question_runtime="torch"), models, reranker)
    torch.open(build_if_missing=False)
    return onnx, torch


def bot_with(settings: Settings, models: Models, reranker: CrossEncoder) -> CaseBot:
    """A CaseBot over the session's models reading questions as ``settings`` say (as load_models does)."""
    return CaseBot(settings, reading_questions(models.replace(reranker=reranker), settings.model_choice()))


def test_question_vectors_and_pieces_match_torch(bots: tuple[CaseBot, CaseBot]) -> None:
    onnx, torch = bots
    assert isinstance(onnx.searcher.embedder, (OnnxQuestionEmbedder, CheckedQuestions))
    assert not isinstance(torch.searcher.embedder, (OnnxQuestionEmbedder, CheckedQuestions))
    questions = _questions()
    minilm = torch.models.vectors  # the vectors' model; the pieces are ColBERT's
    copy = OnnxQuestionEmbedder(minilm, model_file(onnx.settings.model_cache_dir))  # type: ignore[arg-type]
    ours, theirs = copy.encode_tokens(questions), minilm.encode_tokens(questions)  # type: ignore[attr-defined]
    for a, b in zip(ours, theirs):
        assert np.array_equal(a.spans, b.spans)
        assert np.abs(a.vectors - b.vectors).max() < 1e-4
        assert float(a.pooled @ b.pooled) > 0.99999
    read = onnx.searcher.embedder.encode_queries(questions)
    assert np.abs(read - minilm.encode_queries(questions)).max() < 1e-4


def test_answers_are_the_same_as_with_torch(bots: tuple[CaseBot, CaseBot]) -> None:
    onnx, torch = bots
    for question in _questions(30):
        a, b = onnx.ask(question), torch.ask(question)
        assert a.answered == b.answered
        assert [(p.start, p.end, p.highlight_start, p.highlight_end) for p in a.passages] == \
               [(p.start, p.end, p.highlight_start, p.highlight_end) for p in b.passages]
        assert np.allclose([p.score for p in a.passages], [p.score for p in b.passages], atol=1e-4)


def test_a_damaged_copy_means_torch_until_the_next_build_makes_a_good_one(
        models: Models, reranker: CrossEncoder, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    make_corpus(tmp_path / "corpus")
    settings = settings_for(tmp_path, model_cache_dir=tmp_path / "models", question_runtime="onnx")
    path = model_file(settings.model_cache_dir)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x00not an onnx model" * 100)
    question = "How many people in Iran use Telegram?"

    with caplog.at_level(logging.WARNING, logger="index.models.onnx_model"):
        bot = bot_with(settings, models, reranker)
        bot.open(build_if_missing=True)
    assert not isinstance(bot.searcher.embedder, OnnxQuestionEmbedder)
    assert any("read by torch" in r.getMessage() for r in caplog.records)
    assert "40 million" in bot.ask(question).passages[0].text
    assert not path.exists() and path.with_suffix(".failed").is_file()

    again = bot_with(settings, models, reranker)  # a restart does not try (and wait) again
    again.open(build_if_missing=False)
    assert not isinstance(again.searcher.embedder, OnnxQuestionEmbedder) and not path.exists()

    again.rebuild()  # the next build does: a good copy is exported, checked and used
    assert isinstance(again.searcher.embedder, OnnxQuestionEmbedder)
    assert path.is_file() and not path.with_suffix(".failed").exists()
    assert "40 million" in again.ask(question).passages[0].text


def test_question_runtime_setting_is_checked() -> None:
    from bot.settings import Settings, SettingsError

    assert Settings.from_mapping({"QUESTION_RUNTIME": "torch"}).question_runtime == "torch"
    with pytest.raises(SettingsError, match="QUESTION_RUNTIME"):
        Settings.from_mapping({"QUESTION_RUNTIME": "tensorrt"})


def test_a_checked_copy_reads_questions_without_torch_as_torch_does(
        bots: tuple[CaseBot, CaseBot], tmp_path: Path) -> None:
    onnx, torch = bots
    cache = onnx.settings.model_cache_dir
    assert question_copy_ready(cache)  # the copy matched torch when it was loaded: its digest is recorded
    checked = checked_questions(cache)
    assert checked is not None and checked.name == torch.models.vectors.name
    questions = _questions() + ["", "a " * 400]  # an empty text and one past the 256-piece window
    expected = torch.models.vectors.encode_queries(questions)
    assert np.abs(checked.encode_queries(questions) - expected).max() < 1e-4
    # A copy that is not the one checked (one byte changed) is refused, and read beside torch instead.
    damaged = tmp_path / model_file(cache).name
    data = bytearray(model_file(cache).read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    shutil.copy(model_file(cache).with_suffix(".sha256"), damaged.with_suffix(".sha256"))
    assert checked_questions(tmp_path) is None and question_copy_ready(tmp_path)
