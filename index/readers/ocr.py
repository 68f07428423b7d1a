"""Scanned pages read by OCR: pypdfium2 renders the page, tesseract (through pytesseract) reads it.

Optional: without the ``tesseract`` program on PATH, ``available()`` is False and scanned pages are
only named in a warning. Russian is read too when tesseract's Russian data is installed.
"""

from __future__ import annotations

import re
import shutil
from functools import cache

RENDER_DPI = 300  # tesseract reads body text best at 300 dpi


def available() -> bool:
    return shutil.which("tesseract") is not None


@cache
def _languages() -> str:
    import pytesseract

    installed = set(pytesseract.get_languages(config=""))
    return "+".join(lang for lang in ("eng", "rus") if lang in installed) or "eng"


def read_pages(raw: bytes, numbers: list[int]) -> dict[int, list[list[tuple[int, str]]]]:
    """For each 1-based page number: its paragraphs, each a list of (page, line text)."""
    import pypdfium2
    import pytesseract

    from index.readers.pdf import clean_text

    document = pypdfium2.PdfDocument(raw)
    try:
        read: dict[int, list[list[tuple[int, str]]]] = {}
        for number in numbers:
            image = document[number - 1].render(scale=RENDER_DPI / 72, grayscale=True).to_pil()
            text = pytesseract.image_to_string(image, lang=_languages())
            blocks = (block.splitlines() for block in re.split(r"\n\s*\n", text))
            read[number] = [lines for block in blocks if (lines := [(number, t) for raw_line in block if (t := clean_text(raw_line))])]
        return read
    finally:
        document.close()
