"""Feedback buttons across a restart, the feedback file, and its conversion to eval lines."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import discord
import pytest

from bot.answer import Answer
from bot.feedback import FeedbackStore, answers_path_for, feedback_to_eval_lines
from bot.service import CaseBot
from index.types import Passage
from tests.support.discord import run, QUESTION, make_world

PASSAGE = Passage(doc_id="a.md", title="A", date=None, source=None, url=None, paragraph=2, page=None,
                  text="One. The key sentence. Three.", start=10, end=39, highlight_start=5,
                  highlight_end=22, score=0.9)


def read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.slow
async def test_feedback_buttons_still_work_after_a_restart(
        casebot: CaseBot, make_bot: Callable[..., discord.Client], tmp_path: Path) -> None:
    feedback_file = tmp_path / "feedback.jsonl"
    async with run(make_bot(casebot)) as env:
        world = await make_world(env)
        result = await world.alice.slash(world.channel, "ask", question=QUESTION)
        answer_message = ([result.response, *result.followups])[-1]
        thanks = await world.alice.click(answer_message, label="Helpful")
        assert thanks.ephemeral and "marked as helpful" in thanks.response.content

        # A new process: a new bot object and feedback store, the same file, the same old message.
        await env.restart_bot(make_bot(casebot))
        for member, label in ((world.bob, "Helpful"), (world.admin, "Not helpful")):
            clicked = await member.click(answer_message, label=label)
            assert clicked.ephemeral and "Thank you" in clicked.response.content

    lines = read_lines(feedback_file)
    assert [line["verdict"] for line in lines] == ["helpful", "helpful", "not_helpful"]
    shown = casebot.ask(QUESTION)
    for line in lines:
        assert line["question"] == QUESTION and line["platform"] == "discord"
        assert [p["highlight"] for p in line["passages"]] == [p.highlight for p in shown.passages]
        assert line["user"] and str(world.alice.id) not in json.dumps(line)
    assert len({line["user"] for line in lines}) == 3
    assert feedback_to_eval_lines(feedback_file) == [
        {"q": QUESTION, "gold": [p.highlight for p in shown.passages]}]


@pytest.mark.slow
async def test_a_click_on_a_forgotten_answer_says_so(
        casebot: CaseBot, make_bot: Callable[..., discord.Client], tmp_path: Path) -> None:
    async with run(make_bot(casebot)) as env:
        world = await make_world(env)
        result = await world.alice.slash(world.channel, "ask", question=QUESTION)
        answers_path_for(tmp_path / "feedback.jsonl").unlink()
        await env.restart_bot(make_bot(casebot))
        clicked = await world.alice.click(([result.response, *result.followups])[-1], label="Not helpful")
        assert clicked.ephemeral and "could not save your feedback" in clicked.response.content
    assert not (tmp_path / "feedback.jsonl").exists()


def test_each_click_appends_a_line_and_the_majority_of_latest_votes_decides(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "fb.jsonl")
    good = store.record_answer(Answer("Which sentence?", True, (PASSAGE,)))
    bad = store.record_answer(Answer("Which other sentence?", True, (PASSAGE,)))
    declined_ok = store.record_answer(Answer("Weather in Oslo?", False, (), ("A",)))
    declined_wrong = store.record_answer(Answer("Who is Durov?", False, (), ("A",)))
    store.record_verdict(good, "not_helpful", user_id=1)
    store.record_verdict(good, "helpful", user_id=1)  # changed their mind: the latest click counts
    store.record_verdict(good, "helpful", user_id=2)
    store.record_verdict(bad, "helpful", user_id=1)
    store.record_verdict(bad, "not_helpful", user_id=2)  # a tie goes to review
    store.record_verdict(declined_ok, "helpful", user_id=3)
    store.record_verdict(declined_wrong, "not_helpful", user_id=3)
    assert store.record_verdict("000000000000", "helpful", user_id=1) is None
    assert len(read_lines(tmp_path / "fb.jsonl")) == 7

    assert feedback_to_eval_lines(tmp_path / "fb.jsonl") == [
        {"q": "Which sentence?", "gold": ["The key sentence."]},
        {"q": "Which other sentence?", "kind": "needs_review", "not_helpful": ["The key sentence."]},
        {"q": "Weather in Oslo?"},  # a confirmed decline is an off-topic eval line
        {"q": "Who is Durov?", "kind": "needs_review", "not_helpful": []},
    ]


def test_answers_are_found_again_by_a_new_store_and_damaged_lines_are_skipped(tmp_path: Path) -> None:
    answer_id = FeedbackStore(tmp_path / "fb.jsonl").record_answer(Answer("Q?", True, (PASSAGE,)))
    with open(answers_path_for(tmp_path / "fb.jsonl"), "a", encoding="utf-8") as handle:
        handle.write("{not json\n")
    again = FeedbackStore(tmp_path / "fb.jsonl")
    assert again.find_answer(answer_id)["question"] == "Q?"
    again.record_verdict(answer_id, "helpful")  # no user id: none is stored
    with open(tmp_path / "fb.jsonl", "a", encoding="utf-8") as handle:
        handle.write("garbage\n")
    [line] = read_lines_lenient(tmp_path / "fb.jsonl")
    assert line["user"] is None
    assert feedback_to_eval_lines(tmp_path / "fb.jsonl") == [{"q": "Q?", "gold": ["The key sentence."]}]
    assert feedback_to_eval_lines(tmp_path / "missing.jsonl") == []


def read_lines_lenient(path: Path) -> list[dict]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            pass
    return out


def test_eval_accepts_the_gold_lines_and_refuses_unreviewed_ones(tmp_path: Path) -> None:
    from bot.evaluation import load_questions
    from index.errors import CasebotError

    store = FeedbackStore(tmp_path / "fb.jsonl")
    for question, verdict in (("Which sentence?", "helpful"), ("Which other?", "not_helpful")):
        store.record_verdict(store.record_answer(Answer(question, True, (PASSAGE,))), verdict, user_id=1)
    reviewed, unreviewed = feedback_to_eval_lines(tmp_path / "fb.jsonl")
    (tmp_path / "good.jsonl").write_text(json.dumps(reviewed) + "\n", encoding="utf-8")
    [loaded] = load_questions(tmp_path / "good.jsonl")
    assert loaded.gold == ("The key sentence.",)
    (tmp_path / "review.jsonl").write_text(json.dumps(unreviewed) + "\n", encoding="utf-8")
    with pytest.raises(CasebotError, match="needs_review"):
        load_questions(tmp_path / "review.jsonl")
