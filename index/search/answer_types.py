"""The kind of answer a question asks for (a date, an amount or count, a name) and whether a text holds
one: a question whose passages hold none is declined (index.search.searcher), and the sentence holding one is
preferred as the highlight (index.search.passages).

Patterns, not a date parser: we only need to know that a date or a figure is there, in English,
Russian and Persian, and a parser (dateparser) reads ordinary words as dates ("may", "march", "sat").
bench/ablation.py measures the rule on the evaluation sets (docs/evaluation.md).
"""

from __future__ import annotations

import re

from index.text.calendars import MONTHS as SOLAR_HIJRI_MONTHS
from index.text.lexical import terms_of

DATE, AMOUNT, NAME = "date", "amount", "name"

# -- what the question asks ----------------------------------------------------------------------------
_ASKS = {
    DATE: re.compile(
        r"^\s*(?:when|since when|until when)\b|\b(?:what|which) (?:date|day|month|year)\b|\bin what year\b"
        r"|^\s*когда\b|\bс каких пор\b|\bв как(?:ом|ой|ие) (?:году|день|месяце|числе|дату)\b|\bкакого числа\b"
        r"|^\s*چه (?:زمانی|وقت|تاریخی|سالی|روزی|ماهی)|\bدر چه (?:سال|تاریخ|روز|ماه)|\bاز کی\b",
        re.IGNORECASE,
    ),
    AMOUNT: re.compile(
        r"\bhow (?:much|many|large|big|long|high|expensive)\b|\bwhat (?:amount|sum|number|share|percentage)\b"
        r"|\bсколько\b|\bкаков(?:а|ы)? (?:сумма|размер|число|количество)\b|\bна какую сумму\b"
        r"|چند|چقدر|چه تعداد|چه مقدار|چه میزان",
        re.IGNORECASE,
    ),
    NAME: re.compile(
        r"^\s*(?:who|whom|whose)\b|\b(?:which|what) (?:court|judge|judges|official|officials|minister|agency"
        r"|authority|company|person|people|lawyer|lawyers|prosecutor|body|ministry|organisation|organization"
        r"|politician|deputy|member|senator)\b|\bwho (?:was|is|were|are|did|had|has|signed|ordered)\b"
        r"|^\s*кто\b|\bкого\b|\bкем\b|\bкакой суд\b|\bкакой судья\b|\bкакое ведомство\b"
        r"|چه کسی|چه کسانی|کدام (?:دادگاه|مقام|نهاد|وزیر|شخص|قاضی)",
        re.IGNORECASE,
    ),
}


def asked_kind(question: str) -> str | None:
    """The kind of answer ``question`` asks for, or None (why, how, what happened: any passage may answer).
    A question asking two kinds ("when and how much") is not checked."""
    kinds = [kind for kind, pattern in _ASKS.items() if pattern.search(question)]
    return kinds[0] if len(kinds) == 1 else None


# -- what a text holds ------------------------------------------------------------------------------------
_DIGIT = r"[0-9\u06F0-\u06F9\u0660-\u0669]"
_MONTHS = (
    r"January|February|March|April|May|June|July|August|September|October|November|December"
    r"|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec"
    r"|январ[яеью]|феврал[яеью]|март[аеу]?|апрел[яеью]|ма[яею]|июн[яеью]|июл[яеью]|август[аеу]?"
    r"|сентябр[яеью]|октябр[яеью]|ноябр[яеью]|декабр[яеью]"
    r"|ژانویه|فوریه|مارس|آوریل|مه|ژوئن|ژوئیه|اوت|سپتامبر|اکتبر|نوامبر|دسامبر|"
    + "|".join(SOLAR_HIJRI_MONTHS)  # the Persian calendar's (index.text.calendars)
)
# Gregorian years, and Solar Hijri ones (13xx, 14xx) in any digits.
_YEAR = (rf"(?<!{_DIGIT})(?:1[3-4]{_DIGIT}{{2}}|19{_DIGIT}{{2}}|20{_DIGIT}{{2}}|[۱١][۳٣۴٤]{_DIGIT}{{2}})"
         rf"(?!{_DIGIT})")
