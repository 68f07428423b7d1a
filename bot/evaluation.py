"""Evaluation of retrieval, highlights and abstention on a JSONL question set.

Each line is ``{"q": question, "gold": [verbatim spans], "doc": gold document}`` (``doc`` optional: the
doc_id the spans must come from, for a corpus of many documents); a line without ``gold`` is a question the
corpus does not answer and that should be declined. Such lines may say which ``kind`` they are:
``off_topic`` (not about the case at all, the default) or ``unanswerable`` (about the case, but asking
for a fact the corpus does not hold: a much harder decline without a reader model; reported apart).
A passage is correct when it contains a gold span (and is of the gold document); a highlight is
correct when it covers at least half of a gold span that its passage contains.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bot.answer import Answer
from index.errors import CasebotError


@dataclass(frozen=True)
class EvalQuestion:
    question: str
    gold: tuple[str, ...]  # empty: the corpus does not answer it
    kind: str = "answerable"  # answerable | off_topic | unanswerable
    doc: str | None = None  # the gold document's doc_id, when the line names it
    group: str | None = None  # "direction" of the line ("en→ru": an English question, a Russian answer)

    @property
    def on_topic(self) -> bool:
        return bool(self.gold)


@dataclass(frozen=True)
class EvalReport:
    on_topic: int
    off_topic: int
    recall_at_1: float
    recall_at_3: float
    mrr: float
    highlight_accuracy: float
    off_topic_declined: float  # share of off-topic questions declined (want 1.0)
    on_topic_declined: int  # number of on-topic questions declined (want <= 1)
    unanswerable: int = 0
    unanswerable_declined: float = 1.0  # share of in-domain unanswerable questions declined
    right_document: float = 0.0  # share of on-topic questions whose top passage is of the gold document
    # Share of on-topic questions with a right passage anywhere in the answer: the top 3, or a passage
    # of another language added after them (index.search.crosslingual).
    in_answer: float = 0.0
    misses: tuple[str, ...] = field(default=())  # on-topic questions without a correct passage in the top 3
    answered_off_topic: tuple[str, ...] = field(default=())  # off-topic questions that were answered

    def rows(self) -> list[tuple[str, str]]:
        return [
            ("on-topic questions", str(self.on_topic)),
            ("off-topic questions", str(self.off_topic)),
            ("recall@1", f"{self.recall_at_1:.3f}"),
            ("recall@3", f"{self.recall_at_3:.3f}"),
            ("right passage anywhere in the answer", f"{self.in_answer:.3f}"),
            ("MRR", f"{self.mrr:.3f}"),
            ("top passage of the right document", f"{self.right_document:.3f}"),
            ("highlight accuracy", f"{self.highlight_accuracy:.3f}"),
            ("off-topic declined", f"{self.off_topic_declined:.3f}"),
            ("on-topic declined", str(self.on_topic_declined)),
            ("unanswerable questions", str(self.unanswerable)),
            ("unanswerable declined", f"{self.unanswerable_declined:.3f}"),
        ]


def load_questions(path: Path) -> list[EvalQuestion]:
    questions: list[EvalQuestion] = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise CasebotError(f"Cannot read the evaluation file {path}: {exc}") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            question = str(data["q"])
            gold = tuple(str(g) for g in data.get("gold") or ())
            kind = "answerable" if gold else str(data.get("kind") or "off_topic")
            doc = str(data["doc"]) if data.get("doc") else None
            group = str(data["direction"]) if data.get("direction") else None
        except (ValueError, KeyError, TypeError, AttributeError):
            raise CasebotError(
                f'{path}:{number}: expected a JSON object with "q" (and optional "gold").'
            ) from None
        if kind == "needs_review":
            raise CasebotError(
                f"{path}:{number}: this line is marked needs_review (a Not helpful answer): add its "
                'verbatim "gold" spans, or set "kind" to off_topic or unanswerable, or delete it.'
            )
        if kind not in {"answerable", "off_topic", "unanswerable"}:
            raise CasebotError(f"{path}:{number}: \"kind\" must be off_topic or unanswerable, not {kind!r}.")
        questions.append(EvalQuestion(question, gold, kind, doc, group))
    if not questions:
        raise CasebotError(f"The evaluation file {path} has no questions.")
    return questions


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> int:
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


def evaluate(questions: Iterable[EvalQuestion], ask: Callable[[str], Answer]) -> EvalReport:
    """Ask every question (``ask`` should return at least 3 passages) and score the answers.

    Recall and MRR are computed on the returned passages; a declined on-topic question counts as a
    miss.
    """
    on = off = declined_off = declined_on = unanswerable = declined_unanswerable = 0
    answered_off: list[str] = []
    hits1 = hits3 = highlight_hits = right_document = anywhere = 0
    reciprocal = 0.0
    misses: list[str] = []
    for item in questions:
        answer = ask(item.question)
        if item.kind == "unanswerable":
            unanswerable += 1
            declined_unanswerable += not answer.answered
            continue
        if not item.on_topic:
            off += 1
            declined_off += not answer.answered
            if answer.answered:
                answered_off.append(item.question)
            continue
        on += 1
        if not answer.answered:
            declined_on += 1
            misses.append(item.question)
            continue
        rank = None
        top = answer.passages[0].doc_id if answer.passages else None
        right_document += (
            top == item.doc if item.doc else any(g in answer.passages[0].text for g in item.gold)
        )
        for position, passage in enumerate(answer.passages, start=1):
            if item.doc and passage.doc_id != item.doc:
                continue
            spans = [(passage.text.find(g), len(g)) for g in item.gold]
            spans = [(s, s + n) for s, n in spans if s >= 0]
            if spans:
                rank = position
                highlight = (passage.highlight_start, passage.highlight_end)
                if position == 1 and any(
                    _overlap(highlight, span) * 2 >= span[1] - span[0] for span in spans
                ):
                    highlight_hits += 1
                break
        if rank is None:
            misses.append(item.question)
            continue
        reciprocal += 1.0 / rank
        anywhere += 1
        hits1 += rank == 1
        hits3 += rank <= 3
    return EvalReport(
        on_topic=on, off_topic=off,
        recall_at_1=hits1 / on if on else 0.0, recall_at_3=hits3 / on if on else 0.0,
        mrr=reciprocal / on if on else 0.0, highlight_accuracy=highlight_hits / on if on else 0.0,
        right_document=right_document / on if on else 0.0, in_answer=anywhere / on if on else 0.0,
        off_topic_declined=declined_off / off if off else 1.0, on_topic_declined=declined_on,
        unanswerable=unanswerable,
        unanswerable_declined=declined_unanswerable / unanswerable if unanswerable else 1.0,
        misses=tuple(misses), answered_off_topic=tuple(answered_off),
    )
