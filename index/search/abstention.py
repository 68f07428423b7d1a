"""Stage 4 of a search: answer, or say that the corpus does not answer.

The judgement is the cross-encoder's: it reads the question with the best passage and gives a
logit of that passage answering it (index.search.rerank); below the threshold the question is declined,
whatever the topic's words have in common with the corpus. The threshold is calibrated on the
multi-document evaluation (bench/calibrate.py; docs/evaluation.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from index.store.base import Lexicon
from index.text.lexical import STOPWORDS, WORD, terms_of
from index.types import Scored
from index.search.rerank import YEAR
from index.text.transliteration import Skeletons
from index.types import Chunk, Document

# The decline threshold on the best cross-encoder logit: the middle of the gap on the many-document
# evaluation between everyday off-topic questions (<= -11.2) and the lowest on-topic one (-7.7); and
# on the late-interaction match when the cross-encoder is off (RERANK_DEPTH=0). bench/calibrate.py
# prints the sweeps; docs/evaluation.md has them.
THRESHOLD = {"cross-encoder": -9.5, "late-interaction": 0.55}
DESCRIBING = re.compile(r"(?:an|ans|ern|ese|ish)$")  # American(s), Persian, Western, Chinese, British
# After "the X", a noun that makes X a product's name, not a description ("the Signal messenger").
PRODUCT = re.compile(r"\s+(?:messengers?|apps?|applications?|protocols?|services?|platforms?|networks?"
                     r"|web ?sites?|sites?|browsers?|bots?|software|company|blockchain|tokens?|phones?)\b")
# Months and weekdays are capitalised but name no subject: a Russian document writes «февраля».
CALENDAR = frozenset("""january february march april may june july august september october november december
    monday tuesday wednesday thursday friday saturday sunday""".split())


def confidence(ranked: Sequence[Scored], read: bool = True) -> float:
    """What abstention judges: the best logit (the cross-encoder's, or a pair in another language
    on its scale: index.search.crosslingual) when the cross-encoder ``read`` the candidates; else the best
    of those logits (then on the late-interaction scale) and the English pairs' ranking scores."""
    if not read:
        return max((r.score if r.logit is None else r.logit for r in ranked), default=float("-inf"))
    judged = [r.logit for r in ranked if r.logit is not None]
    return max(judged) if judged else (ranked[0].score if ranked else float("-inf"))


def unknown_terms(question: str, lexicon: Lexicon | None, dates: set[str],
                  other_scripts: Skeletons | None = None, english: bool = True,
                  known: Callable[[str], bool] | None = None, descriptions: bool = False) -> tuple[str, ...]:
    """The names and years the question asks about that no chunk contains (nor, for a year, any
    document's date): the corpus cannot answer about them, however close its topic. A name is a
    capitalised word that does not open a sentence, shown with the capitalised words around it
    ("Mark Zuckerberg"); short acronyms ("MPs", "TV") and words of nationality or region ("American",
    "Western": they describe, and documents say "the US") are left out, and so are names a document
    writes in another script (``other_scripts``: «Ахметгалиев» for "Akhmetgaliev"). In a question in
    another language (not ``english``) only names in Latin letters count ("WhatsApp", "Premium"): its
    own words name institutions the English documents call otherwise («Госдума», "the State Duma").
    A name that ``known`` accepts (index.search.aliases: a name the corpus writes stands near it) is not
    unknown; with ``descriptions``, neither is one written after "the" ("the Kremlin", "the Islamic
    Republic": an institution or an epithet, like "American", rather than a name) unless a product's
    noun follows it ("the Signal protocol")."""
    if lexicon is None:
        return ()
    asked: list[re.Match[str]] = []
    for match in WORD.finditer(question):
        word = match.group()
        before = question[: match.start()].rstrip(" \t\"'“‘«([")
        opens = not before or before.endswith((".", "!", "?", ":"))
        if YEAR.fullmatch(word):
            if word not in dates:
                asked.append(match)
        elif (
            word[0].isupper()
            and not opens
            and not (len(word) <= 4 and word[:2].isupper())
            and not DESCRIBING.search(word)
            and word.lower() not in CALENDAR
            and (english or word.isascii())
        ):
            asked.append(match)
    terms = [terms_of(m.group()) for m in asked]
    found = lexicon.frequency([t[0] if t else "" for t in terms])
    unknown = [m for m, t, df in zip(asked, terms, found)
               if t and not df and not (other_scripts and other_scripts.knows(m.group()))]
    names: list[str] = []
    for m in unknown:
        start, end = m.start(), m.end()
        while (neighbour := _capitalised_before(question, start)) is not None:
            start = neighbour
        while (neighbour := _capitalised_after(question, end)) is not None:
            end = neighbour
        name = question[start:end]
        after_the = re.search(r"\b[Tt]he\s+$", question[:start])
        if descriptions and after_the and not PRODUCT.match(question[end:]):
            continue
        names.append(name[:-2] if name.lower().endswith(("'s", "’s")) else name)
    names = [n for n in dict.fromkeys(names) if not any(n != other and n in other for other in names)]
    # A year is unknown whatever names stand near it ("August 2024" is not "August").
    return tuple(n for n in names if known is None or YEAR.search(n) or not known(n))


def _capitalised_before(text: str, start: int) -> int | None:
    match = re.search(r"([A-Z][^\W_]*)[ -]$", text[:start])
    return match.start(1) if match and match.group(1).lower() not in STOPWORDS else None


def _capitalised_after(text: str, end: int) -> int | None:
    """The end of the capitalised word after ``end``, over "of" inside a name ("Bureau of Investigation")."""
    match = re.match(r"(?:[ -]|\s+of\s+(?=[A-Z]))([A-Z][^\W_]*(?:['’]s)?)", text[end:])
    return end + match.end(1) if match else None


def nearest_titles(ranked: Sequence[Scored], chunks: Sequence[Chunk], documents: dict[str, Document],
                   limit: int = 3) -> tuple[str, ...]:
    """The titles of the best candidates' documents, best first, each once: what the corpus covers
    nearest to a question it does not answer."""
    titles: dict[str, None] = {}
    for r in ranked:
        titles.setdefault(documents[chunks[r.chunk].doc_id].title, None)
        if len(titles) == limit:
            break
    return tuple(titles)
