"""The terminal renderer's declines: each reason said in one line, then what the corpus covers."""

from __future__ import annotations

import pytest

from bot.answer import Answer
from bot.render.terminal import render_answer


@pytest.mark.parametrize(("missing", "said"),
                         [("date", "a date"), ("amount", "a figure"), ("name", "a name")])
def test_decline_for_a_missing_kind_of_answer_says_which(missing: str, said: str) -> None:
    answer = Answer("q", False, (), ("Doc \x1b[2Jone",), missing=missing)
    assert render_answer(answer).splitlines() == [
        f"The question asks for {said}, and none of the passages nearest it gives one, so I will not guess.",
        "They cover: Doc \ufffd[2Jone",
    ]
    assert answer.reason == f"no_{missing}"
