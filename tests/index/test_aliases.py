"""The corpus's names (index.search.aliases): read from the documents themselves, and near or not."""

from __future__ import annotations

from bot.service import CaseBot
from index.search.aliases import Aliases, corpus_names


def test_names_are_the_capitalised_runs_inside_sentences(fast_casebot: CaseBot) -> None:
    names = corpus_names(fast_casebot.searcher.documents)
    assert {"Pavel Durov", "Pavel", "Durov", "Russia", "Roskomnadzor", "Alexander Zharov"} <= set(names)
    assert not {"On", "However", "Iranian authorities", "The"} & set(names)  # sentence openers
    assert names.index("Durov") < names.index("Roskomnadzor")  # most frequent first


def test_a_name_is_not_known_for_a_name_it_holds_nor_for_an_unrelated_one(fast_casebot: CaseBot) -> None:
    """"Telegram Premium" is not "Telegram"; the real model's aliases ("Moscow" for "Russia") are
    tests/bot/test_answers.py's."""
    searcher = fast_casebot.searcher
    aliases = Aliases(searcher.documents, searcher.embedder, threshold=0.8)
    assert aliases.nearest("Telegram Premium")[0] not in {"Telegram", "Premium"}
    assert not aliases.known("Telegram Premium") and not aliases.known("Zuckerberg")
    assert aliases.nearest("Roskomnadzor")[0] != "Roskomnadzor"
