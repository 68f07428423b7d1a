"""Is a message a follow-up of the previous question, and what does it ask then?

No language model: the decision is a measurement of the message's words, in English, Russian and
Persian. A message depends on the previous question when it is elliptical and has nothing of its own
to search for:

* it has no content word at all ("Why?", "Почему?", "چرا؟");
* it opens with a connective that continues a conversation ("and …", "what about …", "а …",
  "как насчёт …", "و …", "چطور …");
* it refers back (a pronoun or a word like "there", "then", "тогда", "آنجا") to nothing in the
  message itself: no name comes before the word ("Which two laws make it up?", but not "What did
  Durov say about his movement?"), or, in a script without capitals (Persian), it has at most
  ``REFERRING_MAX_CONTENT`` content words of its own;
* it is a bare fragment: one content word and no question word ("Russia?", "В 2020?").

Anything else is a new question and is asked alone, exactly as typed. A follow-up is read as the
previous question (itself as it was read) followed by the message, so both the words the message
leaves out and the ones it adds are searched (tests/eval/followups-dev.jsonl, docs/usage.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from index.text.lexical import STOPWORDS, WORD

REFERRING_MAX_CONTENT = 3

_REFERRING = frozenset(
    # English
    "it its it's they them their theirs he him his she her hers this that these those there then such "
    "same also too "
    # Russian
    "он она оно они его её ее их ему ей им него неё нее них нём нем ней этот эта это эти этого этой "
    "этом этих тот та те того той том тех там тогда тоже также такой такая такие туда оттуда "
    # Persian
    "او آن این آنها اینها آن‌ها این‌ها ایشان وی همین همان آنجا اینجا آنرا اینرا آن‌را "
    "آنان اش‌ ش شان‌ هم نیز".split()
)
_QUESTION_WORDS = frozenset(
    "what who whom whose which when where why how "
    "что кто кого кому чем чей чья какой какая какое какие когда где куда откуда почему зачем как "
    "сколько ли "
    "چه چی چرا کی کجا کدام چگونه چطور چند آیا".split()
)
# Connectives that open a continuation, longest first so "and what about" wins over "and".
_OPENERS = tuple(sorted((
    "and", "and what about", "and how about", "what about", "how about", "but", "also", "so", "then",
    "а", "и", "а что", "а как", "а кто", "что насчёт", "что насчет", "как насчёт", "как насчет",
    "а насчёт", "а насчет", "тогда", "но",
    "و", "اما", "پس", "چطور", "درباره", "در مورد", "و درباره",
), key=len, reverse=True))
# Persian function words (bm25s has English and Russian lists; index.text.lexical keeps Persian words whole).
_PERSIAN_STOPWORDS = frozenset(
    "از به با در را که و یا تا بر برای این آن است بود شد شده کرد کرده می هست نیست های ها یک دیگر "
    "هم چه چرا کی کجا کدام چگونه چطور چند آیا بود؟ شد؟ کرد؟ است؟".split()
)


@dataclass(frozen=True)
class Reading:
    """What a message asks: ``question`` is what is searched; ``read_as`` is set when the message was
    read together with the previous question (and then equals ``question``)."""

    question: str
    read_as: str = ""

    @property
    def joined(self) -> bool:
        return bool(self.read_as)


def words(text: str) -> list[str]:
    return [w.casefold().replace("ё", "е") for w in WORD.findall(text)]


def content_words(text: str) -> list[str]:
    """Words that carry a topic: not function words, question words or words that refer back."""
    return [w for w in words(text) if not _function(w)]


def _function(word: str) -> bool:
    return (word in STOPWORDS or word in _PERSIAN_STOPWORDS or word in _REFERRING
            or word in _QUESTION_WORDS or len(word) < 2)


def _opens_with_connective(text: str) -> bool:
    lowered = " ".join(words(text))
    return any(lowered == opener or lowered.startswith(opener + " ") for opener in _OPENERS)


def _refers_back(message: str) -> bool:
    """A referring word with no name (a capitalised word after the first) before it in the message."""
    named = False
    for position, word in enumerate(WORD.findall(message)):
        if word.casefold().replace("ё", "е") in _REFERRING:
            if not named and word[:1].isalpha() and word[:1] != word[:1].upper():
                return True  # a cased script (Latin, Cyrillic) and nothing named: it points back
            continue
        named = named or (position > 0 and word[:1].isupper())
    return False


def depends_on_previous(message: str) -> bool:
    """The measurement above: True when ``message`` cannot be searched on its own."""
    tokens = words(message)
    if not tokens:
        return False
    content = content_words(message)
    if not content:
        return True
    if _opens_with_connective(message):
        return True
    if _refers_back(message) or (any(t in _REFERRING for t in tokens)
                                 and len(content) <= REFERRING_MAX_CONTENT):
        return True
    return len(content) == 1 and not any(t in _QUESTION_WORDS for t in tokens)


def read(message: str, previous: str | None) -> Reading:
    """``message`` alone, or joined with ``previous`` (the previous question as it was read) when it
    depends on it."""
    if not previous or not depends_on_previous(message):
        return Reading(message)
    joined = f"{previous.strip()} {message.strip()}"
    return Reading(joined, joined)
