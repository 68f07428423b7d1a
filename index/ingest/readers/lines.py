"""One line of text as the PDF reader and OCR both give it: shared by index.ingest.readers.pdf and
index.ingest.readers.ocr, so that neither imports the other for it."""

from __future__ import annotations

import re
import unicodedata

_LIGATURES = re.compile("[\ufb00-\ufb06]")


def clean_text(text: str) -> str:
    """One line of text: ligatures spelt out, whitespace runs made one space, no soft hyphen inside."""
    text = _LIGATURES.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text).replace("\x00", "")
    text = re.sub(r"\s+", " ", text).strip()
    return text[:-1].replace("\xad", "") + text[-1:] if text else text
