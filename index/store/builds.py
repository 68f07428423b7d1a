"""Which build to serve and which builds to keep: how an index folder heals.

The last ``IndexStore.keep`` intact builds stay on disk (the current one included). When the current
build cannot be loaded, the newest intact older one is served instead, and the next build (which
reads it as its previous build) repairs the index. Builds never change after they are committed, so
a serving process can tell damage from a ``Fingerprint`` of the files it loaded.

Builds that share a word-piece file (index.store.pieces: a hard link, appended to) share its inode: removing
an old build unlinks a name, never the data a kept build reads, and a build only ever truncates the
records it appended itself.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from index.store.atomic import leftovers
from index.errors import IndexCorrupt, ModelMismatch
from index.types import ModelIdentity
from index.store.files import IndexStatus, IndexStore, LoadedIndex
from index.store.pieces import PIECES_FILE

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Serving:
    """What to answer from: the current build, or (``damaged`` says why not) an older intact one."""

    index: LoadedIndex
    damaged: str | None = None


def finished_builds(store: IndexStore) -> list[Path]:
    """Builds with a manifest (finished ones), newest first (when their manifest was written)."""
    if not store.builds.is_dir():
        return []
    found = []
    for path in store.builds.iterdir():
        try:
            found.append((os.stat(path / MANIFEST).st_mtime_ns, path.name, path))
        except OSError:
            continue
    return [path for _, _, path in sorted(found, reverse=True)]


def load_serving(store: IndexStore, models: ModelIdentity | None = None) -> Serving:
    """The current build, or the newest older one that loads when it is damaged. Raises what
    loading the current build raised when no build loads (IndexMissing, IndexCorrupt, ModelMismatch)."""
    try:
        return Serving(store.load(models))
    except IndexCorrupt as exc:
        damage = exc
    current = store.current_build()
    for build in finished_builds(store):
        if build == current:
            continue
        try:
            return Serving(store.load(models, build), str(damage))
        except (IndexCorrupt, ModelMismatch):
            continue
    raise damage


def serving_status(store: IndexStore) -> tuple[IndexStatus, str | None]:
    """``index status``: the build questions are answered from, and the damage of the current one."""
    serving = load_serving(store)
    return store.status(serving.index.path), serving.damaged


def is_intact(store: IndexStore, build: Path) -> bool:
    try:
        store.load(None, build)
    except (IndexCorrupt, ModelMismatch):
        return False
    return True


def prune_builds(store: IndexStore) -> list[Path]:
    """Remove unfinished and damaged builds and the intact ones beyond ``store.keep``, newest kept.

    Run by a build after it has committed, under the build lock (index.store.lock): no build is being
    written meanwhile. Returns the builds kept, current first."""
    current = store.current_build()
    kept = [current] if current is not None else []
    for build in finished_builds(store):
        if len(kept) >= store.keep:
            break
        if build != current and is_intact(store, build):
            kept.append(build)
    if store.builds.is_dir():
        for path in store.builds.iterdir():
            if path not in kept:
                shutil.rmtree(path, ignore_errors=True)
    for leftover in leftovers(store.current):
        leftover.unlink(missing_ok=True)
    return kept


class Fingerprint:
    """Identity, size and time of every file of a loaded build: a committed build never changes,
    so any difference is damage (``tokens.bin`` may only grow: later builds append to it)."""

    def __init__(self, build: Path) -> None:
        self.build = build
        self._files: dict[Path, tuple[int, int, int]] = {}
        for path in build.rglob("*"):
            try:
                if path.is_file():
                    self._files[path] = _identity(path)
            except OSError:  # gone meanwhile (a pruned build): the next poll sees what is left
                continue

    def changed(self) -> str | None:
        """The first file that changed or went missing (its name), or None."""
        for path, before in self._files.items():
            try:
                now = _identity(path)
            except OSError:
                return f"{path.relative_to(self.build)} is missing"
            grew = path.name == PIECES_FILE and now[0] == before[0] and now[1] >= before[1]
            if now != before and not grew:
                return f"{path.relative_to(self.build)} changed"
        return None


def _identity(path: Path) -> tuple[int, int, int]:
    stat = os.stat(path)
    return stat.st_ino, stat.st_size, stat.st_mtime_ns
