"""CaseBot: the platform-neutral service every adapter (CLI, Discord, Matrix) talks to.

It answers questions (synchronously, or from an event loop without blocking it) and lists sources, from
the index its ``ServedIndex`` serves (bot.serving: open, follow, heal, watch, rebuild).

``ask_async`` never runs a model on the event loop: the question is answered in a worker thread, and the
question vectors of those threads are read together when several wait (index.models.batching), so the
event loop stays prompt without losing throughput (bench/load.py).
"""

from __future__ import annotations

import asyncio
import copy
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from bot.answer import Answer
from bot.questions import clean_question
from bot.serving import ServedIndex
from bot.settings import Settings
from index.build import BuildReport
from index.errors import QuestionRejected
from index.models.batching import BatchingEmbedder
from index.models.models import Models, load_models
from index.search.searcher import Searcher
from index.store.files import IndexStore
from index.store.milvus.store import MilvusStore

log = logging.getLogger(__name__)

# Questions answered at once by ask_async: as many as asyncio.to_thread would run. More threads
# make larger batches but more model calls at once, and less throughput (bench/load.py).
ASK_THREADS = min(32, (os.cpu_count() or 1) + 4)


@dataclass(frozen=True)
class SourceInfo:
    doc_id: str
    title: str
    date: str | None
    source: str | None
    url: str | None
    chunks: int
    language: str = "en"


class CaseBot:
    """Answers questions about the corpus. Thread-safe; one instance per process."""

    def __init__(self, settings: Settings, models: Models | None = None) -> None:
        self.settings = settings
        self.models = models if models is not None else load_models(settings.model_choice())
        self.index = ServedIndex(settings, self.models)
        self._lock = threading.Lock()
        self._async_searcher: tuple[Searcher, Searcher] | None = None  # (searcher, its batching view)
        self._batching: tuple[object, BatchingEmbedder] | None = None  # (question model, its batcher)
        self._ask_pool: ThreadPoolExecutor | None = None  # worker threads of ask_async

    # -- the index (bot.serving) ---------------------------------------------------------------
    @property
    def store(self) -> IndexStore | MilvusStore:
        return self.index.store

    @property
    def searcher(self) -> Searcher:
        return self.index.searcher

    @property
    def rebuilding(self) -> bool:
        return self.index.rebuilding

    def open(self, build_if_missing: bool = True, progress: bool = False) -> None:
        self.index.open(build_if_missing, progress)

    def refresh(self, force: bool = False) -> bool:
        return self.index.refresh(force)

    def rebuild(self, full: bool = False, progress: bool = False, wait: bool = True,
                on_wait: Callable[[str], None] | None = None) -> BuildReport:
        return self.index.rebuild(full, progress, wait, on_wait)

    async def rebuild_async(self, full: bool = False) -> BuildReport:
        return await asyncio.to_thread(self.rebuild, full)

    def start_background(self) -> None:
        self.index.start_background()

    def close(self) -> None:
        self.index.close()

    # -- questions -------------------------------------------------------------------------
    def ask(self, question: str, top_k: int | None = None) -> Answer:
        """Answer one question. Raises QuestionRejected for unusable input."""
        cleaned = clean_question(question, self.settings.max_question_chars)
        return self._answer(lambda: self.searcher, cleaned, top_k or self.settings.top_k)

    def _answer(self, current: Callable[[], Searcher], question: str, top_k: int) -> Answer:
        """``current().search``; when its build turns out damaged, once more from the build that
        replaces it."""
        searcher = current()
        try:
            return Answer.from_retrieval(searcher.search(question, top_k))
        except QuestionRejected:
            raise
        except Exception as exc:
            if not self.index.heal(searcher, exc):
                raise
        return Answer.from_retrieval(current().search(question, top_k))

    async def ask_async(self, question: str, top_k: int | None = None) -> Answer:
        """Like ``ask`` but off the event loop; question vectors of concurrent questions are batched."""
        cleaned = clean_question(question, self.settings.max_question_chars)

        def answer() -> Answer:  # in a worker thread: may load the index, waits for the model thread
            return self._answer(self._batching_searcher, cleaned, top_k or self.settings.top_k)

        if self._ask_pool is None:
            with self._lock:
                if self._ask_pool is None:
                    self._ask_pool = ThreadPoolExecutor(ASK_THREADS, thread_name_prefix="casebot-ask")
        return await asyncio.get_running_loop().run_in_executor(self._ask_pool, answer)

    def _batching_searcher(self) -> Searcher:
        """The current searcher, its question vectors read through one batching model thread (same
        index, same caches)."""
        searcher = self.searcher
        with self._lock:
            if self._async_searcher is None or self._async_searcher[0] is not searcher:
                if self._batching is None or self._batching[0] is not searcher.embedder:
                    self._batching = (searcher.embedder, BatchingEmbedder(searcher.embedder))
                view = copy.copy(searcher)  # a Searcher is immutable after construction: a shallow
                view.embedder = self._batching[1]  # copy shares its index and token cache
                self._async_searcher = (searcher, view)
            return self._async_searcher[1]

    def sources(self) -> list[SourceInfo]:
        searcher = self.searcher
        return [
            SourceInfo(d.doc_id, d.title, d.date, d.source, d.url, searcher.chunk_count(d.doc_id),
                       d.language or "en")
            for d in searcher.documents
        ]
