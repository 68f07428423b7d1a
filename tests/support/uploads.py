"""Files to upload in the tests of documents added from the chat: a 20-page report and a zip bomb
named .docx, both made here."""

from __future__ import annotations

import io
import zipfile

from tests.support.pdf_maker import make_pdf

REPORT_NAME = "vologda-ferry-ruling-2019.pdf"
REPORT_TITLE = "Ruling of the Vologda arbitration court on the ferry operator"
REPORT_QUESTION = "How much did the Vologda court order the ferry operator to pay the harbour master?"
REPORT_FACT = "the ferry operator shall pay the harbour master 4,312 rubles in compensation"
BOMB_NAME = "minutes.docx"
BOMB_UNZIPPED_MIB = 160  # beyond MAX_UNZIPPED_MIB (100 by default, index/ingest/readers/limits.py)


def report_pdf(pages: int = 20) -> bytes:
    """A 20-page PDF of plain sentences; one sentence on page 17 answers REPORT_QUESTION."""
    content = []
    for page in range(1, pages + 1):
        lines = [f"Section {page}. Hearing of the Vologda arbitration court, day {page}."]
        for line in range(1, 33):
            crossing = page * 40 + line
            lines.append(f"On day {page} witness {line} described the crossing number {crossing} and the "
                         "weather on the river.")
            if line % 16 == 0:  # two paragraphs of about 1,300 characters a page, as in a ruling
                lines.append("")
        if page == 17:
            lines += ["", f"Having heard the parties, the court rules that {REPORT_FACT},",
                      "within thirty days of this ruling."]
        content.append(lines)
    return make_pdf(content, title=REPORT_TITLE)


def zip_bomb_docx() -> bytes:
    """A .docx whose document.xml unzips to BOMB_UNZIPPED_MIB MiB from a few hundred KiB."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org'
                         '/package/2006/content-types"/>')
        with archive.open("word/document.xml", "w", force_zip64=True) as member:
            block = b" " * (1024 * 1024)
            for _ in range(BOMB_UNZIPPED_MIB):
                member.write(block)
    return out.getvalue()
