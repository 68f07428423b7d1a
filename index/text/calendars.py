"""Digits and dates as Persian writes them, made comparable with the Gregorian years questions name.

Persian text writes digits of its own («۱۳۹۷», and Arabic-Indic «١٣٩٧» from an Arabic keyboard) and
dates in the Persian (Solar Hijri) calendar: «۲۳ تیر ۱۳۹۷» is 14 July 2018. A question asking about
"July 2018" should meet that passage, and a Persian question about «دی ۱۳۹۶» an English passage of
January 2018. The conversion is persiantools' (``JalaliDate``). Only what is matched is normalised:
the quote shown stays an exact slice of the document.
"""

from __future__ import annotations

import re

from persiantools.jdatetime import JalaliDate

_TO_ASCII = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
MONTHS = {name: number for number, name in enumerate(
    "فروردین اردیبهشت خرداد تیر مرداد شهریور مهر آبان آذر دی بهمن اسفند".split(), start=1)}
# A Solar Hijri year: in Persian digits, or after a Persian month's name (a "1397" in ASCII digits
# elsewhere is more likely a count than a year).
_PERSIAN_YEAR = re.compile(r"(?<![\d۰-۹٠-٩])[۱١][۳٣۴٤][۰-۹٠-٩]{2}(?![\d۰-۹٠-٩])")
_DATE = re.compile(r"(?:(?P<day>[\d۰-۹٠-٩]{1,2})\s+)?(?P<month>" + "|".join(MONTHS) + r")\s+"
                   r"(?P<year>[\d۰-۹٠-٩]{4})(?![\d۰-۹٠-٩])")


def ascii_digits(text: str) -> str:
    """``text`` with Persian and Arabic-Indic digits written as ASCII ones (the same length)."""
    return text.translate(_TO_ASCII)


def gregorian_years(text: str) -> set[str]:
    """The Gregorian years of the Solar Hijri dates ``text`` writes: a day's own year, the years a
    month spans, or for a year alone the two it spans (1397 began in March 2018 and ended in March
    2019)."""
    found: set[str] = set()
    dated: list[tuple[int, int]] = []
    for match in _DATE.finditer(text):
        year, month = int(ascii_digits(match["year"])), MONTHS[match["month"]]
        if not 1300 <= year <= 1499:
            continue
        dated.append(match.span("year"))
        last = JalaliDate.days_in_month(month, year)
        day = int(ascii_digits(match["day"])) if match["day"] else 0
        days = [day] if 1 <= day <= last else [1, last]
        found.update(str(JalaliDate(year, month, day).to_gregorian().year) for day in days)
    for match in _PERSIAN_YEAR.finditer(text):
        if all(not (start <= match.start() < end) for start, end in dated):
            year = int(ascii_digits(match.group()))
            found.update({str(year + 621), str(year + 622)})
    return found
