"""A corpus of hostile files, made by the tests (nothing binary is committed): each case of issue 25
with the words its one warning must contain, and a build of it in a child process whose peak memory
the parent reads (``resource.getrusage(RUSAGE_CHILDREN)``)."""

from __future__ import annotations

import io
import json
import os
import resource
import socket
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from tests.support import REPO
from tests.support.pdf_maker import make_pdf

NOBODY = 65534
# Shown as "evil\\nname \\u202egnp.exe.md": one line, never laid out backwards.
EVIL_NAME = "evil\nname \u202egnp.exe.md"


@dataclass(frozen=True)
class Case:
    path: str  # relative to the corpus folder, as the warning names it
    words: str  # what its one warning says


def make_hostile_corpus(corpus: Path) -> list[Case]:
    """Writes the hostile files beside whatever ``corpus`` holds; returns the warnings expected."""
    cases: list[Case] = []
    os.symlink("b.txt", corpus / "a.txt")
    os.symlink("a.txt", corpus / "b.txt")
    os.symlink("self.md", corpus / "self.md")
    cases += [Case("a.txt", "symbolic link loop"), Case("b.txt", "symbolic link loop"),
              Case("self.md", "symbolic link loop")]
    os.mkfifo(corpus / "pipe.txt")
    cases.append(Case("pipe.txt", "named pipe (FIFO)"))
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(corpus / "socket.md"))
    listener.close()  # the socket file stays
    cases.append(Case("socket.md", "a socket"))
    # A zip bomb renamed .docx: 400 MiB of zeros in about 400 kB.
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("word/document.xml", "w", force_zip64=True) as member:
            block = b"\0" * (1 << 20)
            for _ in range(400):
                member.write(block)
    (corpus / "bomb.docx").write_bytes(packed.getvalue())
    cases.append(Case("bomb.docx", "MAX_UNZIPPED_MIB"))
    many = io.BytesIO()
    with zipfile.ZipFile(many, "w") as archive:
        for i in range(2500):
            archive.writestr(f"m/{i}", b"")
    (corpus / "members.docx").write_bytes(many.getvalue())
    cases.append(Case("members.docx", "MAX_ZIP_MEMBERS"))
    # A Telegram export of 50,000 posts: its first MAX_EXPORT_MESSAGES are read.
    messages = [{"id": i, "type": "message", "date": "2018-04-16T10:00:00", "from": "Durov",
                 "text": f"Post {i}: Roskomnadzor blocked another {i} addresses today."}
                for i in range(50_000)]
    export = {"name": "Channel", "messages": messages}
    (corpus / "export.json").write_text(json.dumps(export), encoding="utf-8")
    cases.append(Case("export.json", "MAX_EXPORT_MESSAGES"))
    # 10 MB of HTML on one line, and elements nested 5,000 deep.
    (corpus / "oneline.html").write_text("<p>" + "Pavel Durov said no. " * 500_000 + "</p>", encoding="utf-8")
    cases.append(Case("oneline.html", "MAX_HTML_LINE_KIB"))
    (corpus / "deep.html").write_text("<div>\n" * 5000 + "Deep text.\n" + "</div>\n" * 5000, encoding="utf-8")
    cases.append(Case("deep.html", "MAX_HTML_DEPTH"))
    # A PDF with more pages than MAX_PDF_PAGES (set low by the test: layout analysis costs ~0.3 s a page).
    body = [f"Line {i}: the court ruled on Telegram's keys." for i in range(20)]
    pages = [[""] * 6 + [f"Page {n}."] + body for n in range(1, 41)]  # below the running-header margin
    (corpus / "long.pdf").write_bytes(make_pdf(pages, title="A long ruling"))
    cases.append(Case("long.pdf", "MAX_PDF_PAGES"))
    # A folder its reader may not list (the build runs as another user than the files' owner).
    locked = corpus / "locked"
    locked.mkdir()
    (locked / "inside.md").write_text("Hidden from the build.\n", encoding="utf-8")
    locked.chmod(0)
    cases.append(Case("locked", "folder cannot be read"))
    (corpus / EVIL_NAME).write_text("Telegram was blocked in Russia in April 2018.\n", encoding="utf-8")
    return cases


BUILD = """
import json, sys
from bot.service import CaseBot
from bot.settings import Settings
from tests.support.models import WordOverlap, fast_models
bot = CaseBot(Settings.load(None), fast_models().replace(reranker=WordOverlap()))
report = bot.rebuild()
print(json.dumps({"warnings": [str(w) for w in report.warnings], "documents": report.documents}))
"""


def build_as_nobody(root: Path, env: dict[str, str]) -> tuple[dict, float]:
    """Build ``root``/corpus into ``root``/index in a child process run as user nobody (so that
    permissions count, though the tests run as root); returns what it printed and the peak resident
    memory, in bytes, of the largest child this process has waited for."""
    for path in [root, *root.rglob("*")]:
        os.lchown(path, NOBODY, NOBODY)
    environment = {**os.environ, "PYTHONPATH": str(REPO), "CORPUS_DIR": str(root / "corpus"),
                   "INDEX_DIR": str(root / "index"), "HOME": str(root), **env}
    result = subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                             sys.executable, "-c", BUILD], cwd=root, env=environment, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # KiB on Linux
    return json.loads(result.stdout.splitlines()[-1]) | {"stderr": result.stderr}, peak
