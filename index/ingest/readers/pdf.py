"""PDF text as a reader sees it, from pdfminer.six's layout analysis.

pdfminer groups characters into lines and lines into text boxes (a box ends at a wider vertical gap)
and orders the boxes column by column. On top of that, this module:

* leaves out running headers and footers (text in the top or bottom margin that repeats at the same
  height on several pages, page numbers, a browser's print header and footer) and navigation (boxes
  that are nothing but links, and a short label such as "Related" that only introduces them);
* finds paragraphs: a new box, an indented line, or a line whose first word would have fit at the end
  of the line before (so that line ended the paragraph) starts one; a paragraph carries on across a
  column or page break when its last line is full;
* joins layout line breaks with a space and rejoins words hyphenated at a line end;
* keeps footnotes as their own paragraphs after the paragraph they interrupt, and drops the small
  reference marks in the text.

The document text is the paragraphs joined by blank lines, so every quote is an exact slice of it, and
``page_starts`` records the offset at which each page's text begins (a page's footnotes can follow the
start of the next page's text, so a page may begin twice).
"""

from __future__ import annotations

import io
import logging
import math
import re
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from index.errors import UnreadableDocument
from index.ingest.readers import ocr
from index.ingest.readers.lines import clean_text

log = logging.getLogger(__name__)
PROGRESS_EVERY = 5.0  # seconds between two log lines while one PDF is read

MARGIN_ZONE = 0.12  # share of the page height, top and bottom, where running headers and footers sit
_TERMINAL = tuple(".!?:;\"”’»)")
# "3", "- 3 -", "Page 3 of 9", "3/9", "стр. 3 из 9"
_PAGE_NUMBER = re.compile(
    r"(?:(?:page|p\.|стр\.?|страница)\s*)?[-–—]?\s*\d{1,4}\s*[-–—]?(?:\s*(?:/|of|из)\s*\d{1,4})?", re.I)
# A browser's print header and footer: "11/30/26, 6:26 AM <title>" and "file:///…/page.html 1/3".
_PRINT_DATE = re.compile(
    r"\d{1,2}[./]\d{1,2}[./]\d{2,4},?\s+\d{1,2}:\d{2}(?::\d{2})?(?:\s*[AP]M)?(?:\s|$)", re.I
)
_PRINT_URL = re.compile(r"(?:file|https?)://\S+(?:\s+\d{1,4}\s*/\s*\d{1,4})?", re.I)


@dataclass
class Line:
    text: str
    x0: float
    x1: float
    size: float  # the font size most of its characters have
    first_word: float  # width of its first word: would it have fit at the end of the line before?
    linked: bool  # every character lies inside a link annotation


@dataclass
class Box:
    page: int
    lines: list[Line]
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def text(self) -> str:
        return " ".join(line.text for line in self.lines)

    @property
    def size(self) -> float:
        return max(line.size for line in self.lines)


@dataclass
class Page:
    number: int
    height: float
    boxes: list[Box]
    scanned: bool  # no text, but an image: a scanned page


@dataclass(frozen=True)
class PdfText:
    """The cleaned text with the page each part came from, and the file's own metadata."""

    text: str
    page_starts: tuple[tuple[int, int], ...]
    metadata: dict[str, str] = field(default_factory=dict)  # Title, Author, CreationDate, Creator, Producer
    heading: str | None = None  # the first page's largest-type paragraph, when it is larger than the body
    pages_without_text: tuple[int, ...] = ()  # scanned pages that could not be read
    ocr_pages: tuple[int, ...] = ()  # scanned pages read by OCR
    pages_left_out: int = 0  # pages after the first ``max_pages``, not read


def read_pdf(raw: bytes, max_pages: int | None = None) -> PdfText:
    """The PDF's text as a reader sees it, from its first ``max_pages`` pages; pages without a text
    layer are read by OCR when tesseract is installed (``PdfText.ocr_pages``), and named in
    ``pages_without_text`` when it is not."""
    pages, info = read_layout(raw, max_pages)
    left_out = int(info.pop(_PAGE_COUNT, "0")) - len(pages)
    drop_furniture(pages)
    paragraphs, heading = paragraphs_from_layout(pages)
    scanned = [page.number for page in pages if page.scanned]
    read_by_ocr: dict[int, list[Paragraph]] = (
        ocr.read_pages(raw, scanned) if scanned and ocr.available() else {}
    )
    for number, page_paragraphs in sorted(read_by_ocr.items()):
        at = next((i for i, p in enumerate(paragraphs) if p[0][0] > number), len(paragraphs))
        paragraphs[at:at] = page_paragraphs
    text, page_starts = join_paragraphs(paragraphs)
    unread = tuple(n for n in scanned if not read_by_ocr.get(n))
    return PdfText(
        text, page_starts, info, heading, unread, tuple(sorted(n for n, p in read_by_ocr.items() if p)),
        max(0, left_out),
    )


