"""CaseBot: the platform-neutral service every adapter (CLI, Discord, Matrix) talks to.

It owns the embedder and the current searcher, answers questions (synchronously or from an event
loop without blocking it), lists sources, and rebuilds the index in the background, swapping the
new searcher in only when the build is complete: questions asked during a rebuild are answered
from the old index.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass
from typing import Callable

from bot.answer import Answer
from bot.questions import clean_question
from bot.settings import Settings
from index.build import BuildReport, build_index
from index.embed import Embedder, load_embedder
from index.errors import IndexMissing
from index.search import Searcher
from index.store import IndexStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceInfo:
    doc_id: str
    title: str
    date: str | None
    source: str | None
    url: str | None
    chunks: int


class CaseBot:
    """Answers questions about the corpus. Thread-safe; one instance per process."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.embedder = embedder if embedder is not None else load_embedder(settings.embedder)
        self.store = IndexStore(settings.index_dir)
        self._searcher: Searcher | None = None
        self._lock = threading.Lock()  # guards _searcher swaps
        self._rebuild_lock = threading.Lock()  # one rebuild at a time

    # -- index lifecycle -------------------------------------------------------------------
    def open(self, build_if_missing: bool = True, progress: bool = False) -> None:
        """Load the index, building it first when there is none yet."""
        try:
            searcher = Searcher(self.store.load(self.embedder), self.embedder, self.settings)
        except IndexMissing:
            if not build_if_missing:
                raise
            log.info("no index in %s yet: building it", self.settings.index_dir)
            self.rebuild(progress=progress)
            return
        with self._lock:
            self._searcher = searcher

    @property
    def searcher(self) -> Searcher:
        with self._lock:
            searcher = self._searcher
        if searcher is None:
            self.open()
            with self._lock:
                searcher = self._searcher
        assert searcher is not None
        return searcher

    def rebuild(self, full: bool = False, progress: bool = False) -> BuildReport:
        """Build (incrementally unless ``full``) and swap the new index in."""
        with self._rebuild_lock:
            report = build_index(self.settings.corpus_dir, self.store, self.embedder,
                                 full=full, progress=progress)
            searcher = Searcher(self.store.load(self.embedder), self.embedder, self.settings)
            with self._lock:
                self._searcher = searcher
            log.info("index rebuilt: %s", report.summary())
            return report

    async def rebuild_async(self, full: bool = False) -> BuildReport:
        return await asyncio.to_thread(self.rebuild, full)

    @property
    def rebuilding(self) -> bool:
        return self._rebuild_lock.locked()

    # -- questions -------------------------------------------------------------------------
    def ask(self, question: str, top_k: int | None = None) -> Answer:
        """Answer one question. Raises QuestionRejected for unusable input."""
        cleaned = clean_question(question, self.settings.max_question_chars)
        return self.searcher.answer(cleaned, top_k or self.settings.top_k)

    async def ask_async(self, question: str, top_k: int | None = None) -> Answer:
        """Like ``ask`` but off the event loop."""
        return await asyncio.to_thread(self.ask, question, top_k)

    def sources(self) -> list[SourceInfo]:
        searcher = self.searcher
        return [
            SourceInfo(d.doc_id, d.title, d.date, d.source, d.url, searcher.chunk_count(d.doc_id))
            for d in searcher.documents
        ]


ProgressCallback = Callable[[int, int], None]
