"""The flood of questions of tests/adapters/matrix/test_matrix_flood.py and its accounting, shared
with bench/matrix_flood.py: people flood a room with ``!ask`` questions; every question must be
answered, refused with the rate-limit notice, or marked with a reaction, exactly once."""

from __future__ import annotations

import asyncio
import gc
import itertools
import json
import logging
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nio import MessageDirection, RoomMessagesResponse

from bot.render import wording
from tests.support import REPO
from tests.support.matrix import Person, in_reply_to

QUESTIONS_FILE = REPO / "tests" / "eval" / "questions.jsonl"
REACTION = "⏳"


def eval_questions(path: Path = QUESTIONS_FILE) -> list[str]:
    """The evaluation set's questions: on-topic, off-topic and unanswerable ones."""
    return [json.loads(line)["q"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def rss_mb() -> float:
    """Resident memory of this process, in MB (``VmRSS`` of /proc/self/status)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def is_rate_limit_notice(reply: dict[str, Any], limit: int) -> bool:
    return str(reply["content"].get("body", "")).startswith(f"You have asked {limit} question")


def is_answer(reply: dict[str, Any]) -> bool:
    """A rendered answer: verbatim quotes, or the plain "the documents do not answer / mention" reply."""
    content = reply["content"]
    return content.get("msgtype") == "m.notice" and (
        '<blockquote dir="auto">' in str(content.get("formatted_body", ""))
        or wording.DECLINE in str(content.get("body", ""))
        or "The documents I have do not mention" in str(content.get("body", "")))


async def flood_room(creator: Person, bot_user_id: str, others: Sequence[Person]) -> str:
    """A group room of ``creator``, ``others`` and the bot, once everybody has joined."""
    room_id = await creator.create_room(invite=(bot_user_id, *(p.user_id for p in others)))
    for person in others:
        await person.join(room_id)
    await creator.membership(room_id, bot_user_id, "join")
    for person in others:
        await creator.membership(room_id, person.user_id, "join")
    return room_id


async def send_flood(askers: Sequence[Person], room_id: str, per_asker: int,
                     questions: Sequence[str]) -> dict[str, str]:
    """Every asker sends ``per_asker`` ``!ask`` questions, all at once; returns event id -> sender."""
    texts = itertools.cycle(questions)

    async def burst(person: Person, lines: list[str]) -> list[tuple[str, str]]:
        ids = await asyncio.gather(*(person.send(room_id, f"!ask {line}") for line in lines))
        return [(event_id, person.user_id) for event_id in ids]

    batches = [[next(texts) for _ in range(per_asker)] for _ in askers]
    sent = await asyncio.gather(*(burst(p, lines) for p, lines in zip(askers, batches)))
    return dict(pair for batch in sent for pair in batch)


def reacted_to(event: dict[str, Any]) -> str | None:
    """The event a reaction annotates (None for anything else)."""
    relation = (event.get("content") or {}).get("m.relates_to") or {}
    if event.get("type") == "m.reaction" and relation.get("rel_type") == "m.annotation":
        return relation.get("event_id")
    return None


async def wait_until_accounted(observer: Person, questions: dict[str, str], bot_user_id: str,
                               timeout: float) -> bool:
    """Wait until every question has a bot reply or reaction (as the observer's sync sees the room).
    False on timeout: the history check then says what is missing."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        handled = {
            in_reply_to(e) or reacted_to(e) for _, e in observer.events if e.get("sender") == bot_user_id
        }
        if handled >= questions.keys():
            return True
        await asyncio.sleep(0.2)
    return False


async def room_history(person: Person, room_id: str) -> list[dict[str, Any]]:
    """Every event of the room in the server's order, read with /messages from the start: what the
    server holds, independent of anyone's sync."""
    events: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        response = await person.client.room_messages(room_id, start=token, direction=MessageDirection.front,
                                                     limit=500)
        assert isinstance(response, RoomMessagesResponse), response
        events.extend(e.source for e in response.chunk)
        if not response.chunk or not response.end or response.end == token:
            return events
        token = response.end


@dataclass
class Outcome:
    """What the bot did with one flood, read from the room's history."""

    questions: dict[str, str]  # question event id -> sender, in the room's order
    replies: dict[str, list[dict[str, Any]]]  # question event id -> the bot's replies and reactions to it
    stray: list[dict[str, Any]]  # bot replies to anything but a question (the greeting replies to nothing)

    @classmethod
    def read(cls, history: list[dict[str, Any]], sent: dict[str, str], bot_user_id: str) -> Outcome:
        order = [e["event_id"] for e in history if e.get("event_id") in sent]
        assert sorted(order) == sorted(sent), "the server's history lacks questions that were sent"
        replies: dict[str, list[dict[str, Any]]] = {q: [] for q in order}
        asked = {e["event_id"] for e in history if e.get("sender") != bot_user_id
                 and str((e.get("content") or {}).get("body", "")).startswith("!ask ")}  # any flood's
        stray = []
        for event in history:
            if event.get("sender") != bot_user_id or event.get("type") not in {
                "m.room.message",
                "m.reaction",
            }:
                continue
            target = in_reply_to(event) or reacted_to(event)
            if target in replies:
                replies[target].append(event)
            elif target is not None and target not in asked:
                stray.append(event)
        return cls({q: sent[q] for q in order}, replies, stray)

    def kind(self, question_id: str, limit: int) -> str:
        """``answer``, ``notice``, ``reaction``, or ``none`` / ``twice`` / ``other`` for what must never
        happen."""
        replies = self.replies[question_id]
        if not replies:
            return "none"
        if len(replies) > 1:
            return "twice"
        if replies[0].get("type") == "m.reaction":
            return "reaction" if replies[0]["content"]["m.relates_to"].get("key") == REACTION else "other"
        if is_rate_limit_notice(replies[0], limit):
            return "notice"
        return "answer" if is_answer(replies[0]) else "other"

    def kinds_of(self, sender: str, limit: int) -> list[str]:
        """The kind of each of ``sender``'s questions, in the room's order."""
        return [self.kind(q, limit) for q, s in self.questions.items() if s == sender]

    def count(self, kind: str, limit: int) -> int:
        return sum(1 for q in self.questions if self.kind(q, limit) == kind)

    def unexpected(self, limit: int) -> int:
        """Questions whose reply (or silence) breaks the contract, plus stray replies."""
        wrong = len(self.stray)
        for sender in set(self.questions.values()):
            kinds = self.kinds_of(sender, limit)
            wrong += sum(a != b for a, b in zip(kinds, expected_kinds(len(kinds), limit)))
        return wrong


def expected_kinds(sent: int, limit: int) -> list[str]:
    """The contract for one person's questions within a minute: ``limit`` answers, one notice, then
    a reaction to each."""
    answered = min(sent, limit)
    return ["answer"] * answered + ["notice"] * (sent > limit) + ["reaction"] * max(0, sent - limit - 1)


def check_outcome(outcome: Outcome, limit: int) -> None:
    """Every question accounted for exactly once, per the contract above."""
    assert outcome.stray == [], f"replies to events that are no question: {outcome.stray[:2]}"
    for sender in sorted(set(outcome.questions.values())):
        kinds = outcome.kinds_of(sender, limit)
        assert kinds == expected_kinds(len(kinds), limit), f"{sender}: {Counter(kinds)} in order {kinds}"


@dataclass
class FloodRun:
    """One flood: what was sent, what came back, how long it took."""

    outcome: Outcome
    sent: int
    send_seconds: float
    total_seconds: float


async def run_flood(askers: Sequence[Person], room_id: str, bot_user_id: str, per_asker: int,
                    questions: Sequence[str], timeout: float = 60.0, settle: float = 2.0) -> FloodRun:
    """Send the flood, wait until every question is answered, refused or reacted to, wait ``settle``
    seconds more for anything answered twice, and read the outcome from the server's history."""
    started = time.perf_counter()
    sent = await send_flood(askers, room_id, per_asker, questions)
    send_seconds = time.perf_counter() - started
    await wait_until_accounted(askers[0], sent, bot_user_id, timeout)
    total_seconds = time.perf_counter() - started
    await asyncio.sleep(settle)
    history = await room_history(askers[0], room_id)
    outcome = Outcome.read(history, sent, bot_user_id)
    return FloodRun(outcome, len(sent), send_seconds, total_seconds)


def gap_events(records: Iterable[logging.LogRecord]) -> tuple[int, int]:
    """(fetches, events) of the bot's "a limited sync left out" log lines."""
    fetched = [r.args[0] for r in records if r.name == "bot.matrix" and isinstance(r.args, tuple)
               and "a limited sync left out" in str(r.msg)]
    return len(fetched), sum(int(n) for n in fetched)


def settled_rss(people: Iterable[Person]) -> float:
    """RSS once the people's recorded events are dropped (the test's bookkeeping, not the bot's)."""
    for person in people:
        person.events.clear()
    gc.collect()
    return rss_mb()
