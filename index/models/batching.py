"""Question vectors of several threads read in one model call (bench/load.py).

``ask_async`` answers each question in a worker thread; when several wait, their one-text calls for a
question's vector are gathered here and the model reads them together, so the event loop stays prompt
without losing throughput.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from queue import Empty, SimpleQueue
from typing import Any

import numpy as np

from index.models.encoded import Embedder


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
            future.set_result(np.stack(part))

    def _run(self, kind: str, texts: list[str]) -> Any:
        if kind == "queries":
            return self.inner.encode_queries(texts)
        return self.inner.encode_passages(texts)
