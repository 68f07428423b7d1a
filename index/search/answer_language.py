"""Which language holds the answer: the first passage may be in another language than the question.

The English-only models judge English pairs and multilingual-e5 the others (index.search.crosslingual), but
the two scales do not tell which language answers: e5 ranks passages in its question's language
first, and the cross-encoder finds an English passage on the topic (logits up to +6.8) for most
English questions that only a Russian document answers. What does tell, on the tuning questions, is
how clearly each language's best passage stands out among that language's ten nearest: by e5's
cosine, plus half as much by USE-multilingual's (trained on translations, so its cosines compare
across languages; it does not read Persian, which keeps e5 alone). Another language's best passage
whose standout beats the question language's by ``FIRST`` comes first; by ``INCLUDE``, it joins the
answer in the last place; either way only when it answers (its logit clears the threshold of
abstention). A name the question writes that no document holds as written but documents in another
script do («طلاگرام» for "Talagram", "Snowden" for «Сноуден»: index.text.transliteration) puts that
language first when it answers. bench/calibrate_languages.py sweeps the numbers;
docs/evaluation.md ("Languages") has the table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from index.search.crosslingual import LanguageMatches
from index.store.base import Lexicon
from index.text.lexical import WORD, terms_of
from index.types import Scored
from index.text.transliteration import Skeletons

USE_READS = frozenset({"en", "ru"})  # served languages USE-multilingual was trained on (index.models.embed)
# USE's standout beside e5's: 1.0 puts 0.65 of English questions' Russian answers first (0.55 at 0.5)
# and costs the English questions 0.07 of recall@1 (bench/calibrate_languages.py).
USE_WEIGHT = 0.5
# Margins over the question language's standout: at 0.05 first, 11 of 20 Russian answers to English
# questions come first and 1 of 131 English answers leaves first place (at 0.04: 5 leave it); at 0.02
# in the answer, 15 of 20 are in the top 3 and no English answer leaves it (docs/evaluation.md).
FIRST = 0.05
INCLUDE = 0.02
# Added to the margin of a language whose documents alone write a name the question uses, enough to
# put it first: English → Persian recall@1 0.38 at 0.05, 0.50 at 0.10 and 0.15; no English question of
# the tuning set names such a name (bench/calibrate_languages.py --named).
NAMED = 2 * FIRST
SCRIPTS = {"latin": "en", "cyrillic": "ru", "arabic": "fa"}  # the served languages' scripts


@dataclass(frozen=True)
class Choice:
    """The other languages whose best passage goes first (``first``) or joins the answer."""

    first: str | None = None
    joining: tuple[str, ...] = ()


def margin(e5: dict[str, LanguageMatches], aligned: dict[str, LanguageMatches], asked: str,
           other: str) -> float:
    """How much more clearly ``other``'s best passage stands out among its language's than the
    question language's (``asked``) does among its own."""
    lead = e5[other].standout - e5[asked].standout
    if asked in USE_READS and other in USE_READS and asked in aligned and other in aligned:
        lead += USE_WEIGHT * (aligned[other].standout - aligned[asked].standout)
    return lead


def named_only_in(question: str, lexicon: Lexicon | None, skeletons: Skeletons | None) -> frozenset[str]:
    """The languages whose documents alone write, in their script, a name the question uses: a
    capitalised word not opening a sentence (in Persian, which has no capitals, a Latin one) that no
    chunk holds as written."""
    if lexicon is None or skeletons is None:
        return frozenset()
    names = []
    for match in WORD.finditer(question):
        word, before = match.group(), question[: match.start()].rstrip(" \t\"'“‘«([")
        if word[0].isupper() and before and not before.endswith((".", "!", "?", ":")):
            names.append(word)
    terms = [terms_of(name) for name in names]
    found = lexicon.frequency([t[0] if t else "" for t in terms])
    return frozenset(SCRIPTS[written] for name, term, df in zip(names, terms, found) if term and not df
                     for written in skeletons.scripts_spelling(name) if written in SCRIPTS)


def choose(e5: dict[str, LanguageMatches], aligned: dict[str, LanguageMatches], asked: str,
           answering: Callable[[str], bool], named: frozenset[str] = frozenset()) -> Choice:
    """The languages to show besides the question's own; ``answering(language)``: whether that
    language's best passage clears the threshold of abstention; ``named``: the languages whose
    documents alone write a name the question uses (``named_only_in``). Without passages in the
    question's language there is nothing to weigh: the ranking alone decides."""
    if asked not in e5 or not len(e5[asked].cosines):
        return Choice()
    leads = {other: margin(e5, aligned, asked, other) + (NAMED if other in named else 0.0)
             for other, found in e5.items() if other != asked and len(found.cosines) and answering(other)}
    first = max((o for o, lead in leads.items() if lead >= FIRST), key=leads.__getitem__, default=None)
    joining = tuple(sorted(o for o, lead in leads.items() if INCLUDE <= lead and o != first))
    return Choice(first, joining)


def best_of_each(ranked: Sequence[Scored], language_of: Callable[[int], str]) -> dict[str, Scored]:
    """Each language's best-ranked passage."""
    best: dict[str, Scored] = {}
    for scored in ranked:
        best.setdefault(language_of(scored.chunk), scored)
    return best


def arrange(chosen: list[Scored], best: dict[str, Scored], choice: Choice, top_k: int) -> list[Scored]:
    """``chosen`` (the passages of the ranking, best first) with the chosen languages' best passages
    put first, or in the last place, within ``top_k``."""
    arranged = list(chosen)
    if choice.first is not None:
        top = best[choice.first]
        arranged = [top] + [s for s in arranged if s.chunk != top.chunk][: top_k - 1]
    joining = [best[o] for o in choice.joining if all(s.chunk != best[o].chunk for s in arranged)]
    if joining:
        arranged = (arranged[: max(1, top_k - len(joining))] + joining)[:top_k]
    return arranged
