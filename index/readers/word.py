"""Word files (.docx) through python-docx: paragraphs and headings in order, tables as text.

Each heading is its own paragraph (it gives the passages after it their context); a table becomes one
paragraph with a line per row and its cells joined by " | ". A line break inside a paragraph is a
space: it is layout, not a new paragraph.
"""

from __future__ import annotations

import io
import re

from index.errors import UnreadableDocument
from index.readers.metadata import date_in_text, metadata_value
from index.types import Document


def read_docx(raw: bytes, doc_id: str, content_hash: str, default_title: str) -> Document:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(io.BytesIO(raw))
    except Exception as exc:  # noqa: BLE001 - a damaged zip or XML raises many kinds of errors
        raise UnreadableDocument(
            f"it is not a readable Word file ({type(exc).__name__}: {exc})".splitlines()[0]
        ) from None
    paragraphs: list[str] = []
    heading: str | None = None
    for element in document.element.body.iterchildren():
        tag = element.tag.rsplit("}", 1)[-1]
        if tag == "p":
            paragraph = Paragraph(element, document)
            text = _one_line(paragraph.text)
            style = paragraph.style.name if paragraph.style is not None else ""
            if text and heading is None and style.startswith(("Title", "Heading")):
                heading = text
        elif tag == "tbl":
            text = _table_text(Table(element, document))
        else:
            continue
        if text:
            paragraphs.append(text)
    body = "\n\n".join(paragraphs)
    if not any(ch.isalnum() for ch in body):
        raise UnreadableDocument("it holds no text")
    props = document.core_properties
    created = props.created.date().isoformat() if props.created else None
    return Document(
        doc_id=doc_id,
        title=metadata_value(props.title) or heading or default_title,
        text=body + "\n",
        content_hash=content_hash,
        date=date_in_text(paragraphs) or created,
        author=metadata_value(props.author),
    )


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _table_text(table: object) -> str:
    rows = []
    for row in table.rows:  # type: ignore[attr-defined]
        cells: list[str] = []
        for cell in row.cells:
            text = _one_line(cell.text)
            if not cells or text != cells[-1]:  # a merged cell is reported once per grid column it spans
                cells.append(text)
        if any(cells):
            rows.append(" | ".join(cells))
    return "\n".join(rows)
