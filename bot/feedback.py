"""Helpful / Not helpful verdicts on answers, kept as JSON lines, and turned into eval lines.

Two append-only files, both JSON lines:

- ``<feedback file>`` (``FEEDBACK_FILE``, default ``var/feedback.jsonl``): one line per click::

    {"time": "2026-11-28T10:00:00+00:00", "platform": "discord", "answer_id": "3f9c0a1b2d4e",
     "verdict": "helpful" | "not_helpful", "question": "...", "answered": true,
     "passages": [{"doc_id", "title", "paragraph", "page", "start", "end", "highlight"}],
     "user": "<16 hex digits>"}

  ``user`` is a hash of the platform, the user id *and the answer id*: it tells repeated clicks
  of one person on one answer apart, but cannot link a person's clicks across answers and does
  not store the id.
- ``<feedback file stem>.answers.jsonl`` beside it: one line per answer shown with buttons
  (``answer_id``, time, question, passages). A button's ``custom_id`` carries only the short
  ``answer_id``; this file is how a click finds its answer again, also after a restart.

:func:`feedback_to_eval_lines` turns the verdicts into lines for ``python -m bot eval``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from bot.answer import Answer
from index.store.atomic import sync

log = logging.getLogger(__name__)

Verdict = Literal["helpful", "not_helpful"]
VERDICTS: tuple[Verdict, ...] = ("helpful", "not_helpful")


def answers_path_for(feedback_file: Path) -> Path:
    """Where the answers that can receive feedback are kept, beside the feedback file."""
    return feedback_file.with_name(feedback_file.stem + ".answers.jsonl")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _passage_record(p: Any) -> dict[str, Any]:
    return {"doc_id": p.doc_id, "title": p.title, "paragraph": p.paragraph, "page": p.page,
            "start": p.start, "end": p.end, "highlight": p.highlight}


def _append(path: Path, record: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record, ensure_ascii=False) + "\n"
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(line)
        sync(handle)


def _read_lines(path: Path) -> list[dict[str, Any]]:
    """The JSON objects of a JSON-lines file; a damaged line is logged and skipped."""
    records: list[dict[str, Any]] = []
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return records
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            log.warning("%s:%d is not valid JSON; skipped", path, number)
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def hash_user(platform: str, user_id: str, answer_id: str) -> str:
    return hashlib.sha256(f"{platform}:{user_id}:{answer_id}".encode()).hexdigest()[:16]


class FeedbackStore:
    """Remembers answers shown with feedback buttons and appends each verdict. Thread-safe."""

    def __init__(self, feedback_file: Path | str) -> None:
        self.path = Path(feedback_file)
        self.answers_path = answers_path_for(self.path)
        self._lock = threading.Lock()
        self._answers: dict[str, dict[str, Any]] | None = None  # loaded on first use

    def _load(self) -> dict[str, dict[str, Any]]:
        if self._answers is None:
            self._answers = {r["answer_id"]: r for r in _read_lines(self.answers_path)
                             if isinstance(r.get("answer_id"), str)}
        return self._answers

    def record_answer(self, answer: Answer) -> str:
        """Keep ``answer`` so that verdicts on it can be recorded later; returns its short id."""
        record = {
            "answer_id": secrets.token_hex(6),
            "time": _now(),
            "question": answer.question,
            "answered": answer.answered,
            "passages": [_passage_record(p) for p in answer.passages],
        }
        with self._lock:
            answers = self._load()
            while record["answer_id"] in answers:
                record["answer_id"] = secrets.token_hex(6)
            _append(self.answers_path, record)
            answers[record["answer_id"]] = record
        return record["answer_id"]

    def find_answer(self, answer_id: str) -> dict[str, Any] | None:
        with self._lock:
            return self._load().get(answer_id)

    def record_verdict(self, answer_id: str, verdict: Verdict, *, user_id: str | int | None = None,
                       platform: str = "discord") -> dict[str, Any] | None:
        """Append one verdict line; None when the answer is unknown (nothing is written)."""
        if verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, not {verdict!r}")
        with self._lock:
            answer = self._load().get(answer_id)
            if answer is None:
                return None
            record = {
                "time": _now(),
                "platform": platform,
                "answer_id": answer_id,
                "verdict": verdict,
                "question": answer["question"],
                "answered": answer.get("answered", True),
                "passages": answer["passages"],
                "user": hash_user(platform, str(user_id), answer_id) if user_id is not None else None,
            }
            _append(self.path, record)
        return record


def feedback_to_eval_lines(path: Path | str) -> list[dict[str, Any]]:
    """Turn a feedback file into evaluation lines, one per answer that received verdicts.

    Each person's latest click on an answer counts once; the majority decides (a tie counts as
    not helpful, so that a person looks at it). The lines, in the order answers were first rated:

    - helpful, answered: ``{"q": question, "gold": [the highlights that were shown]}``;
    - helpful, declined: ``{"q": question}`` — the eval format for a question that should not be
      answered;
    - not helpful: ``{"q": question, "kind": "needs_review", "not_helpful": [the highlights that
      were shown]}`` (empty when the bot declined). They say what was *not* a good answer, not
      what is: a person adds the right ``gold`` (or decides the question is off-topic) and removes
      ``kind``. Until then ``eval`` refuses the line (an unknown ``kind``) instead of silently
      scoring it as an off-topic question.

    Identical lines are given once.
    """
    latest: dict[str, dict[str, dict[str, Any]]] = {}
    for number, record in enumerate(_read_lines(Path(path))):
        answer_id, verdict = record.get("answer_id"), record.get("verdict")
        if (
            not isinstance(answer_id, str)
            or verdict not in VERDICTS
            or not isinstance(record.get("question"), str)
        ):
            continue
        voter = record.get("user") or f"anonymous-{number}"
        latest.setdefault(answer_id, {})[voter] = record

    lines: list[dict[str, Any]] = []
    seen: set[str] = set()
    for votes in latest.values():
        helpful = sum(1 for r in votes.values() if r["verdict"] == "helpful")
        record = next(iter(votes.values()))
        spans = list(dict.fromkeys(p.get("highlight") for p in record.get("passages") or []
                                   if isinstance(p, dict) and p.get("highlight")))
        line: dict[str, Any]
        answered = record.get("answered", True)
        if helpful * 2 > len(votes):
            if answered and not spans:
                continue  # nothing verbatim to hold on to
            line = {"q": record["question"], "gold": spans} if answered else {"q": record["question"]}
        else:
            line = {"q": record["question"], "kind": "needs_review", "not_helpful": spans}
        key = json.dumps(line, sort_keys=True, ensure_ascii=False)
        if key not in seen:
            seen.add(key)
            lines.append(line)
    return lines
