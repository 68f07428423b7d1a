"""Paragraphs found in real PDFs by each way of reading them, against the sources' paragraphs.

    python -m bench.pdf_paragraphs [--pages 60]

For the Chromium and LibreOffice PDFs in tests/support/documents (made from the Markdown sources beside
them by make.py): the share of the source's paragraphs that the extracted text holds word for word
(after whitespace normalisation), the lines of page furniture left in (print header/footer, running
header, page numbers, navigation), and the time per page. Readers compared:

* pypdf ``extract_text()``: what casebot used before (page texts joined; no paragraphs);
* pypdf ``extraction_mode="layout"``: blank lines where the layout has gaps, lines then joined;
* pdfminer.six text boxes, each box one paragraph, lines joined (no furniture or page handling);
* casebot's reader (index/ingest/readers/pdf.py: pdfminer's layout plus furniture, paragraphs across
  pages and columns, hyphenation).

``--pages N`` also times casebot's reader on the Chromium print repeated to N pages.
"""

from __future__ import annotations

import argparse
import io
import re
import time

from bench._common import header, table

from index.ingest.readers.pdf import read_pdf
from tests.support.documents import DOCUMENTS, normalised, share_found, source_paragraphs

PDFS = {
    "blocking-april-2018.chromium.pdf": "blocking-april-2018.md",
    "blocking-april-2018.chromium-plain.pdf": "blocking-april-2018.md",
    "iran-ban-2018.libreoffice.pdf": "iran-ban-2018.md",
}
FURNITURE = re.compile(r"\d{1,2}:\d{2} [AP]M|file:|\b\d/3\b|^Home\b|Related|Case files|^Page \d", re.M)


def pypdf_plain(raw: bytes) -> list[str]:
    from pypdf import PdfReader

    return ["\n\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(raw)).pages)]


def pypdf_layout(raw: bytes) -> list[str]:
    from pypdf import PdfReader

    text = "\n".join(
        page.extract_text(extraction_mode="layout") or "" for page in PdfReader(io.BytesIO(raw)).pages
    )
    return [" ".join(block.split()) for block in re.split(r"\n\s*\n", text) if block.strip()]


def pdfminer_boxes(raw: bytes) -> list[str]:
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LTTextBox

    return [" ".join(box.get_text().split()) for page in extract_pages(io.BytesIO(raw))
            for box in page if isinstance(box, LTTextBox)]


def casebot(raw: bytes) -> list[str]:
    return read_pdf(raw).text.split("\n\n")


READERS = {"pypdf extract_text": pypdf_plain, "pypdf layout mode": pypdf_layout,
           "pdfminer boxes": pdfminer_boxes, "casebot (pdfminer + rules)": casebot}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=60)
    args = parser.parse_args()
    from pypdf import PdfReader

    header("Paragraphs found in real PDFs")
    rows = []
    for pdf, source in PDFS.items():
        raw = (DOCUMENTS / pdf).read_bytes()
        expected = source_paragraphs(source)
        for name, reader in READERS.items():
            t = time.perf_counter()
            found = reader(raw)
            seconds = time.perf_counter() - t
            pages = len(PdfReader(io.BytesIO(raw)).pages)
            furniture = sum(len(FURNITURE.findall(p)) for p in found)
            rows.append([pdf, name, f"{share_found(expected, [normalised(p) for p in found]):.0%}", furniture,
                         f"{seconds / pages * 1000:.0f} ms"])
    print(table(["PDF", "reader", "source paragraphs found", "furniture left", "time a page"], rows))
    if args.pages:
        from pypdf import PdfWriter

        writer = PdfWriter()
        while len(writer.pages) < args.pages:
            writer.append(str(DOCUMENTS / "blocking-april-2018.chromium.pdf"))
        out = io.BytesIO()
        writer.write(out)
        t = time.perf_counter()
        read_pdf(out.getvalue())
        seconds = time.perf_counter() - t
        print(f"\ncasebot's reader on a {len(writer.pages)}-page Chromium print: {seconds:.1f} s "
              f"({seconds / len(writer.pages) * 1000:.0f} ms a page)")


if __name__ == "__main__":
    main()