_DATE = re.compile(
    rf"\b(?:{_MONTHS})\b|{_YEAR}|(?<!{_DIGIT}){_DIGIT}{{1,2}}[./]{_DIGIT}{{1,2}}[./]{_DIGIT}{{2,4}}"
    r"|\b(?:yesterday|today|last (?:week|month|year)|earlier this (?:week|month|year)"
    r"|вчера|сегодня|دیروز|امروز)\b",
    re.IGNORECASE,
)
_NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty"
    r"|hundred|hundreds|thousand|thousands|million|millions|billion|billions|trillion|trillions|dozen"
    r"|dozens|half|double|twice|third|quarter"
    r"|один|одна|два|две|три|четыре|пять|десять|сто|тысяч\w*|тыс|млн|млрд|миллион\w*|миллиард\w*"
    r"|триллион\w*|десятк\w*|сотн\w*|половин\w*"
    r"|یک|دو|سه|چهار|پنج|ده|صد|هزار|میلیون|میلیارد|نیم"
)
_AMOUNT = re.compile(rf"{_DIGIT}|\b(?:{_NUMBER_WORDS})\b", re.IGNORECASE)
_LATIN_OR_CYRILLIC_NAME = re.compile(r"(?<![.!?»\"“]\s)(?<!^)(?<=\s)[A-ZА-ЯЁ][\w’'-]+")


# What is counted or paid: "how many <people>", "сколько <пользователей>"; "how much ... fined / cost".
_COUNTED = re.compile(r"\bhow many\s+([^\W\d_][\w’'-]*(?:\s+[^\W\d_][\w’'-]*){0,2})"
                      r"|\bсколько\s+([^\W\d_]+(?:\s+[^\W\d_]+)?)", re.IGNORECASE)
_MONEY_ASKED = re.compile(
    r"\bhow much\b.*\b(?:money|fine[sd]?|cost|costs|paid|pay|pays|spend|spent|worth|price|raise[sd]?|earn"
    r"|earned|invest(?:ed)?|budget|penalty|damages)\b|\bhow expensive\b|\bна какую сумму\b|\bштраф\w*"
    r"|\bсколько (?:денег|стоил|стоит|заплат)|چقدر (?:پول|هزینه|جریمه)|چه مبلغی",
    re.IGNORECASE,
)
_CURRENCY = re.compile(
    r"[$€£₽﷼]|\b(?:rubles?|roubles?|dollars?|euros?|pounds?|rials?|tomans?|bitcoins?|USD|EUR|RUB|cents?)\b"
    r"|\bруб\w*|\bдоллар\w*|\bевро\b|ریال|تومان|دلار|یورو|روبل",
    re.IGNORECASE,
)
_FIGURE_THEN_WORDS = re.compile(rf"{_DIGIT}[\d.,\s\u066B\u066C]*|\b(?:{_NUMBER_WORDS})\b", re.IGNORECASE)


def _without_dates(text: str) -> str:
    """``text`` with its dates blanked out ("26 September" names a date, not an amount)."""
    text = re.sub(rf"(?<!{_DIGIT}){_DIGIT}{{1,2}}(?=\s+(?:{_MONTHS})\b)", " ", text, flags=re.IGNORECASE)
    text = re.sub(rf"\b(?:{_MONTHS})\s+{_DIGIT}{{1,2}}\b", " ", text, flags=re.IGNORECASE)
    return _DATE.sub(" ", text)


def _amounts(text: str, question: str) -> bool:
    """A figure that is not only a date; for a sum of money, one with its currency; for "how many
    people", a figure with a word of the same stem as "people" within the next four words."""
    text = _without_dates(text)
    if _MONEY_ASKED.search(question):
        return bool(_CURRENCY.search(text)) and bool(_AMOUNT.search(text))
    counted = _COUNTED.search(question)
    if counted is None:
        return bool(_AMOUNT.search(text))
    wanted = set(terms_of(counted.group(1) or counted.group(2))) - {""}
    if not wanted:
        return bool(_AMOUNT.search(text))
    for figure in _FIGURE_THEN_WORDS.finditer(text):
        following = text[figure.end() : figure.end() + 60].split()[:4]
        if wanted & set(terms_of(" ".join(following))):
            return True
    return False


def holds(kind: str, text: str, question: str = "") -> bool:
    """Whether ``text`` holds an answer of ``kind`` to ``question``: a date; an amount or count (of what
    the question counts, in a currency for a sum of money); or a name (a capitalised word inside a
    sentence; Persian has no capitals, so a Persian text always may)."""
    if kind == DATE:
        return bool(_DATE.search(text))
    if kind == AMOUNT:
        return _amounts(text, question)
    if kind == NAME:
        return bool(_LATIN_OR_CYRILLIC_NAME.search(text)) or bool(re.search(r"[\u0600-\u06FF]", text))
    return True
