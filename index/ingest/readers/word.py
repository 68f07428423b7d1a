"""Word files (.docx) through python-docx: paragraphs and headings in order, tables as text.

Each heading is its own paragraph (it gives the passages after it their context); a table becomes one
paragraph with a line per row and its cells joined by " | ". A line break inside a paragraph is a
space: it is layout, not a new paragraph.
"""

from __future__ import annotations

import io
import re
import zipfile

from index.errors import UnreadableDocument
from index.ingest.readers.files import MIB
from index.ingest.readers.limits import IngestLimits
from index.ingest.readers.metadata import date_in_text, metadata_value
from index.types import Document


def read_docx(raw: bytes, doc_id: str, content_hash: str, default_title: str,
              limits: IngestLimits = IngestLimits()) -> Document:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    check_zip(raw, limits)
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


def check_zip(raw: bytes, limits: IngestLimits) -> None:
    """Refuses a zip whose members, uncompressed, or whose number of members exceed ``limits``, before
    anything is inflated: a 3 MB zip can hold gigabytes. The sizes in the zip's directory bound what
    ``zipfile`` inflates, so they cannot understate it."""
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        reason = f"it is not a readable Word file (not a zip: {exc})"
        raise UnreadableDocument(reason.splitlines()[0]) from None
    if len(members) > limits.zip_members:
        raise UnreadableDocument(f"it holds {len(members):,} files; the limit is {limits.zip_members:,} "
                                 f"(MAX_ZIP_MEMBERS)")
    unzipped = sum(m.file_size for m in members)
    if unzipped > limits.unzipped_mib * MIB:
        raise UnreadableDocument(f"it would unzip to {unzipped / MIB:,.0f} MiB; the limit is "
                                 f"{limits.unzipped_mib:,} MiB (MAX_UNZIPPED_MIB)")


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
