"""Read corpus files into Documents: Markdown/text with front matter, HTML, PDF, Word, Telegram exports.

A file that cannot be read becomes a warning naming it; the rest of the corpus is still read.
Nothing outside the corpus folder is followed (symlinks pointing out are skipped). A sidecar
``NAME.ext.yml`` overrides the metadata of ``NAME.ext`` and is not a document itself.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from index.errors import CorpusError, UnreadableDocument
from index.ingest.readers import ocr
from index.ingest.readers.pdf import read_pdf
from index.ingest.readers.telegram import read_telegram_export
from index.ingest.readers.word import read_docx
from index.ingest.readers.files import MIB, not_readable, read_regular, walk
from index.ingest.readers.limits import IngestLimits, check_html_shape
from index.ingest.readers.metadata import (METADATA_KEYS, date_in_text, document_of_sidecar,
                                           load_yaml_mapping,
                                    metadata_value, pdf_date, read_sidecar, sidecar_of)
from index.text.language import detect, normalise_code
from index.text.shown import shown
from index.types import Document

log = logging.getLogger(__name__)

TEXT_SUFFIXES = {".md", ".markdown", ".txt"}
HTML_SUFFIXES = {".html", ".htm"}
PDF_SUFFIXES = {".pdf"}
WORD_SUFFIXES = {".docx"}
JSON_SUFFIXES = {".json"}  # read when the content is a Telegram Desktop export
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | PDF_SUFFIXES | WORD_SUFFIXES | JSON_SUFFIXES
MAX_FILE_BYTES = IngestLimits().file_mib * MIB
PROGRESS_EVERY = 5.0  # seconds between two "reading the corpus" log lines of a long scan
# Part of a document's content hash, so that a build re-reads files whose reader has changed.
_READER_VERSIONS = {".pdf": b"pdf-layout-1", ".docx": b"docx-1", ".json": b"telegram-1",
                    **dict.fromkeys(TEXT_SUFFIXES, b"text-dateline-1"), ".txt": b"text-title-1"}
# A browser stamps a printed page with the time of printing, not the date of the article.
_BROWSER_PRINT = re.compile(r"mozilla|chrom|skia|firefox|safari|webkit|wkhtmltopdf", re.I)

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?\n)?---[ \t]*(?:\n|\Z)", re.DOTALL)

__all__ = ["CorpusScan", "IngestLimits", "IngestWarning", "UnreadableDocument", "read_documents",
           "scan_corpus"]


@dataclass(frozen=True)
class IngestWarning:
    path: str
    reason: str
    skipped: bool = True  # False: the file is indexed, but not all of it could be read

    def __str__(self) -> str:  # one line, whatever the file is called (index.text.shown)
        line = f"skipped {self.path}: {self.reason}" if self.skipped else f"{self.path}: {self.reason}"
        return shown(line)


@dataclass(frozen=True)
class CorpusScan:
    documents: tuple[Document, ...]
    warnings: tuple[IngestWarning, ...]


def scan_corpus(corpus_dir: Path, known: Mapping[str, Document] | None = None,
                limits: IngestLimits = IngestLimits()) -> CorpusScan:
    """Read every supported file under ``corpus_dir`` (recursively, sorted by path). A file whose
    content hash matches its document in ``known`` (the previous build's) is not parsed again: OCR and
    PDF layout analysis cost seconds a document. Each file is read within ``limits``."""
    root = Path(corpus_dir)
    if not root.is_dir():
        raise CorpusError(
            f"The corpus folder {shown(str(root))} does not exist (set CORPUS_DIR or create it).")
    real_root = root.resolve()
    documents: list[Document] = []
    paths, unlisted = walk(root)
    warnings = [IngestWarning(_relative(s.path, root), s.reason) for s in unlisted]
    paths.sort()
    said = time.monotonic()
    for number, path in enumerate(paths, start=1):
        if time.monotonic() - said >= PROGRESS_EVERY:  # a long PDF or export: say the build is alive
            said = time.monotonic()
            log.info("reading the corpus: file %d of %d (%s)", number, len(paths), path.name)
        rel = path.relative_to(root).as_posix()
        if path.name.startswith("."):
            continue  # hidden files (editor swap files, .DS_Store)
        described = document_of_sidecar(path)
        if described is not None:
            if not described.is_file():
                warnings.append(
                    IngestWarning(rel, f"it looks like a sidecar, but {described.name} is not beside it")
                )
            continue  # read with the document it describes
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            warnings.append(IngestWarning(rel, f"unsupported file type {path.suffix or '(none)'!r}"))
            continue
        if (reason := not_readable(path)) is not None:
            warnings.append(IngestWarning(rel, reason))
            continue
        if not path.resolve().is_relative_to(real_root):
            warnings.append(IngestWarning(rel, "it is a link to a file outside the corpus folder"))
            continue
        try:
            scan = read_documents(path, rel, real_root, known, limits)
        except UnreadableDocument as exc:
            warnings.append(IngestWarning(rel, str(exc)))
            continue
        documents.extend(scan.documents)
        warnings.extend(scan.warnings)
    for warning in warnings:
        log.warning("%s", warning)
    return CorpusScan(tuple(documents), tuple(warnings))


def _relative(path: Path, root: Path) -> str:
    return "." if path == root else path.relative_to(root).as_posix()


def read_documents(path: Path, doc_id: str, root: Path | None = None,
                   known: Mapping[str, Document] | None = None,
                   limits: IngestLimits = IngestLimits()) -> CorpusScan:
    """Read one file (a Telegram export gives one document per message), applying its sidecar (when
    it is inside ``root``, the resolved corpus folder), or take it from ``known`` when its content hash
    is the same. Raises UnreadableDocument with a reason a user can act on."""
    raw = read_regular(path, limits.file_mib)
    sidecar = sidecar_of(path)
    overrides: dict[str, str] = {}
    warnings: list[IngestWarning] = []
    if sidecar and root is not None and not sidecar.resolve().is_relative_to(root):
        where = PurePosixPath(doc_id).with_name(sidecar.name).as_posix()
        warnings.append(
            IngestWarning(where, "it is a link to a file outside the corpus folder; it is ignored")
        )
        sidecar = None
    extra = b""
    if sidecar:
        try:
            extra = read_regular(sidecar, limits.file_mib)
            overrides = read_sidecar(extra)
        except UnreadableDocument as exc:
            extra = b""
            where = PurePosixPath(doc_id).with_name(sidecar.name).as_posix()
            warnings.append(
                IngestWarning(
                    where, f"{exc}; it is ignored and {path.name} is indexed without it", skipped=False
                )
            )
    suffix = path.suffix.lower()
    content_hash = hashlib.sha256(raw + extra + _READER_VERSIONS.get(suffix, b"")
                                  + _limits_salt(suffix, limits)).hexdigest()
    previous = (known or {}).get(doc_id)
    if previous is not None and previous.content_hash == content_hash:
        return CorpusScan((_with_language(previous),), tuple(warnings))
    if suffix in PDF_SUFFIXES:
        document, notes = _read_pdf(raw, doc_id, content_hash, path, limits.pdf_pages)
        documents, warnings = [document], warnings + notes
    elif suffix in WORD_SUFFIXES:
        documents = [read_docx(raw, doc_id, content_hash, _default_title(path), limits)]
    elif suffix in JSON_SUFFIXES:
        # For an export the sidecar's url is the channel's address; each post links below it.
        posts = read_telegram_export(raw, doc_id, salt=extra, channel_url=overrides.pop("url", None),
                                     max_messages=limits.export_messages)
        documents = list(posts.documents)
        if posts.left_out:
            warnings.append(IngestWarning(doc_id, f"only its first {limits.export_messages:,} messages are "
                                          f"read ({posts.left_out:,} more left out; MAX_EXPORT_MESSAGES)",
                                          skipped=False))
    else:
        text = _decode(raw)
        if suffix in HTML_SUFFIXES:
            check_html_shape(text, limits)
            documents = [_read_html(text, doc_id, content_hash, path)]
        else:
            documents = [_read_text(text, doc_id, content_hash, path)]
    if "lang" in overrides:
        overrides["language"] = normalise_code(overrides.pop("lang"))
    documents = [_with_language(dataclasses.replace(d, **overrides)) for d in documents]
    return CorpusScan(tuple(documents), tuple(warnings))


def _limits_salt(suffix: str, limits: IngestLimits) -> bytes:
    """Part of the content hash when a limit that shapes this kind of file is not the default, so that
    changing it re-reads the files it cut."""
    default = IngestLimits()
    names = {".pdf": ("pdf_pages",), ".json": ("export_messages",)}.get(suffix, ())
    changed = [f"{n}={getattr(limits, n)}" for n in names if getattr(limits, n) != getattr(default, n)]
    return ";".join(changed).encode()


def _with_language(document: Document) -> Document:
    """The document with its language: as its metadata says, else detected from its text."""
    if document.language:
        return document
    return dataclasses.replace(document, language=detect(document.text))


def _decode(raw: bytes) -> str:
    if b"\x00" in raw:
        raise UnreadableDocument("it looks binary (it contains NUL bytes)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableDocument(f"it is not valid UTF-8 (byte {exc.start}); save it as UTF-8") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _require_text(text: str) -> None:
    if not any(ch.isalnum() for ch in text):
        raise UnreadableDocument("it holds no text")


def _default_title(path: Path) -> str:
    return path.stem.replace("-", " ").replace("_", " ").strip() or path.name


def _read_text(text: str, doc_id: str, content_hash: str, path: Path) -> Document:
    meta: dict[str, object] = {}
    match = _FRONT_MATTER.match(text)
    if match:
        meta = load_yaml_mapping(match.group(1) or "", "front matter")
        text = text[match.end():]
    _require_text(text)
    values = {key: metadata_value(meta.get(key)) for key in METADATA_KEYS}
    return Document(
        doc_id=doc_id,
        title=(values["title"] or _first_heading(text)
               or (_title_line(text) if path.suffix.lower() == ".txt" else None) or _default_title(path)),
        text=text,
        content_hash=content_hash,
        date=values["date"] or date_in_text(text[:2000].split("\n\n")),
        source=values["source"],
        author=values["author"],
        url=values["url"],
        language=normalise_code(values["lang"]) if values["lang"] else None,
    )


def _title_line(text: str) -> str | None:
    """A plain text's first line when it reads as a title: a paragraph of its own, short, with letters,
    not ending as a sentence does ("Moscow court fines Telegram", not "Telegram was fined.")."""
    first, _, rest = text.lstrip("\n").partition("\n")
    line = first.strip()
    if (not rest.startswith("\n") or not 3 <= len(line) <= 150 or line[-1] in ".,;:!?"
            or sum(ch.isalpha() for ch in line) < 3):
        return None
    return line


def _first_heading(text: str) -> str | None:
    match = re.search(r"^#\s+(.+?)\s*#*\s*$", text, re.MULTILINE)
    return match.group(1) if match else None


_HTML_BLOCKS = ["p", "h1", "h2", "h3", "h4", "h5", "h6",
                "li", "blockquote", "pre", "td", "dd", "dt", "figcaption"]
_HTML_BOILERPLATE = ["script", "style", "noscript", "nav", "header", "footer",
                     "aside", "form", "iframe", "svg", "button"]


def _read_html(html: str, doc_id: str, content_hash: str, path: Path) -> Document:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    title_tag = soup.find("title")
    title = title_tag.get_text(" ", strip=True) if title_tag else ""

    def meta(*names: str) -> str | None:
        for name in names:
            tag = soup.find("meta", attrs={"property": name}) or soup.find("meta", attrs={"name": name})
            if tag and tag.get("content"):
                return str(tag["content"]).strip() or None
        return None

    html_tag = soup.find("html")
    declared = str(html_tag.get("lang") or "").strip() if html_tag else ""
    canonical = soup.find("link", attrs={"rel": "canonical"})
    url = (str(canonical["href"]) if canonical and canonical.get("href") else None) or meta("og:url")
    for tag in soup(_HTML_BOILERPLATE):
        tag.decompose()
    for br in soup.find_all("br"):
        br.replace_with("\n")
    main = soup.find("article") or soup.find("main") or soup.body or soup
    paragraphs: list[str] = []
    for block in main.find_all(_HTML_BLOCKS):
        if block.find_parent(_HTML_BLOCKS) is not None:
            continue  # nested blocks are read with their outermost block
        text = " ".join(block.get_text().split())
        if text:
            paragraphs.append(text)
    if not paragraphs:
        text = " ".join(main.get_text(" ", strip=True).split())
        paragraphs = [text] if text else []
    body = "\n\n".join(paragraphs)
    _require_text(body)
    if not title:
        h1 = soup.find("h1")
        title = h1.get_text(" ", strip=True) if h1 else _default_title(path)
    date = meta("article:published_time", "date", "dc.date", "DC.date")
    return Document(
        doc_id=doc_id,
        title=title,
        text=body + "\n",
        content_hash=content_hash,
        date=date[:10] if date and re.match(r"\d{4}-\d{2}-\d{2}", date) else date,
        source=meta("og:site_name", "publisher"),
        author=meta("author", "article:author"),
        url=url,
        language=normalise_code(declared) if declared else None,
    )


def _read_pdf(raw: bytes, doc_id: str, content_hash: str, path: Path,
              max_pages: int) -> tuple[Document, list[IngestWarning]]:

    pdf = read_pdf(raw, max_pages)
    warnings = []
    if pdf.pages_left_out:
        left = pdf.pages_left_out
        reason = f"only its first {max_pages:,} pages are read ({left:,} more left out; MAX_PDF_PAGES)"
        warnings.append(IngestWarning(doc_id, reason, skipped=False))
    if pdf.pages_without_text:
        pages = ", ".join(map(str, pdf.pages_without_text))
        if not pdf.text.strip():
            remedy = ("OCR could not read it" if ocr.available() else
                      "install tesseract-ocr (and tesseract-ocr-rus for Russian) to read it by OCR")
            raise UnreadableDocument(f"its pages have no text layer (a scanned PDF); {remedy}")
        remedy = "OCR could not read them" if ocr.available() else "install tesseract-ocr to read them by OCR"
        warnings.append(
            IngestWarning(
                doc_id, f"page(s) {pages} have no text layer and were left out; {remedy}", skipped=False
            )
        )
    if not pdf.text.strip():
        raise UnreadableDocument("its pages hold no extractable text")
    _require_text(pdf.text)
    info = pdf.metadata
    title = info.get("Title")
    if not title or re.search(r"\.(docx?|odt|pdf|html?)$|^Microsoft Word - ", title, re.I):
        title = pdf.heading
    printed = _BROWSER_PRINT.search(f"{info.get('Creator', '')} {info.get('Producer', '')}")
    date = date_in_text(pdf.text.split("\n\n")) or (None if printed else pdf_date(info.get("CreationDate")))
    return Document(
        doc_id=doc_id,
        title=title or _default_title(path),
        text=pdf.text,
        content_hash=content_hash,
        date=date,
        author=info.get("Author"),
        page_starts=pdf.page_starts,
        ocr=bool(pdf.ocr_pages),
    ), warnings
