"""Watch the corpus folder and call back once its files have stopped changing.

watchfiles (inotify on Linux) reports changes; a batch is handed over only after ``quiet`` seconds
without any, and only once no changed file has been modified within the last ``quiet`` seconds, so a
file that is still being copied in is not indexed half-written. Hidden files and editor or download
leftovers (``.x.md.swp``, ``x.md~``, ``#x.md#``, ``x.pdf.part``) trigger nothing; the corpus scan
skips hidden files too (index.ingest.documents).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from watchfiles import Change, DefaultFilter, watch

log = logging.getLogger(__name__)

QUIET_SECONDS = 2.0
# watchfiles hands over a batch after ``debounce`` ms even while changes keep coming; the mtime
# check below covers files that keep changing for longer.
MAX_GROUP_MS = 60_000
PARTIAL_SUFFIXES = (".part", ".partial", ".crdownload", ".download", ".tmp", ".temp", "~")


class CorpusFilter(DefaultFilter):
    """watchfiles' default filter (VCS folders, ``.swp``, ``~``) plus hidden and partial files."""

    def __call__(self, change: Change, path: str) -> bool:
        return super().__call__(change, path) and not ignored(path)


def ignored(path: str | os.PathLike[str]) -> bool:
    name = Path(path).name
    return (name.startswith(".") or name.endswith(PARTIAL_SUFFIXES)
            or (name.startswith("#") and name.endswith("#")))


def watch_corpus(corpus_dir: Path, on_settled: Callable[[set[Path]], None], stop: threading.Event,
                 quiet: float = QUIET_SECONDS) -> None:
    """Call ``on_settled(changed paths)`` after each burst of changes, until ``stop`` is set."""
    for changes in watch(
        corpus_dir,
        watch_filter=CorpusFilter(),
        step=int(quiet * 1000),
        debounce=MAX_GROUP_MS,
        stop_event=stop,
        raise_interrupt=False,
    ):
        paths = {Path(p) for _, p in changes}
        if _wait_until_still(paths, quiet, stop):
            on_settled(paths)


def _wait_until_still(paths: set[Path], quiet: float, stop: threading.Event) -> bool:
    """Wait until none of ``paths`` has been modified for ``quiet`` seconds; False when stopped."""
    while not stop.is_set():
        newest = max((_mtime(p) for p in paths), default=0.0)
        remaining = newest + quiet - time.time()
        if remaining <= 0:
            return True
        stop.wait(remaining)
    return False


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:  # deleted meanwhile: nothing to wait for
        return 0.0


class CorpusWatcher:
    """``watch_corpus`` in a daemon thread; ``on_settled`` runs in that thread."""

    def __init__(
        self, corpus_dir: Path, on_settled: Callable[[set[Path]], None], quiet: float = QUIET_SECONDS
    ) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(corpus_dir, on_settled, quiet),
                                        name="casebot-corpus-watch", daemon=True)

    def _run(self, corpus_dir: Path, on_settled: Callable[[set[Path]], None], quiet: float) -> None:
        try:
            watch_corpus(corpus_dir, on_settled, self._stop, quiet)
        except Exception as exc:  # e.g. the folder is gone: say so once; the bot goes on answering
            log.error("stopped watching %s: %s: %s", corpus_dir, type(exc).__name__, exc)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