# -- reading pages ------------------------------------------------------------------------------


_PAGE_COUNT = "casebot:pages"  # the page count read_layout puts beside the information dictionary


def read_layout(raw: bytes, max_pages: int | None = None) -> tuple[list[Page], dict[str, str]]:
    """The text boxes of every page (of the first ``max_pages``), and the document information
    dictionary (with the file's page count under ``_PAGE_COUNT`` when ``max_pages`` cut it)."""
    from pdfminer.converter import PDFPageAggregator
    from pdfminer.layout import LAParams, LTFigure, LTImage, LTTextBox
    from pdfminer.pdfdocument import PDFDocument
    from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager
    from pdfminer.pdfpage import PDFPage
    from pdfminer.pdfparser import PDFParser

    logging.getLogger("pdfminer").setLevel(logging.ERROR)
    try:
        document = PDFDocument(PDFParser(io.BytesIO(raw)))
        resources = PDFResourceManager()
        device = PDFPageAggregator(resources, laparams=LAParams())
        interpreter = PDFPageInterpreter(resources, device)
        pages = []
        total, said = 0, time.monotonic()
        for number, pdf_page in enumerate(PDFPage.create_pages(document), start=1):
            total = number
            if max_pages is not None and number > max_pages:
                continue  # counted, not read: layout analysis is what costs time and memory
            if time.monotonic() - said >= PROGRESS_EVERY:  # a long PDF: say the build is alive
                said = time.monotonic()
                log.info("reading a PDF: page %d", number)
            interpreter.process_page(pdf_page)
            layout = device.get_result()
            links = _link_rects(pdf_page)
            boxes = [box for el in layout if isinstance(el, LTTextBox) if (box := _box(el, number, links))]
            scanned = not boxes and any(isinstance(el, (LTFigure, LTImage)) for el in layout)
            pages.append(Page(number, layout.height, boxes, scanned))
        info = _info(document)
        if max_pages is not None and total > max_pages:
            info[_PAGE_COUNT] = str(total)
    except UnreadableDocument:
        raise
    except Exception as exc:  # noqa: BLE001 - pdfminer raises many kinds of errors on damaged files
        reason = (
            "it is encrypted" if "password" in type(exc).__name__.lower() else f"{type(exc).__name__}: {exc}"
        )
        raise UnreadableDocument(f"it is not a readable PDF ({reason})".splitlines()[0]) from None
    if not pages:
        raise UnreadableDocument("it is not a readable PDF (it has no pages)")
    return pages, info


def _info(document: object) -> dict[str, str]:
    from pdfminer.pdftypes import resolve1
    from pdfminer.psparser import PSLiteral
    from pdfminer.utils import decode_text

    info: dict[str, str] = {}
    for entry in getattr(document, "info", []) or []:
        for key, value in resolve1(entry).items():
            value = resolve1(value)
            if isinstance(value, bytes):
                value = decode_text(value)
            elif isinstance(value, PSLiteral):
                value = value.name
            if isinstance(value, str) and value.strip():
                info[key] = value.strip().replace("\x00", "")
    return info


def _link_rects(pdf_page: object) -> list[tuple[float, float, float, float]]:
    from pdfminer.pdftypes import resolve1

    rects = []
    for annot in resolve1(getattr(pdf_page, "annots", None)) or []:
        annot = resolve1(annot)
        if isinstance(annot, dict) and getattr(annot.get("Subtype"), "name", None) == "Link":
            rect = resolve1(annot.get("Rect"))
            if isinstance(rect, list) and len(rect) == 4:
                x0, y0, x1, y1 = (float(resolve1(v)) for v in rect)
                rects.append((min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)))
    return rects


