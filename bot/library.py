"""Documents added to and removed from the corpus from a chat, by the bot's admins.

An upload goes through the corpus's own readers (index.ingest.documents.read_documents, with their size, type
and hostile-file limits) before anything is saved: a file the build would skip is refused with the
build's reason and never enters the corpus folder. An accepted file is saved atomically
(index.store.atomic) beside a sidecar recording who added it, when and from which room, and the index is
rebuilt incrementally in a worker thread: questions keep being answered from the current index until
the new one is swapped in (bot.service).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import tempfile
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from bot.render import wording
from index.store.atomic import write_atomic
from index.errors import CasebotError, UnreadableDocument
from index.ingest.documents import MIB, SUPPORTED_SUFFIXES, read_documents
from index.ingest.readers.limits import IngestLimits
from index.ingest.readers.metadata import SIDECAR_SUFFIXES, sidecar_of
from index.types import Document

if TYPE_CHECKING:
    from bot.service import CaseBot

MAX_NAME_CHARS = 120
SIDECAR_SUFFIX = ".yml"


class UploadRefused(CasebotError):
    """An upload or removal that is not done; the message says why."""


@dataclass(frozen=True)
class Upload:
    name: str  # the file's name as sent
    data: bytes
    added_by: str  # the platform's user id
    room: str  # where it was sent: a room or channel id
    platform: str  # "matrix" or "discord"
    replace: bool = False


@dataclass(frozen=True)
class Added:
    """What the bot now reads from an upload (a Telegram export is several posts)."""

    name: str
    title: str
    date: str | None
    language: str
    documents: int
    passages: int
    warnings: tuple[str, ...]
    replaced: bool
    seconds: float


def safe_name(name: str) -> str:
    """The file name to save under, or UploadRefused: no folders, no hidden files, a type the corpus
    reads, and not a sidecar."""
    cleaned = unicodedata.normalize("NFC", name.replace("\\", "/").rsplit("/", 1)[-1]).strip()
    if (not cleaned or cleaned.startswith(".") or len(cleaned) > MAX_NAME_CHARS
            or any(unicodedata.category(ch).startswith("C") for ch in cleaned)):
        raise UploadRefused(wording.upload_bad_name(MAX_NAME_CHARS))
    suffix = Path(cleaned).suffix.lower()
    if suffix in SIDECAR_SUFFIXES or suffix not in SUPPORTED_SUFFIXES:
        raise UploadRefused(wording.upload_bad_type(suffix or "(none)"))
    return cleaned


class Library:
    """Adds and removes corpus files for one CaseBot; one change at a time."""

    def __init__(self, casebot: CaseBot, clock: Callable[[], float] = time.monotonic) -> None:
        self.casebot = casebot
        self._clock = clock
        self._lock = asyncio.Lock()

    @property
    def folder(self) -> Path:
        return self.casebot.settings.corpus_dir

    @property
    def limits(self) -> IngestLimits:
        """The corpus's limits (MAX_FILE_MIB and the readers'): an upload meets the build's rules."""
        return self.casebot.settings.ingest_limits()

    def check_size(self, name: str, size: int | None) -> None:
        """Refuse a file over MAX_FILE_MIB, or with a name that cannot be saved, before it is downloaded."""
        safe_name(name)
        limit = self.limits.file_mib * MIB
        if size is not None and size > limit:
            raise UploadRefused(wording.upload_unreadable(name, wording.too_large(size, limit)))

    async def add(self, upload: Upload) -> Added:
        started = self._clock()
        name = safe_name(upload.name)
        self.check_size(name, len(upload.data))
        async with self._lock:
            target = self.folder / name
            exists = target.exists()
            if exists and not upload.replace:
                raise UploadRefused(wording.upload_exists(name))
            documents, warnings = await asyncio.to_thread(_read, name, upload.data, self.limits)
            await asyncio.to_thread(self._save, target, upload)
            await self.casebot.rebuild_async()
        ids = {d.doc_id for d in documents}
        searcher = self.casebot.searcher
        passages = sum(searcher.chunk_count(doc_id) for doc_id in ids)
        first = documents[0]
        title = first.title if len(documents) == 1 else f"{first.title} … ({len(documents)} posts)"
        return Added(name, title, first.date, first.language, len(documents), passages, warnings, exists,
                     self._clock() - started)

    def _save(self, target: Path, upload: Upload) -> None:
        """The sidecar first, so the document is never in the folder without its record."""
        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        record = {"added_by": upload.added_by, "added_at": now, "added_in": upload.room,
                  "added_from": upload.platform}
        sidecar = sidecar_of(target) or target.with_name(target.name + SIDECAR_SUFFIX)
        kept: dict[str, object] = {}
        if sidecar.is_file():  # a replaced document keeps the metadata written for it (title, url…)
            try:
                loaded = yaml.safe_load(sidecar.read_text(encoding="utf-8")) or {}
            except (yaml.YAMLError, UnicodeDecodeError):
                loaded = {}  # unreadable: the build warned about it; the new record replaces it
            if isinstance(loaded, dict):
                kept = {str(k): v for k, v in loaded.items() if not str(k).startswith("added_")}
        self.folder.mkdir(parents=True, exist_ok=True)
        write_atomic(sidecar, yaml.safe_dump({**kept, **record}, allow_unicode=True, sort_keys=False))
        write_atomic(target, upload.data)

    async def remove(self, name: str) -> str:
        """Take ``name`` (and its sidecar) out of the corpus and rebuild; returns the reply."""
        cleaned = safe_name(name)
        async with self._lock:
            target = self.folder / cleaned
            if not target.is_file():
                raise UploadRefused(wording.remove_missing(cleaned))
            sidecar = sidecar_of(target)
            target.unlink()
            if sidecar is not None:
                sidecar.unlink()
            await self.casebot.rebuild_async()
        return wording.removed(cleaned)


def _read(name: str, data: bytes, limits: IngestLimits) -> tuple[list[Document], tuple[str, ...]]:
    """Read the upload as the build would, in a folder of its own; UploadRefused when it would be
    skipped."""
    with tempfile.TemporaryDirectory(prefix="casebot-upload-") as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        try:
            scan = read_documents(path, name, Path(folder).resolve(), limits=limits)
        except UnreadableDocument as exc:
            raise UploadRefused(wording.upload_unreadable(name, str(exc))) from None
    if not scan.documents:
        raise UploadRefused(wording.upload_unreadable(name, "it holds no document with text"))
    return list(scan.documents), tuple(w.reason for w in scan.warnings)
