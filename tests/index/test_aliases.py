"""The corpus's names (index.aliases): read from the documents themselves, and near or not."""

from __future__ import annotations

from bot.service import CaseBot
from index.aliases import Aliases, corpus_names


def test_names_are_the_capitalised_runs_inside_sentences(fast_casebot: CaseBot) -> None:
    names = corpus_names(fast_casebot.searcher.documents)
    assert {"Pavel Durov", "Pavel", "Durov", "Russia", "Roskomnadzor", "Alexander Zharov"} <= set(names)
    assert not {"On", "However", "Iranian authorities", "The"} & set(names)  # sentence openers
    assert names.index("Durov") < names.index("Roskomnadzor")  # most frequent first


def test_a_name_the_corpus_writes_is_known_and_an_unrelated_one_is_not(fast_casebot: CaseBot) -> None:
    searcher = fast_casebot.searcher
    aliases = Aliases(searcher.documents, searcher.embedder, threshold=0.8)
    assert aliases.nearest("Roskomnadzor") == ("Roskomnadzor", aliases.nearest("Roskomnadzor")[1])
    assert aliases.known("Roskomnadzor") and not aliases.known("Zuckerberg")
