"""Names across scripts: "Akhmetgaliev" and «Ахметгалиев», "Hotgram" and «هاتگرام» are one name.

A name's skeleton is its consonants in Latin letters (anyascii transliterates Cyrillic and Persian),
with the spellings that vary between transliterations folded together ("kh" and "x", "q" and "gh").
Persian writes few vowels, so vowels are left out on both sides. Used by abstention (index.abstention)
so that an English question naming a person only a Russian or Persian document mentions is not
declined for naming what "no document contains".
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from anyascii import anyascii

_FOLDS = (("q", "g"), ("kh", "x"), ("zh", "j"), ("sh", "s"), ("ch", "q"), ("ts", "s"), ("gh", "g"),
          ("ph", "f"), ("th", "t"), ("dh", "z"), ("ck", "k"), ("c", "k"))
_DROPPED = re.compile(r"[^bdfgjklmnpqrstvxz]")  # vowels, h, w, y, apostrophes: what scripts disagree on
_LATIN = re.compile(r"^[a-z0-9'’-]+$")
MIN_LETTERS = 3


def skeleton(word: str) -> str:
    text = anyascii(word).lower()
    for written, folded in _FOLDS:
        text = text.replace(written, folded)
    return re.sub(r"(.)\1+", r"\1", _DROPPED.sub("", text))


class Skeletons:
    """The skeletons of the corpus's words written in another script than Latin."""

    def __init__(self, terms: Iterable[str]) -> None:
        self._full: set[str] = set()
        self._prefixes: set[str] = set()
        for term in terms:
            if not term or _LATIN.match(term):
                continue
            bones = skeleton(term)
            if len(bones) >= MIN_LETTERS:
                self._full.add(bones)
                self._prefixes.update(bones[:i] for i in range(MIN_LETTERS, len(bones) + 1))

    def __bool__(self) -> bool:
        return bool(self._full)

    def knows(self, name: str) -> bool:
        """Whether a corpus word in another script spells ``name``: the same skeleton, or one the
        other begins with (a stem without its ending, or a name with one)."""
        bones = skeleton(name)
        if len(bones) < MIN_LETTERS:
            return False
        return bones in self._prefixes or any(bones[:i] in self._full
                                               for i in range(max(MIN_LETTERS, len(bones) - 3), len(bones)))
