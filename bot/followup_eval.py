"""Evaluation of follow-up questions (bot.followup) on a JSONL set of question pairs.

Each line is ``{"first": question, "followup": question, "full": the follow-up written out in full,
"gold": [verbatim spans answering the follow-up], "doc": their doc_id}``; a line with
``"new_topic": true`` is a pair whose second question is a new question (``full`` may be absent). For
follow-ups the rule's reading is compared with the same question written out in full and with the
follow-up asked alone; for new topics, the rule's reading with the question asked alone (the rule
should leave them alone, and lose nothing).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot import followup
from bot.answer import Answer
from bot.evaluation import EvalQuestion, EvalReport, evaluate
from index.errors import CasebotError


@dataclass(frozen=True)
class FollowupPair:
    first: str
    followup: str
    gold: tuple[str, ...]
    doc: str | None = None
    full: str = ""
    new_topic: bool = False


@dataclass(frozen=True)
class Condition:
    """One way of asking a set of pairs' second questions, and how it scored."""

    name: str
    pairs: int
    joined: int  # pairs the rule read with their first question (rule conditions only)
    report: EvalReport


def load_pairs(path: Path) -> list[FollowupPair]:
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise CasebotError(f"Cannot read the follow-up file {path}: {exc}") from None
    pairs: list[FollowupPair] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            new_topic = bool(data.get("new_topic"))
            doc = str(data["doc"]) if data.get("doc") else None
            gold = tuple(str(g) for g in data["gold"])
            pair = FollowupPair(str(data["first"]), str(data["followup"]), gold, doc,
                                str(data.get("full") or ""), new_topic)
        except (ValueError, KeyError, TypeError, AttributeError):
            raise CasebotError(f'{path}:{number}: expected a JSON object with "first", "followup" and '
                               '"gold" (and "full" unless "new_topic" is true).') from None
        if not pair.gold or (not new_topic and not pair.full):
            raise CasebotError(f'{path}:{number}: a pair needs "gold", and a follow-up its "full" question.')
        pairs.append(pair)
    if not pairs:
        raise CasebotError(f"The follow-up file {path} has no pairs.")
    return pairs


RULE, FULL, ALONE = "read by the rule", "written out in full", "asked alone"
WAYS = {"follow-ups": (RULE, FULL, ALONE), "new topics": (RULE, ALONE)}


def evaluate_followups(pairs: list[FollowupPair], ask: Callable[[str], Answer]) -> list[Condition]:
    """Score every condition; ``ask`` answers one question alone (with at least 3 passages)."""
    readings = {p: followup.read(p.followup, followup.read(p.first, None).question) for p in pairs}

    def asked(pair: FollowupPair, way: str) -> str:
        return readings[pair].question if way == RULE else pair.full if way == FULL else pair.followup

    conditions: list[Condition] = []
    for group, ways in WAYS.items():
        members = [p for p in pairs if p.new_topic == (group == "new topics")]
        joined = sum(readings[p].joined for p in members)
        for way in ways if members else ():
            questions = [EvalQuestion(asked(p, way), p.gold, doc=p.doc) for p in members]
            conditions.append(Condition(f"{group}, {way}", len(members), joined if way == RULE else 0,
                                        evaluate(questions, ask)))
    return conditions


def table(conditions: list[Condition]) -> list[str]:
    """The conditions as a Markdown table (the form docs/evaluation.md quotes)."""
    lines = ["| condition | pairs | read with the first | recall@1 | recall@3 | in answer |",
             "|---|---|---|---|---|---|"]
    for c in conditions:
        joined = str(c.joined) if "rule" in c.name else "—"
        lines.append(f"| {c.name} | {c.pairs} | {joined} | {c.report.recall_at_1:.3f} | "
                     f"{c.report.recall_at_3:.3f} | {c.report.in_answer:.3f} |")
    return lines
