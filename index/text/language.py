"""Which language a text is in, which ones casebot reads, and their names.

Documents say their language in front matter (``lang: ru``) or have it detected from their text;
questions are detected. py3langid (langid.py's model, shipped in its wheel) guesses among 97
languages; a script that only one served language writes (Cyrillic, Arabic) settles most cases first.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

# The languages casebot reads: word matching (stemmer, stop words) and the evaluation cover them
# (docs/evaluation.md, "Languages"). Questions in another language get a sentence, not a quote.
SERVED = {"en": "English", "ru": "Russian", "fa": "Persian"}
NAMES = {
    **SERVED, "ar": "Arabic", "uk": "Ukrainian", "be": "Belarusian", "bg": "Bulgarian", "de": "German",
    "fr": "French", "es": "Spanish", "it": "Italian", "pt": "Portuguese", "nl": "Dutch", "tr": "Turkish",
    "zh": "Chinese", "ja": "Japanese", "ko": "Korean", "pl": "Polish", "sv": "Swedish", "kk": "Kazakh",
}
DEFAULT = "en"

_CYRILLIC = re.compile(r"[\u0400-\u04FF]")
_UKRAINIAN = re.compile(r"[іїєґІЇЄҐ]")
_ARABIC = re.compile(r"[\u0600-\u06FF\u0750-\u077F\uFB50-\uFDFF\uFE70-\uFEFF]")
_LATIN = re.compile(r"[A-Za-z\u00C0-\u024F]")
_PERSIAN_LETTERS = re.compile(r"[پچژگکی]")  # letters Persian writes and Arabic does not
_RTL = {"fa", "ar", "he", "ur", "ps", "yi"}
# A Latin-script question is English unless the model is this sure of another language: one of 347
# English evaluation questions was guessed Malay at 0.86 (bench/languages.py).
_OTHER_LATIN_CONFIDENCE = 0.99
# Below this many letters, a text in Latin script is taken as English: the model reads one post's
# "Roskomnadzor" as Polish and "Telegram Messenger LLP" as Danish (tests/index/test_language.py).
SHORT_LETTERS = 200
_ENGLISH_FUNCTION_WORDS = frozenset(
    "the a an of in on to did does do was were is are who what when why how which".split()
)


def name(code: str) -> str:
    """The language's English name ("Russian"), or its code when casebot has no name for it."""
    return NAMES.get(code, code)


def is_rtl(code: str) -> bool:
    return code in _RTL


def normalise_code(value: str) -> str:
    """``lang:`` as written ("ru", "RU", "ru-RU", "Russian") -> a code ("ru")."""
    value = value.strip()
    for code, english in NAMES.items():
        if value.lower() == english.lower():
            return code
    return value.split("-")[0].split("_")[0].lower()


@cache
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_pickled_model(MODEL_FILE, norm_probs=True)


def _by_script(text: str) -> str | None:
    """The language a script settles: mostly Cyrillic is Russian unless letters only Ukrainian or
    Belarusian write say otherwise (the model reads short Russian questions as Macedonian or
    Bulgarian: bench/languages.py); mostly Arabic script with Persian-only letters is Persian."""
    letters = len(re.findall(r"[^\W\d_]", text))
    if not letters:
        return None
    if len(_CYRILLIC.findall(text)) > letters / 2:
        return "uk" if _UKRAINIAN.search(text) else "be" if "ў" in text.lower() else "ru"
    if len(_ARABIC.findall(text)) > letters / 2 and _PERSIAN_LETTERS.search(text):
        return "fa"
    return None


def detect(text: str) -> str:
    """The language of a document's text (its first 5,000 characters)."""
    sample = unicodedata.normalize("NFC", text[:5000])
    if (by_script := _by_script(sample)) is not None:
        return by_script
    letters = re.findall(r"[^\W\d_]", sample)
    if not letters:
        return DEFAULT
    if len(letters) < SHORT_LETTERS and len(_LATIN.findall(sample)) > len(letters) / 2:
        return DEFAULT  # "Roskomnadzor", "Telegram Messenger LLP": too short to tell from English names
    code, _ = _identifier().classify(sample)
    return str(code)


def question_language(question: str) -> str:
    """The language a question is written in. Latin script counts as English unless it is plainly
    another language: names and quoted Russian words in an English question must not turn it away."""
    by_script = _by_script(question)
    if by_script is not None:
        return by_script
    code, probability = _identifier().classify(question)
    code = str(code)
    if code in ("ru", "fa") or not _LATIN.search(question):
        return code
    if code != "en":
        words = set(re.findall(r"[a-z]+", question.lower()))
        if probability < _OTHER_LATIN_CONFIDENCE or len(words & _ENGLISH_FUNCTION_WORDS) >= 2:
            return "en"
    return code
