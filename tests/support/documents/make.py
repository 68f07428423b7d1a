"""Re-make the test documents from their sources with the real tools; the outputs are committed.

Run by hand (``python tests/support/documents/make.py``) with chromium, libreoffice-writer, hyphen-en-us,
pandoc, poppler-utils and img2pdf installed. The tests themselves need none of these tools.

Sources (written for these tests, facts of the case in our own words):
  blocking-april-2018.md  -> an HTML page (with navigation and related links) -> Chromium PDFs, with and
                             without the browser's print header/footer (three pages)
  iran-ban-2018.md        -> .fodt (A5, two columns, footnotes, running header, page numbers,
                             automatic hyphenation) -> LibreOffice PDF
  (a paragraph of it)      -> undated.chromium.pdf: a page that states no date
  fsb-keys-2017.md        -> pandoc .docx (headings, a table)
  scan.txt, scan-ru.txt   -> a Chromium page rasterised by pdftoppm -> a PDF without a text layer (img2pdf)
"""

from __future__ import annotations

import html
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def body_paragraphs(md: Path) -> list[str]:
    body = md.read_text(encoding="utf-8").split("---\n", 2)[2]
    return [p.strip() for p in body.split("\n\n") if p.strip()]


def run(*args: str, cwd: Path = HERE) -> None:
    subprocess.run(args, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def chromium_pdfs() -> None:
    dateline, *paragraphs = body_paragraphs(HERE / "blocking-april-2018.md")
    ps = "\n".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Russia's court orders Telegram blocked</title>
<style>
body {{ font-family: 'DejaVu Serif', serif; font-size: 15pt; line-height: 1.45; margin: 0 2em; }}
nav a {{ margin-right: 1.5em; }}
p {{ margin: 0 0 0.9em 0; }}
.dateline {{ font-style: italic; }}
aside {{ margin-top: 2em; border-top: 1px solid #888; }}
</style></head>
<body>
<nav><a href="https://example.org/">Home</a> <a href="https://example.org/russia">Russia</a> <a href="https://example.org/tech">Tech</a> <a href="https://example.org/about">About</a></nav>
<article>
<h1>Russia's court orders Telegram blocked</h1>
<p class="dateline">{html.escape(dateline)}</p>
{ps}
</article>
<aside><h3>Related</h3><ul>
<li><a href="https://example.org/iran-ban">Iran's judiciary bans Telegram</a></li>
<li><a href="https://example.org/fsb-keys">What the FSB asked for</a></li>
</ul></aside>
</body></html>
"""  # noqa: E501 (the page as a browser would be served it)
    base = ["chromium", "--headless", "--no-sandbox", "--disable-gpu"]
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "blocking-april-2018.html").write_text(page, encoding="utf-8")
        run(
            *base,
            f"--print-to-pdf={HERE / 'blocking-april-2018.chromium.pdf'}",
            "blocking-april-2018.html",
            cwd=Path(tmp),
        )
        run(
            *base,
            "--no-pdf-header-footer",
            f"--print-to-pdf={HERE / 'blocking-april-2018.chromium-plain.pdf'}",
            "blocking-april-2018.html",
            cwd=Path(tmp),
        )
        # A page that states no date: its PDF's only date is the moment it was printed.
        (Path(tmp) / "undated.html").write_text(
            "<!doctype html><meta charset='utf-8'><title>Proxies keep Telegram reachable</title>"
            f"<p>{html.escape(paragraphs[7])}</p>", encoding="utf-8")
        run(*base, f"--print-to-pdf={HERE / 'undated.chromium.pdf'}", "undated.html", cwd=Path(tmp))


FOOTNOTES = {
    "about forty million people in Iran": "The figure given by Iranian officials in 2018.",
    "such as Soroush": "Soroush was launched in 2017 by the state broadcaster, IRIB.",
}


def libreoffice_pdf() -> None:
    dateline, *paragraphs = body_paragraphs(HERE / "iran-ban-2018.md")
    parts = [f'<text:p text:style-name="Dateline">{html.escape(dateline)}</text:p>']
    for number, paragraph in enumerate(paragraphs, start=1):
        text = html.escape(paragraph)
        for anchor, note in FOOTNOTES.items():
            if anchor in paragraph:
                mark = (
                    f'<text:note text:id="n{number}" text:note-class="footnote"><text:note-citation>{number}'
                    "</text:note-citation><text:note-body>"
                    f'<text:p text:style-name="Footnote">{html.escape(note)}'
                    "</text:p></text:note-body></text:note>"
                )
                text = text.replace(anchor, anchor + mark)
        parts.append(f'<text:p text:style-name="Body">{text}</text:p>')
    fodt = f"""<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
 xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0" xmlns:dc="http://purl.org/dc/elements/1.1/"
 xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0" office:version="1.3" office:mimetype="application/vnd.oasis.opendocument.text">
<office:meta><dc:title>Iran's judiciary orders Telegram blocked</dc:title></office:meta>
<office:styles>
 <style:default-style style:family="paragraph"><style:text-properties style:font-name="Liberation Serif" fo:font-size="10.5pt" fo:language="en" fo:country="US"/></style:default-style>
 <style:style style:name="Body" style:family="paragraph"><style:paragraph-properties fo:text-align="justify" fo:text-indent="0.4cm" fo:hyphenation-ladder-count="no-limit"/>
  <style:text-properties fo:hyphenate="true" fo:hyphenation-remain-char-count="2" fo:hyphenation-push-char-count="2" fo:font-size="12.5pt"/></style:style>
 <style:style style:name="Dateline" style:family="paragraph"><style:paragraph-properties fo:margin-bottom="0.2cm"/><style:text-properties fo:font-style="italic"/></style:style>
 <style:style style:name="Title" style:family="paragraph"><style:paragraph-properties fo:margin-bottom="0.3cm"/><style:text-properties fo:font-size="15pt" fo:font-weight="bold"/></style:style>
 <style:style style:name="Footnote" style:family="paragraph"><style:text-properties fo:font-size="8.5pt"/></style:style>
 <style:style style:name="Header" style:family="paragraph"><style:paragraph-properties fo:text-align="center"/><style:text-properties fo:font-size="8.5pt"/></style:style>
</office:styles>
<office:automatic-styles>
 <style:page-layout style:name="pm1"><style:page-layout-properties fo:page-width="14.8cm" fo:page-height="21cm" fo:margin-top="1.2cm" fo:margin-bottom="1.5cm" fo:margin-left="1.5cm" fo:margin-right="1.5cm">
  <style:columns fo:column-count="2" fo:column-gap="0.6cm"/></style:page-layout-properties>
  <style:header-style><style:header-footer-properties fo:min-height="0cm" fo:margin-bottom="0.4cm"/></style:header-style>
  <style:footer-style><style:header-footer-properties fo:min-height="0cm" fo:margin-top="0.4cm"/></style:footer-style></style:page-layout>
</office:automatic-styles>
<office:master-styles><style:master-page style:name="Standard" style:page-layout-name="pm1">
 <style:header><text:p text:style-name="Header">Tehran Culture and Media Court · Case files</text:p></style:header>
 <style:footer><text:p text:style-name="Header">Page <text:page-number text:select-page="current">1</text:page-number></text:p></style:footer>
</style:master-page></office:master-styles>
<office:body><office:text>
<text:p text:style-name="Title">Iran's judiciary orders Telegram blocked</text:p>
{''.join(parts)}
</office:text></office:body></office:document>
"""  # noqa: E501 (the document as LibreOffice writes it)
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "iran-ban-2018.fodt"
        source.write_text(fodt, encoding="utf-8")
        run("libreoffice", "--headless", "--convert-to", "pdf", "--outdir", tmp, str(source))
        (HERE / "iran-ban-2018.libreoffice.pdf").write_bytes((Path(tmp) / "iran-ban-2018.pdf").read_bytes())


def pandoc_docx() -> None:
    run("pandoc", "--from", "markdown-smart", "fsb-keys-2017.md", "-o", "fsb-keys-2017.pandoc.docx")


def scanned_pdf(name: str) -> None:
    """A page printed by Chromium, rasterised by poppler (as a scanner would give it), wrapped by img2pdf."""
    paragraphs = (HERE / f"{name}.txt").read_text(encoding="utf-8").strip().split("\n\n")
    page = ("<!doctype html><meta charset='utf-8'><body style='font: 14pt serif; margin: 2cm'>"
            + "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs))
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "scan.html").write_text(page, encoding="utf-8")
        run("chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
            "--print-to-pdf=scan-text.pdf", "scan.html", cwd=Path(tmp))
        run("pdftoppm", "-r", "150", "-gray", "-png", "-singlefile", "scan-text.pdf", "scan", cwd=Path(tmp))
        run("img2pdf", "-o", str(HERE / f"{name}.pdf"), str(Path(tmp) / "scan.png"))


if __name__ == "__main__":
    chromium_pdfs()
    libreoffice_pdf()
    pandoc_docx()
    scanned_pdf("scan")
    scanned_pdf("scan-ru")
