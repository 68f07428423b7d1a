"""Follow INDEX_DIR: notice a new build, whoever made it, and damage to the build being served.

``IndexFollower`` decides; ``CaseBot`` swaps (bot.service). A poll costs one ``readlink`` and a
``stat`` of each file of the served build (about 15): cheap enough to run every second, and it
works wherever the index lives (a network file system included), where file events may not arrive.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from index.store.builds import Fingerprint, Serving, load_serving
from index.types import ModelIdentity
from index.store.files import IndexStore
from index.store.milvus.store import MilvusStore

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0


class IndexFollower:
    """Remembers what was loaded (where ``current`` pointed, the served build's fingerprint) and
    loads the build to serve when that changes. Not thread-safe: the caller serialises calls."""

    def __init__(self, store: IndexStore | MilvusStore, models: ModelIdentity) -> None:
        self.store = store
        self.models = models
        self.link: Path | None = None  # where ``current`` pointed at the last load
        self.fingerprint: Fingerprint | None = None  # of the build served since then
        self._warned: set[Path] = set()  # damaged builds already warned about

    def stale(self) -> str | None:
        """Why the served build should be replaced (a new build, or a changed file), or None."""
        if self.fingerprint is None:
            return "nothing loaded"
        if self.store.current_build() != self.link:
            return "a new build"
        return self.fingerprint.changed()

    def forget(self) -> None:
        """Make the next ``stale`` say yes (a question hit a read error)."""
        self.fingerprint = None

    def load(self) -> Serving:
        """The build to serve now: the current one, or the newest intact one when it is damaged
        (warned about once per damaged build). Raises IndexMissing, IndexCorrupt, ModelMismatch."""
        link = self.store.current_build()
        try:
            serving = load_serving(self.store, self.models)
        except Exception:
            # Nothing loads: keep serving what is loaded and try again when ``current`` moves.
            self.link = link
            if self.fingerprint is not None:
                self.fingerprint = Fingerprint(self.fingerprint.build)
            raise
        self.link = link
        self.fingerprint = Fingerprint(serving.index.path)
        if serving.damaged and link is not None and link not in self._warned:
            self._warned.add(link)
            log.warning(
                "the current index build %s cannot be read (%s); answering from the previous build %s "
                "until the next `python -m bot index build` repairs it",
                link.name,
                serving.damaged,
                serving.index.path.name,
            )
        return serving


class Poller:
    """Calls ``tick`` every ``interval`` seconds in a daemon thread until ``stop``; an exception
    from ``tick`` is logged (once per distinct message) and the polling goes on."""

    def __init__(self, name: str, tick: Callable[[], object], interval: float = POLL_SECONDS) -> None:
        self._tick = tick
        self._interval = interval
        self._stop = threading.Event()
        self._last_error = ""
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._tick()
                self._last_error = ""
            except Exception as exc:  # a poll must never end the thread: the next one may succeed
                message = f"{type(exc).__name__}: {exc}"
                if message != self._last_error:
                    log.error("following the index: %s", message)
                    self._last_error = message
