"""Scanned pages read by OCR: pypdfium2 renders the page, tesseract (through pytesseract) reads it.

Optional: without the ``tesseract`` program on PATH, ``available()`` is False and scanned pages are
only named in a warning. Russian is read too when tesseract's Russian data is installed.
"""

from __future__ import annotations

import logging
import re
import shutil
from functools import cache

from index.ingest.readers.lines import clean_text

log = logging.getLogger(__name__)

RENDER_DPI = 300  # tesseract reads body text best at 300 dpi
MAX_PIXELS = 6000  # a poster-sized page is rendered smaller rather than as a gigabyte image


def available() -> bool:
    return shutil.which("tesseract") is not None


@cache
def _languages() -> str:
    import pytesseract

    installed = set(pytesseract.get_languages(config=""))
    return "+".join(lang for lang in ("eng", "rus") if lang in installed) or "eng"


def read_pages(raw: bytes, numbers: list[int]) -> dict[int, list[list[tuple[int, str]]]]:
    """For each 1-based page number: its paragraphs, each a list of (page, line text). A page that
    cannot be rendered or read is logged and left out."""
    import pypdfium2
    import pytesseract


    try:
        document = pypdfium2.PdfDocument(raw)
    except (RuntimeError, OSError, ValueError) as exc:  # pdfium's errors are RuntimeErrors
        log.warning("OCR could not open the PDF: %s", exc)
        return {}
    try:
        read: dict[int, list[list[tuple[int, str]]]] = {}
        for number in numbers:
            page = document[number - 1]
            scale = min(RENDER_DPI / 72, MAX_PIXELS / max(page.get_size()))
            try:
                image = page.render(scale=scale, grayscale=True).to_pil()
                text = pytesseract.image_to_string(image, lang=_languages())
            except (pytesseract.TesseractError, RuntimeError, OSError, ValueError) as exc:
                log.warning(
                    "OCR could not read page %d: %s", number, str(exc).splitlines()[0] if str(exc) else exc
                )
                continue
            # tesseract separates paragraphs by a blank line and keeps the layout's line breaks.
            paragraphs = []
            for block in re.split(r"\n\s*\n", text):
                lines = [(number, line) for raw_line in block.splitlines() if (line := clean_text(raw_line))]
                if lines:
                    paragraphs.append(lines)
            read[number] = paragraphs
        return read
    finally:
        document.close()
