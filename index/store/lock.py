"""One writer at a time per index folder, across processes.

A build holds an OS lock (``flock``, through filelock) on ``INDEX_DIR/.build.lock`` from before it
reads the previous build until after it has removed old ones. The kernel drops the lock when the
holding process dies, however it dies, so a killed build never blocks the next one. Who holds the
lock is written beside it (``.build.lock.holder``) for the line a waiting build prints; that file is
only read while the lock is held by someone else, so a stale one from a killed holder is never shown
as the holder of a free lock (at worst, for the instant between a new holder's lock and its write).
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from index.errors import CasebotError

LOCK_FILE = ".build.lock"
HOLDER_FILE = ".build.lock.holder"


class IndexBusy(CasebotError):
    """Another process is building into the same index folder."""


class BuildLock:
    """The build lock of the index folder ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _lock(self) -> FileLock:
        self.root.mkdir(parents=True, exist_ok=True)
        # The lock file stays: unlinking it on release would let two processes lock two inodes.
        return FileLock(self.root / LOCK_FILE, preserve_lock_file=True, thread_local=False)

    def holder(self) -> str | None:
        """Who builds now ("process 1234 (python -m bot index build) on host, since 07:50:02"),
        or None when nobody does."""
        lock = self._lock()
        try:
            lock.acquire(timeout=0)
        except Timeout:
            return self._describe_holder()
        lock.release()
        return None

    def check_free(self) -> None:
        """Raise IndexBusy when another build holds the lock."""
        who = self.holder()
        if who is not None:
            raise self._busy(who)

    def _busy(self, who: str) -> IndexBusy:
        return IndexBusy(f"Another build is running on {self.root} ({who}); try again when it has finished.")

    @contextmanager
    def hold(self, wait: bool = True, on_wait: Callable[[str], None] | None = None,
             poll: float = 0.2) -> Iterator[None]:
        """Hold the lock for the block. Busy: raise IndexBusy (``wait`` False), or tell ``on_wait``
        once who holds it and wait until it is free."""
        lock = self._lock()
        try:
            lock.acquire(timeout=0)
        except Timeout:
            who = self._describe_holder()
            if not wait:
                raise self._busy(who) from None
            if on_wait is not None:
                on_wait(f"waiting for the build by {who} on {self.root} to finish")
            lock.acquire(poll_interval=poll)
        try:
            self._write_holder()
            yield
        finally:
            lock.release()

    def _write_holder(self) -> None:
        # "python -m bot index build", "python -c": the words that say what runs, not paths or code.
        words = [a for a in sys.orig_argv[1:6] if "\n" not in a and "/" not in a and len(a) < 40]
        command = " ".join([os.path.basename(sys.orig_argv[0]), *words[:4]])
        data = {"pid": os.getpid(), "host": socket.gethostname(), "command": command,
                "since": time.strftime("%H:%M:%S UTC", time.gmtime())}
        # Written in place, not atomically: a waiter that reads it half-written says "another process".
        fd = os.open(self.root / HOLDER_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, json.dumps(data).encode("utf-8"))
        finally:
            os.close(fd)

    def _describe_holder(self) -> str:
        try:
            data = json.loads((self.root / HOLDER_FILE).read_text(encoding="utf-8"))
            return f"process {data['pid']} ({data['command']}) on {data['host']}, since {data['since']}"
        except (OSError, ValueError, KeyError, TypeError):
            return "another process"
