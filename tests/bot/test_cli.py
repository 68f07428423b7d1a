"""The command line in this process (click's CliRunner) with a real corpus and the stand-in models:
what it prints, reads and exits with. tests/bot/test_cli_process.py runs it as a user does, in
another process with the real models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support import QUESTION, assert_passages_are_document_slices



def test_first_ask_builds_the_index_and_prints_the_json_contract(workdir: Path, cli) -> None:  # noqa: ANN001
    result = cli(workdir, "ask", QUESTION, "--json")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    answer = json.loads(lines[0])
    keys = {"question", "answered", "language", "reason", "unknown_names", "nearest", "passages"}
    assert set(answer) == keys
    assert answer["question"] == QUESTION and answer["answered"] is True and answer["reason"] is None
    assert len(answer["passages"]) == 3
    for p in answer["passages"]:
        assert {
            "doc_id",
            "title",
            "date",
            "source",
            "paragraph",
            "text",
            "highlight",
            "start",
            "end",
            "score",
        } <= set(p)
        assert isinstance(p["paragraph"], int) and isinstance(p["score"], float)
        assert p["date"] == "2017-09-28" and p["source"] is None
    assert_passages_are_document_slices(answer, workdir / "corpus")
    scores = [p["score"] for p in answer["passages"]]
    assert (workdir / "index" / "current").is_symlink()
    assert "criminal case" in answer["passages"][0]["highlight"]
    assert scores[0] == max(scores)


def test_stdin_batch_prints_one_object_per_question(workdir: Path, cli) -> None:  # noqa: ANN001
    questions = [QUESTION, "", "What did Durov post on VKontakte?", "x" * 5000, "Best cookie recipe?"]
    result = cli(workdir, "ask", "-", "--json", "--top-k", "2", stdin="\n".join(questions) + "\n")
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["question"] for o in objects][:2] == [QUESTION, "What did Durov post on VKontakte?"]
    assert len(objects) == 4  # the blank line is skipped
    assert all(len(o["passages"]) == 2 for o in objects[:2])
    assert "too long" in objects[2]["error"]
    assert objects[3]["answered"] is False and objects[3]["passages"] == []
    assert result.returncode == 1  # one question was rejected


def test_human_output_shows_quotes_then_attribution(workdir: Path, cli) -> None:  # noqa: ANN001
    result = cli(workdir, "ask", "How many people in Iran use Telegram?", "--top-k", "1")
    assert result.returncode == 0, result.stderr
    quote, context, source = result.stdout.splitlines()[:3]
    assert quote.startswith("[1] “Around 40 million people in Iran use Telegram")
    assert context.startswith("    in context: “On his VKontakte page Durov posted:")
    assert source == ("    — Iran Joins Russia’s FSB In Fight Against Internet Freedoms · 2017-09-28"
                      " · source not recorded · ¶ 10")
    assert result.stderr == ""


def test_decline_names_what_no_document_mentions(workdir: Path, cli) -> None:  # noqa: ANN001
    result = cli(workdir, "ask", "What encryption protocol does Signal use?")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "The documents I have do not mention “Signal”, so I will not guess.",
        "They cover: Iran Joins Russia’s FSB In Fight Against Internet Freedoms",
    ]
    declined = json.loads(cli(workdir, "ask", "What encryption protocol does Signal use?", "--json").stdout)
    assert declined["answered"] is False and declined["passages"] == []
    assert declined["reason"] == "unknown_names" and declined["unknown_names"] == ["Signal"]
    assert declined["nearest"] == ["Iran Joins Russia’s FSB In Fight Against Internet Freedoms"]


@pytest.mark.parametrize(
    ("question", "message"), [("", "empty"), ("   ", "empty"), ("y" * 100_000, "too long")]
)
def test_bad_question_prints_one_line_and_fails(workdir: Path, cli, question: str, message: str) -> None:  # noqa: ANN001
    result = cli(workdir, "ask", question)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ") and message in result.stderr


def test_missing_corpus_prints_one_line(tmp_path: Path, cli) -> None:  # noqa: ANN001
    result = cli(tmp_path, "ask", QUESTION)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: The corpus folder {tmp_path / 'corpus'} does not exist (set CORPUS_DIR or create it)."
    ]


def test_corrupt_index_prints_one_line_with_the_rebuild_command(workdir: Path, tmp_path: Path, cli) -> None:  # noqa: ANN001
    import shutil

    shutil.copytree(workdir, tmp_path / "w", symlinks=True)
    build = (tmp_path / "w" / "index" / "current").resolve()
    (build / "vectors.faiss").write_bytes(b"not a faiss index")
    result = cli(tmp_path / "w", "ask", QUESTION)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "damaged" in lines[0] and "python -m bot index build --full" in lines[0]
    rebuilt = cli(tmp_path / "w", "index", "build", "--full")
    assert rebuilt.returncode == 0 and "16 chunks" in rebuilt.stdout
    assert cli(tmp_path / "w", "ask", QUESTION, "--json").returncode == 0


def test_index_status_and_build_report(workdir: Path, cli, fast_models) -> None:  # noqa: ANN001  # noqa: ANN001
    result = cli(workdir, "index", "build")
    assert result.returncode == 0 and "up to date" in result.stdout
    status = cli(workdir, "index", "status", "--json")
    data = json.loads(status.stdout)
    assert data["documents"] == 1 and data["chunks"] == 16
    assert data["model"] == fast_models.name and data["dimension"] == fast_models.dimension
    assert data["size_bytes"] > 0


def test_eval_prints_the_metrics_table(workdir: Path, tmp_path: Path, cli) -> None:  # noqa: ANN001
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        json.dumps(
            {
                "q": "How many people in Iran use Telegram?",
                "gold": ["Around 40 million people in Iran use Telegram"],
            }
        )
        + "\n"
        + json.dumps({"q": "How do I bake bread?"})
        + "\n",
        encoding="utf-8",
    )
    result = cli(workdir, "eval", str(questions), "--json")
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)
    assert metrics["recall@1"] == "1.000" and metrics["off-topic declined"] == "1.000"
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n")
    result = cli(workdir, "eval", str(bad))
    assert result.returncode == 1 and "bad.jsonl:1" in result.stderr


def test_chat_reads_a_follow_up_with_the_line_before(workdir: Path, cli) -> None:  # noqa: ANN001
    first = "Why did Iran open a criminal case against Pavel Durov?"
    result = cli(workdir, "chat", stdin=f"{first}\nAnd who ordered it?\nWhat does Yarovaya's law require?\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("Read as:") == 1
    assert f"Read as: {first} And who ordered it?" in result.stdout


def test_eval_followups_prints_the_three_conditions(workdir: Path, tmp_path: Path, cli) -> None:  # noqa: ANN001
    pairs = tmp_path / "pairs.jsonl"
    gold = ["Around 40 million people in Iran use Telegram"]
    pairs.write_text("\n".join(json.dumps(p) for p in [
        {"first": "Why did Iran open a criminal case against Pavel Durov?",
         "followup": "And how many use it there?", "full": "How many people in Iran use Telegram?",
         "gold": gold},
        {"first": "What did the FSB demand?", "followup": "How many people in Iran use Telegram?",
         "gold": gold, "new_topic": True},
    ]) + "\n", encoding="utf-8")
    result = cli(workdir, "eval-followups", str(pairs))
    assert result.returncode == 0, result.stderr
    rows = {line.split("|")[1].strip(): line.split("|")[2:] for line in result.stdout.splitlines()[2:]}
    assert set(rows) == {"follow-ups, read by the rule", "follow-ups, written out in full",
                         "follow-ups, asked alone", "new topics, read by the rule", "new topics, asked alone"}
    assert rows["follow-ups, read by the rule"][1].strip() == "1"  # joined
    assert rows["new topics, read by the rule"][1].strip() == "0"  # left alone
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"first": "a", "followup": "b", "gold": ["c"]}) + "\n")  # no "full"
    result = cli(workdir, "eval-followups", str(bad))
    assert result.returncode == 1 and "bad.jsonl:1" in result.stderr
