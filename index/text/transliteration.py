"""Names across scripts: "Akhmetgaliev" and «Ахметгалиев», "Hotgram" and «هاتگرام» are one name.

A name's skeleton is its consonants in Latin letters (anyascii transliterates Cyrillic and Persian),
with the spellings that vary between transliterations folded together ("kh" and "x", "q" and "gh",
"v" and "f").
Persian writes few vowels, so vowels are left out on both sides. Used by abstention (index.search.abstention)
so that a question naming a person only a document in another script mentions ("Akhmetgaliev" in
a Russian one, «Сноуден» in an English one) is not declined for naming what "no document contains".
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from anyascii import anyascii

# "v" and "f": Persian writes Russian names' "-ov" as "-of" (Durov, Дуров, دوروف).
_FOLDS = (("q", "g"), ("kh", "x"), ("zh", "j"), ("sh", "s"), ("ch", "q"), ("ts", "s"), ("gh", "g"),
          ("ph", "f"), ("th", "t"), ("dh", "z"), ("ck", "k"), ("c", "k"), ("v", "f"))
_DROPPED = re.compile(r"[^bdfgjklmnpqrstvxz]")  # vowels, h, w, y, apostrophes: what scripts disagree on
_LATIN = re.compile(r"^[a-z0-9'’-]+$")
_CYRILLIC = re.compile(r"[\u0400-\u04FF]")
_ARABIC = re.compile(r"[\u0600-\u06FF\u0750-\u077F\uFB50-\uFDFF\uFE70-\uFEFF]")
MIN_LETTERS = 4  # shorter skeletons are shared by too many words ("Premium" and «прим»: p-r-m)


def skeleton(word: str) -> str:
    text = anyascii(word).lower()
    for written, folded in _FOLDS:
        text = text.replace(written, folded)
    return re.sub(r"(.)\1+", r"\1", _DROPPED.sub("", text))


def script(word: str) -> str:
    """"latin", "cyrillic", "arabic" (Persian's) or "other": the script a word is written in."""
    if _LATIN.match(word.lower()):
        return "latin"
    return "cyrillic" if _CYRILLIC.search(word) else "arabic" if _ARABIC.search(word) else "other"


class Skeletons:
    """The skeletons of the corpus's words, apart by script: Latin, and every other (and each other
    script apart, for ``scripts_spelling``)."""

    def __init__(self, terms: Iterable[str]) -> None:
        self._full: dict[bool, set[str]] = {True: set(), False: set()}
        self._prefixes: dict[bool, set[str]] = {True: set(), False: set()}
        self._by_script: dict[str, set[str]] = {}  # prefixes
        self._whole_by_script: dict[str, set[str]] = {}
        for term in terms:
            if not term:
                continue
            latin = bool(_LATIN.match(term))
            bones = skeleton(term)
            if len(bones) >= MIN_LETTERS:
                self._full[latin].add(bones)
                prefixes = [bones[:i] for i in range(MIN_LETTERS, len(bones) + 1)]
                self._prefixes[latin].update(prefixes)
                self._by_script.setdefault(script(term), set()).update(prefixes)
                self._whole_by_script.setdefault(script(term), set()).add(bones)

    def scripts_spelling(self, name: str) -> set[str]:
        """The scripts other than its own in which a corpus word spells ``name``, as ``knows`` matches."""
        bones, own = skeleton(name), script(name)
        if len(bones) < MIN_LETTERS:
            return set()
        return {written for written, prefixes in self._by_script.items() if written != own and (
            bones in prefixes or len(bones) >= 5
            and any(bones[:i] in self._whole_by_script[written] for i in range(len(bones) - 2, len(bones))))}

    def knows(self, name: str) -> bool:
        """Whether a corpus word in the other script spells ``name`` (a Latin name: a Cyrillic or
        Persian word; any other: a Latin word): the same skeleton, or one the other begins with (a
        stem without its ending, or a name with one)."""
        other = not _LATIN.match(name.lower())
        bones = skeleton(name)
        if len(bones) < MIN_LETTERS:
            return False
        full, prefixes = self._full[other], self._prefixes[other]
        if bones in prefixes:
            return True
        # A stem (its ending cut off) spells a long name's beginning: "ахметгалиев" for "Akhmetgalieva".
        return len(bones) >= 5 and any(bones[:i] in full for i in range(len(bones) - 2, len(bones)))
