"""The conversation policy every front end shares (bot.conversation), on the stand-in models."""

from __future__ import annotations

import logging

import pytest

from bot.answer import Answer
from bot.conversation import Conversation, Notice, Place
from bot.ratelimit import RateLimiter
from bot.render import wording
from bot.service import CaseBot
from index.errors import IndexMissing

FIRST = "Why did Iran open a criminal case against Pavel Durov?"


async def test_a_follow_up_is_read_with_the_previous_question_of_its_conversation_only(
        fast_casebot: CaseBot) -> None:
    conversation = Conversation(fast_casebot, fast_casebot.settings)
    thread = conversation.key(Place("!room", "thread:$root"))
    first = await conversation.answer(FIRST, thread)
    assert isinstance(first, Answer) and first.read_as == ""
    followed = await conversation.answer("and what did Russia do?", thread)
    assert isinstance(followed, Answer)
    assert followed.question == "and what did Russia do?"
    assert followed.read_as == f"{FIRST} and what did Russia do?"
    # The same words in another room, or in the same room outside the thread, are read alone.
    other = await conversation.answer("and what did Russia do?", conversation.key(Place("!other", "direct")))
    assert isinstance(other, Answer) and other.read_as == ""
    alone = await conversation.answer("and what did Russia do?", conversation.key(Place("!room", "$new")))
    assert isinstance(alone, Answer) and alone.read_as == ""


async def test_a_reply_to_an_answer_continues_that_answers_conversation(fast_casebot: CaseBot) -> None:
    conversation = Conversation(fast_casebot, fast_casebot.settings)
    key = conversation.key(Place("!room", "$question"))
    await conversation.answer(FIRST, key)
    conversation.link(key, "!room", ["$question", "$answer"])
    reply = conversation.key(Place("!room", "$reply", ("$answer",)))
    assert reply == key
    followed = await conversation.answer("Who ordered it?", reply)
    assert isinstance(followed, Answer) and followed.read_as.startswith(FIRST)
    assert conversation.key(Place("!elsewhere", "$reply", ("$answer",))) != key


def test_past_the_rate_limit_a_person_is_told_once_then_quietly(fast_casebot: CaseBot) -> None:
    conversation = Conversation(fast_casebot, fast_casebot.settings, limiter=RateLimiter(1, 60.0))
    assert conversation.admit("@alice", FIRST) is None
    told = conversation.admit("@alice", FIRST)
    assert isinstance(told, Notice) and not told.quiet and "1 question in the last minute" in told.text
    again = conversation.admit("@alice", FIRST)
    assert isinstance(again, Notice) and again.quiet
    assert conversation.admit("@bob", FIRST) is None  # others are not affected


def test_an_unusable_question_is_refused_with_its_reason(fast_casebot: CaseBot) -> None:
    refused = Conversation(fast_casebot, fast_casebot.settings).admit("@alice", "   ")
    assert isinstance(refused, Notice) and "The question is empty" in refused.text and not refused.failed


async def test_errors_a_person_can_act_on_are_shown_and_others_are_logged_and_apologised_for(
        fast_casebot: CaseBot, caplog: pytest.LogCaptureFixture) -> None:
    conversation = Conversation(fast_casebot, fast_casebot.settings)

    async def missing() -> None:
        raise IndexMissing("No index yet: run `python -m bot index build`.")

    async def broken() -> None:
        raise RuntimeError("boom")

    shown = await conversation.guard("sources", missing())
    assert shown == Notice("No index yet: run `python -m bot index build`.")
    with caplog.at_level(logging.ERROR, logger="bot.conversation"):
        apology = await conversation.guard("sources", broken())
    assert apology == Notice(wording.APOLOGY, failed=True)
    assert "sources failed" in caplog.text and "boom" in caplog.text