def _box(element: object, page: int, links: list[tuple[float, float, float, float]]) -> Box | None:
    from pdfminer.layout import LTTextLine

    lines = [line for el in element if isinstance(el, LTTextLine) if (line := _line(el, links))]
    if not lines:
        return None
    x0, y0, x1, y1 = element.bbox  # type: ignore[attr-defined]
    return Box(page, lines, x0, y0, x1, y1)


def _line(element: Iterable[object], links: list[tuple[float, float, float, float]]) -> Line | None:
    from pdfminer.layout import LTChar

    chars = [c for c in element if isinstance(c, LTChar) and c.get_text().strip()]
    if not chars:
        return None
    size = Counter(round(c.size, 1) for c in chars).most_common(1)[0][0]
    kept = []
    for item in element:
        text = item.get_text()  # type: ignore[attr-defined]
        # A footnote's reference mark is set small in the text; the note itself follows as a paragraph.
        if isinstance(item, LTChar) and item.size < 0.8 * size and (text.isdigit() or text in "*†‡"):
            continue
        kept.append(text)
    text = clean_text("".join(kept))
    if not text:
        return None
    first_word = []
    for c in chars:
        if first_word and c.x0 - first_word[-1].x1 > 0.15 * size:
            break
        first_word.append(c)
    linked = bool(links) and all(
        any(
            r[0] - 1 <= (c.x0 + c.x1) / 2 <= r[2] + 1 and r[1] - 1 <= (c.y0 + c.y1) / 2 <= r[3] + 1
            for r in links
        )
        for c in chars
    )
    return Line(
        text, chars[0].x0, max(c.x1 for c in chars), size, first_word[-1].x1 - first_word[0].x0, linked
    )


# -- what is not the document's text -------------------------------------------------------------


def drop_furniture(pages: list[Page]) -> None:
    """Remove running headers and footers, page numbers and a browser's print header/footer."""
    def in_zone(box: Box, page: Page) -> bool:
        return box.y0 >= page.height * (1 - MARGIN_ZONE) or box.y1 <= page.height * MARGIN_ZONE

    def key(box: Box) -> tuple[str, int]:  # the same words at the same height; page numbers vary
        return re.sub(r"\d+", "#", box.text.lower()), round((box.y0 + box.y1) / 12)

    seen = Counter(k for page in pages for k in {key(b) for b in page.boxes if in_zone(b, page)})
    repeated = max(2, math.ceil(len(pages) / 3))
    for page in pages:
        zone = [b for b in page.boxes if in_zone(b, page)]
        printed = [b for b in zone if _PRINT_DATE.match(b.text) or _PRINT_URL.fullmatch(b.text)]
        dropped = {id(b) for b in zone if seen[key(b)] >= repeated or _PAGE_NUMBER.fullmatch(b.text)}
        # The print header's title sits on the same line as its date.
        dropped |= {id(b) for b in zone for p in printed if b.y0 < p.y1 and b.y1 > p.y0}
        page.boxes = [b for b in page.boxes if id(b) not in dropped]


def drop_navigation(boxes: list[Box]) -> list[Box]:
    """Boxes made only of links (menus, "related" lists), and a short label right before them."""
    def only_links(box: Box) -> bool:
        return all(line.linked for line in box.lines)

    kept = []
    for i, box in enumerate(boxes):
        following = boxes[i + 1] if i + 1 < len(boxes) else None
        label = len(box.lines) == 1 and len(box.text.split()) <= 4 and not box.text.endswith(_TERMINAL)
        if only_links(box) or (label and following is not None and only_links(following)):
            continue
        kept.append(box)
    return kept


# -- paragraphs ---------------------------------------------------------------------------------


Paragraph = list[tuple[int, str]]  # (page, line text) for each line


