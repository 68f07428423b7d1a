"""The command line, run as a user runs it: a subprocess with a real corpus and the real model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index.ingest import scan_corpus
from tests.conftest import make_corpus
from tests.conftest import run_cli as run

QUESTION = "Why did Iran open a criminal case against Pavel Durov?"


def assert_passages_are_document_slices(answer: dict, corpus: Path) -> None:
    """Every passage of an ``ask --json`` object is its document's text[start:end]; its highlight is in it."""
    documents = {d.doc_id: d for d in scan_corpus(corpus).documents}
    for p in answer["passages"]:
        assert p["text"] == documents[p["doc_id"]].text[p["start"] : p["end"]]
        assert p["highlight"] in p["text"]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("cli")
    make_corpus(tmp / "corpus")
    return tmp


def test_first_ask_builds_the_index_and_prints_the_json_contract(workdir: Path) -> None:
    result = run(workdir, "ask", QUESTION, "--json")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    answer = json.loads(lines[0])
    assert set(answer) == {"question", "answered", "language", "passages"}
    assert answer["question"] == QUESTION and answer["answered"] is True
    assert len(answer["passages"]) == 3
    for p in answer["passages"]:
        assert {"doc_id", "title", "date", "source", "paragraph", "text", "highlight", "start", "end", "score"} <= set(p)
        assert isinstance(p["paragraph"], int) and isinstance(p["score"], float)
        assert p["date"] == "2017-09-28" and p["source"] is None
    assert_passages_are_document_slices(answer, workdir / "corpus")
    scores = [p["score"] for p in answer["passages"]]
    assert (workdir / "index" / "current").is_symlink()
    assert "criminal case" in answer["passages"][0]["highlight"]
    assert scores[0] == max(scores)


def test_one_question_is_read_by_torch_and_exports_nothing(workdir: Path) -> None:
    """`ask "Q"` answers one question and exits: loading onnxruntime (and, the first time, exporting
    the model for it, ~10 s) would cost more than it saves, so it must not happen (cold start)."""
    cache = workdir / "models-one-question"
    result = run(workdir, "ask", QUESTION, "--json", env={"MODEL_CACHE_DIR": str(cache)})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["answered"] is True
    assert not cache.exists() or not any(cache.iterdir())


def test_stdin_batch_prints_one_object_per_question(workdir: Path) -> None:
    questions = [QUESTION, "", "What did Durov post on VKontakte?", "x" * 5000, "Best cookie recipe?"]
    result = run(workdir, "ask", "-", "--json", "--top-k", "2", stdin="\n".join(questions) + "\n")
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["question"] for o in objects][:2] == [QUESTION, "What did Durov post on VKontakte?"]
    assert len(objects) == 4  # the blank line is skipped
    assert all(len(o["passages"]) == 2 for o in objects[:2])
    assert "too long" in objects[2]["error"]
    assert objects[3]["answered"] is False and objects[3]["passages"] == []
    assert result.returncode == 1  # one question was rejected


def test_human_output_shows_quotes_then_attribution(workdir: Path) -> None:
    result = run(workdir, "ask", "How many people in Iran use Telegram?", "--top-k", "1")
    assert result.returncode == 0, result.stderr
    quote, context, source = result.stdout.splitlines()[:3]
    assert quote.startswith("[1] “Around 40 million people in Iran use Telegram")
    assert context.startswith("    in context: “On his VKontakte page Durov posted:")
    assert source == "    — Iran Joins Russia’s FSB In Fight Against Internet Freedoms · 2017-09-28 · source not recorded · ¶ 10"
    assert result.stderr == ""


def test_decline_names_what_no_document_mentions(workdir: Path) -> None:
    result = run(workdir, "ask", "What encryption protocol does Signal use?")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "The documents I have do not mention “Signal”, so I will not guess.",
        "They cover: Iran Joins Russia’s FSB In Fight Against Internet Freedoms",
    ]


@pytest.mark.parametrize(("question", "message"), [("", "empty"), ("   ", "empty"), ("y" * 100_000, "too long")])
def test_bad_question_prints_one_line_and_fails(workdir: Path, question: str, message: str) -> None:
    result = run(workdir, "ask", question)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ") and message in result.stderr


def test_missing_corpus_prints_one_line(tmp_path: Path) -> None:
    result = run(tmp_path, "ask", QUESTION)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [f"error: The corpus folder {tmp_path / 'corpus'} does not exist (set CORPUS_DIR or create it)."]


def test_corrupt_index_prints_one_line_with_the_rebuild_command(workdir: Path, tmp_path: Path) -> None:
    import shutil

    shutil.copytree(workdir, tmp_path / "w", symlinks=True)
    build = (tmp_path / "w" / "index" / "current").resolve()
    (build / "vectors.faiss").write_bytes(b"not a faiss index")
    result = run(tmp_path / "w", "ask", QUESTION)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "damaged" in lines[0] and "python -m bot index build --full" in lines[0]
    rebuilt = run(tmp_path / "w", "index", "build", "--full")
    assert rebuilt.returncode == 0 and "16 chunks" in rebuilt.stdout
    assert run(tmp_path / "w", "ask", QUESTION, "--json").returncode == 0


def test_index_status_and_build_report(workdir: Path) -> None:
    result = run(workdir, "index", "build")
    assert result.returncode == 0 and "up to date" in result.stdout
    status = run(workdir, "index", "status", "--json")
    data = json.loads(status.stdout)
    assert data["documents"] == 1 and data["chunks"] == 16
    assert "all-MiniLM-L6-v2" in data["model"] and data["dimension"] == 384 and data["size_bytes"] > 0


def test_eval_prints_the_metrics_table(workdir: Path, tmp_path: Path) -> None:
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        json.dumps({"q": "How many people in Iran use Telegram?", "gold": ["Around 40 million people in Iran use Telegram"]}) + "\n"
        + json.dumps({"q": "How do I bake bread?"}) + "\n", encoding="utf-8")
    result = run(workdir, "eval", str(questions), "--json")
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)
    assert metrics["recall@1"] == "1.000" and metrics["off-topic declined"] == "1.000"
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n")
    result = run(workdir, "eval", str(bad))
    assert result.returncode == 1 and "bad.jsonl:1" in result.stderr
