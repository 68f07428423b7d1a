"""Metadata that does not come from a format's own fields: sidecar files and dates stated in the text.

A sidecar ``NAME.ext.yml`` (or ``.yaml``) next to any document holds title, date, source, author
and url; its values override whatever the document says about itself.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import yaml

from index.errors import UnreadableDocument

METADATA_KEYS = ("title", "date", "source", "author", "url", "lang")
SIDECAR_SUFFIXES = (".yml", ".yaml")
# libyaml when PyYAML has it (its wheels do): faster than the pure-Python loader (docs/performance.md).
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_MONTH_NAMES = [
    ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
     "november", "december"],
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
    ["января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября",
     "ноября", "декабря"],
]
_MONTHS = {name: number for names in _MONTH_NAMES for number, name in enumerate(names, start=1)} | {"sept": 9}
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DATES = [
    (re.compile(rf"\b(\d{{1,2}})\s+({_MONTH})\.?,?\s+(\d{{4}})\b", re.I), ("d", "m", "y")),
    (re.compile(rf"\b({_MONTH})\.?\s+(\d{{1,2}}),?\s+(\d{{4}})\b", re.I), ("m", "d", "y")),
    (re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b"), ("y", "m", "d")),
]
# A dateline or a dated heading is a short paragraph near the top; dates inside sentences are events.
DATELINE_MAX_CHARS = 80
DATELINE_PARAGRAPHS = 5


def metadata_value(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    text = str(value).strip()
    return text or None


def load_yaml_mapping(text: str, what: str) -> dict[str, object]:
    """A YAML mapping (front matter or a sidecar); UnreadableDocument naming ``what`` otherwise."""
    try:
        loaded = yaml.load(text, Loader=YAML_LOADER)
    except yaml.YAMLError as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else "syntax error"
        raise UnreadableDocument(f"its {what} is not valid YAML ({first_line})") from None
    if loaded is not None and not isinstance(loaded, dict):
        raise UnreadableDocument(f"its {what} is not a mapping of keys to values")
    return loaded or {}


def sidecar_of(path: Path) -> Path | None:
    """The sidecar next to ``path``, when there is one."""
    for suffix in SIDECAR_SUFFIXES:
        candidate = path.with_name(path.name + suffix)
        if candidate.is_file():
            return candidate
    return None


def document_of_sidecar(path: Path) -> Path | None:
    """For ``NAME.ext.yml``: ``NAME.ext`` when the name has that shape (the file may be missing)."""
    if path.suffix.lower() in SIDECAR_SUFFIXES and Path(path.stem).suffix:
        return path.with_name(path.stem)
    return None


def read_sidecar(raw: bytes) -> dict[str, str]:
    """The metadata values a sidecar sets (keys it does not set are absent)."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UnreadableDocument("its sidecar is not valid UTF-8") from None
    values = load_yaml_mapping(text, "sidecar")
    return {key: value for key in METADATA_KEYS if (value := metadata_value(values.get(key)))}


def parse_date(text: str) -> str | None:
    """The first date written in ``text`` ("13 April 2018", "April 13, 2018", "2018-04-13"), ISO."""
    found: list[tuple[int, str]] = []
    for pattern, order in _DATES:
        match = pattern.search(text)
        if match:
            parts = dict(zip(order, match.groups()))
            month = int(parts["m"]) if parts["m"].isdigit() else _MONTHS[parts["m"].lower()]
            try:
                found.append((match.start(), dt.date(int(parts["y"]), month, int(parts["d"])).isoformat()))
            except ValueError:
                continue
    return min(found)[1] if found else None


def date_in_text(paragraphs: list[str]) -> str | None:
    """The date of a dateline ("Moscow, 13 April 2018") or dated heading among the first paragraphs."""
    for paragraph in paragraphs[:DATELINE_PARAGRAPHS]:
        if len(paragraph) <= DATELINE_MAX_CHARS and (date := parse_date(paragraph)):
            return date
    return None


def pdf_date(value: str | None) -> str | None:
    """A PDF date string ("D:20180413093000+03'00'") as an ISO day."""
    match = re.match(r"(?:D:)?(\d{4})(\d{2})(\d{2})", value or "")
    if not match:
        return None
    try:
        return dt.date(*map(int, match.groups())).isoformat()
    except ValueError:
        return None