def paragraphs_from_layout(pages: list[Page]) -> tuple[list[Paragraph], str | None]:
    """The paragraphs in reading order, and the first page's heading (larger type than the body)."""
    boxes = drop_navigation([b for page in pages for b in page.boxes])
    sizes: Counter[float] = Counter()
    for box in boxes:
        for line in box.lines:
            sizes[line.size] += len(line.text)
    body_size = sizes.most_common(1)[0][0] if sizes else 0.0
    by_page: dict[int, list[Box]] = {}
    for box in boxes:
        by_page.setdefault(box.page, []).append(box)

    paragraphs: list[Paragraph] = []
    heading_at: int | None = None
    current: Paragraph = []
    pending_notes: list[Paragraph] = []
    previous: tuple[Line, float, Box] | None = None
    for number, page_boxes in sorted(by_page.items()):
        lowest_body = min((b.y0 for b in page_boxes if b.size >= 0.85 * body_size), default=0.0)
        # Footnotes: smaller type below all of the page's body text.
        notes = [b for b in page_boxes if b.size < 0.85 * body_size and b.y1 <= lowest_body + 1]
        for box in (b for b in page_boxes if all(b is not note for note in notes)):
            right = max(line.x1 for b in page_boxes if b.x0 < box.x1 and b.x1 > box.x0 for line in b.lines)
            left = min(line.x0 for line in box.lines)
            for i, line in enumerate(box.lines):
                if not (current and previous and _continues(previous, line, left, box, first_in_box=i == 0)):
                    if current:
                        paragraphs.append(current)
                        paragraphs.extend(pending_notes)  # footnotes follow the paragraph they interrupt
                        pending_notes = []
                    if heading_at is None and number == pages[0].number and line.size > 1.15 * body_size:
                        heading_at = len(paragraphs)
                    current = []
                current.append((number, line.text))
                previous = (line, right, box)
        for note in notes:
            # The note's own number is set against its first word ("1The figure"); give it a space.
            first = re.sub(r"^(\d{1,3}|[*†‡])(?=[^\W\d])", r"\1 ", note.lines[0].text)
            pending_notes.append([(number, first)] + [(number, line.text) for line in note.lines[1:]])
    if current:
        paragraphs.append(current)
    paragraphs.extend(pending_notes)
    heading = (
        join_lines([text for _, text in paragraphs[heading_at]], set()) if heading_at is not None else None
    )
    return paragraphs, heading


def _continues(
    previous: tuple[Line, float, Box], line: Line, left: float, box: Box, first_in_box: bool
) -> bool:
    """Whether ``line`` carries on the paragraph whose last line is ``previous``."""
    prev, right, prev_box = previous
    if abs(line.size - prev.size) > 0.15 * prev.size:
        return False
    hyphenated = prev.text.endswith(("-", "\xad"))
    indented = line.x0 > left + 0.6 * line.size
    would_fit = prev.x1 + 0.3 * prev.size + line.first_word <= right + 1.0
    if first_in_box:
        moved = prev_box.page != box.page or prev_box.x1 <= box.x0 or box.x1 <= prev_box.x0
        # A new box in the same column follows a vertical gap: a new paragraph. After a column or page
        # break the paragraph goes on when its last line was full.
        return moved and not (indented and len(box.lines) > 1) and (hyphenated or not would_fit)
    if hyphenated:
        return True
    if indented:
        return False
    ends_sentence = prev.text.endswith(_TERMINAL)
    return not (would_fit and (ends_sentence or line.text[:1].isupper()))


def join_paragraphs(paragraphs: Sequence[Paragraph]) -> tuple[str, tuple[tuple[int, int], ...]]:
    """The paragraphs as one text (blank lines between), and where each page's text starts."""
    compounds = {w.lower() for p in paragraphs for _, t in p for w in re.findall(r"\w+-\w+", t)}
    parts: list[str] = []
    page_starts: list[tuple[int, int]] = []
    offset = 0
    for paragraph in paragraphs:
        starts: list[int] = []
        text = join_lines([line for _, line in paragraph], compounds, starts)
        for (page, _), start in zip(paragraph, starts):
            if not page_starts or page_starts[-1][1] != page:
                page_starts.append((offset + start, page))
        parts.append(text)
        offset += len(text) + 2
    return "\n\n".join(parts) + "\n", tuple(page_starts)


def join_lines(lines: Sequence[str], compounds: set[str], starts: list[int] | None = None) -> str:
    """Layout lines as one paragraph: a space between them, a word hyphenated at a line end rejoined
    (unless the document also writes it with its hyphen elsewhere). ``starts`` gets each line's offset."""
    text = ""
    for line in lines:
        if text.endswith("\xad"):
            text = text[:-1]
        elif (head := re.search(r"(\w+)-$", text)) and (tail := re.match(r"[a-zа-яё]\w*", line)):
            if f"{head.group(1)}-{tail.group()}".lower() not in compounds:
                text = text[:-1]
        elif text:
            text += " "
        if starts is not None:
            starts.append(len(text))
        text += line
    return text
