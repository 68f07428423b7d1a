"""Which language's passage comes first (index.search.answer_language): the decision's logic on made-up
standouts; the real models' figures are the slow tests' (tests/bot/test_evaluation.py)."""

from __future__ import annotations

import numpy as np

from index.search.answer_language import FIRST, INCLUDE, Choice, arrange, best_of_each, choose
from index.search.crosslingual import LanguageMatches
from index.types import Scored


def matches(standout: float, chunk: int = 0) -> LanguageMatches:
    """Ten cosines whose best stands out by ``standout`` above their mean."""
    cosines = np.full(10, 0.8, dtype=np.float32)
    cosines[0] += standout * 10 / 9
    return LanguageMatches(np.arange(chunk, chunk + 10), cosines)


def test_another_language_comes_first_when_its_passage_stands_out_more_clearly() -> None:
    e5 = {"en": matches(0.01), "ru": matches(0.01 + FIRST + 0.01, 100)}
    assert choose(e5, {}, "en", lambda language: True) == Choice("ru", ())
    assert choose(e5, {}, "en", lambda language: False) == Choice()  # only a passage that answers


def test_a_language_standing_out_a_little_joins_the_answer_and_one_that_does_not_is_left_out() -> None:
    e5 = {"en": matches(0.01), "ru": matches(0.01 + INCLUDE + 0.005, 100), "fa": matches(0.0, 200)}
    assert choose(e5, {}, "en", lambda language: True) == Choice(None, ("ru",))


def test_use_multilingual_weighs_in_for_the_languages_it_reads_and_not_for_persian() -> None:
    e5 = {"en": matches(0.02), "ru": matches(0.02, 100), "fa": matches(0.02, 200)}
    aligned = {"en": matches(0.05), "ru": matches(0.05 + 2 * FIRST + 0.02, 100), "fa": matches(0.5, 200)}
    assert choose(e5, aligned, "en", lambda language: True) == Choice("ru", ())


def test_without_passages_in_the_question_language_the_ranking_decides() -> None:
    assert choose({"en": matches(0.0)}, {}, "ru", lambda language: True) == Choice()


def test_the_chosen_languages_best_passages_take_the_first_or_the_last_place() -> None:
    ranked = [Scored(c, 10.0 - i, 0.0, 0.0, 0.0) for i, c in enumerate([1, 2, 3, 101, 201])]
    best = best_of_each(ranked, lambda chunk: "en" if chunk < 100 else "ru" if chunk < 200 else "fa")
    assert [s.chunk for s in arrange(ranked[:3], best, Choice("ru", ()), 3)] == [101, 1, 2]
    assert [s.chunk for s in arrange(ranked[:3], best, Choice(None, ("ru",)), 3)] == [1, 2, 101]
    assert [s.chunk for s in arrange(ranked[:3], best, Choice("ru", ("fa",)), 3)] == [101, 1, 201]
    assert [s.chunk for s in arrange(ranked[:3], best, Choice(), 3)] == [1, 2, 3]
