"""Validation of questions before they reach the index."""

from __future__ import annotations

import unicodedata

from index.errors import QuestionRejected


def clean_question(raw: str | bytes, max_chars: int) -> str:
    """Return the question with surrounding whitespace removed, or raise QuestionRejected.

    Rejects empty questions, questions longer than ``max_chars``, and binary data (NUL bytes or
    mostly control characters). Inner text is kept as typed.
    """
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise QuestionRejected("The question is not text (it is not valid UTF-8).") from None
    question = raw.strip()
    if not question:
        raise QuestionRejected("The question is empty: ask something about the case.")
    if len(question) > max_chars:
        raise QuestionRejected(
            f"The question is too long ({len(question):,} characters; the limit is {max_chars:,})."
        )
    if "\x00" in question:
        raise QuestionRejected("The question looks like binary data (it contains NUL bytes).")
    controls = sum(1 for ch in question if unicodedata.category(ch) in {"Cc", "Cs"} and ch not in "\t\n\r")
    if controls > max(2, len(question) // 10):
        raise QuestionRejected("The question looks like binary data, not text.")
    if not any(ch.isalnum() for ch in question):
        raise QuestionRejected("The question has no words in it.")
    return question
