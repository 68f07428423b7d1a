"""The build's model passes, two at a time: each model reads the chunks it has no vectors for.

A build costs its model passes (ColBERT's pieces, MiniLM's vectors, e5's and USE's: bench/languages.py
gives each per chunk). One after another, a pass leaves much of the second core idle (a small model's
batches do not fill two threads, and its tokenizer and Python run on one); two passes at once keep both
cores busy (bench/build.py, docs/performance.md). Every model's runtime releases the GIL while it
computes, so threads suffice. Progress is one count over all passes: texts read of texts to read.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from index.ingest.documents import PROGRESS_EVERY
from index.models.encoded import ProgressCallback

log = logging.getLogger(__name__)

WORKERS = 2  # passes at once: one per core here (bench/build.py measured 1 and 2)


@dataclass(frozen=True)
class Pass:
    """One model reading some texts: ``read(texts, progress)`` returns what it read (vectors, or None
    when it stores what it reads itself, as the pieces do)."""

    role: str  # the model's role, for the log (index.models.models.Models)
    texts: Sequence[str]
    read: Callable[[list[str], ProgressCallback], Any]


class _Progress:
    """Texts read across passes, told to a bar (on a terminal) or a log line every few seconds, and to
    ``on_read``; thread-safe."""

    def __init__(self, total: int, bar: bool, on_read: Callable[[int], None] | None) -> None:
        self.total, self.done = total, 0
        self.on_read = on_read
        self._lock = threading.Lock()
        self._said = time.monotonic()
        self._bar = None
        if bar:
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit="text", desc="embedding", leave=False)

    def advance(self, n: int) -> None:
        with self._lock:
            self.done += n
            if self._bar is not None:
                self._bar.update(n)
            elif time.monotonic() - self._said >= PROGRESS_EVERY:  # off a terminal: a line now and then
                self._said = time.monotonic()
                log.info("embedding: %d of %d texts (all models)", self.done, self.total)
        if self.on_read is not None:
            self.on_read(n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def run_passes(passes: Sequence[Pass], bar: bool = False, on_read: Callable[[int], None] | None = None,
               workers: int = WORKERS) -> list[Any]:
    """Each pass's result, in order; they start in that order (give the slowest model first). The first
    error is raised once every started pass has ended (none is left running behind the build)."""
    todo = [p for p in passes if p.texts]
    progress = _Progress(sum(len(p.texts) for p in todo), bar, on_read)
    results: dict[int, Any] = {}
    try:
        if workers <= 1 or len(todo) <= 1:
            for p in todo:
                results[id(p)] = p.read(list(p.texts), progress.advance)
        else:
            with ThreadPoolExecutor(workers, thread_name_prefix="casebot-pass") as pool:
                started = {id(p): pool.submit(p.read, list(p.texts), progress.advance) for p in todo}
                results = {key: future.result() for key, future in started.items()}
    finally:
        progress.close()
    return [results.get(id(p)) for p in passes]
