"""Durable file writes: the one way casebot replaces a file (or a link) so that a crash leaves the
old one or the new one, never a mix, and the new one survives a power cut once it is in place.

A temporary name in the same folder (``os.replace`` is atomic only within one file system) is
written, fsynced, renamed over the target, and the folder is fsynced so that the rename itself is
on disk. bot/ uses it too; it imports nothing of casebot.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


def sync(handle: IO[Any]) -> None:
    """Flush ``handle`` and have its bytes on disk."""
    handle.flush()
    os.fsync(handle.fileno())


def fsync_dir(path: Path) -> None:
    """Have the entries of folder ``path`` (a file created or renamed in it) on disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def leftovers(path: Path) -> list[Path]:
    """The temporary paths that writes to ``path`` killed before their rename left behind."""
    path = Path(path)
    return sorted(path.parent.glob(f".{path.name}.*.tmp"))


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path`` for the block to create (a file or a symlink); when the block
    ends without an exception it is fsynced and renamed over ``path``, else removed."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
    try:
        yield temporary
        if not temporary.is_symlink():  # a link's own entry is made durable by the folder's fsync
            fd = os.open(temporary, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        os.replace(temporary, path)
        fsync_dir(path.parent)
    finally:
        if temporary.is_symlink() or temporary.exists():
            temporary.unlink()


def write_atomic(path: Path, data: bytes | str, mode: int = 0o644) -> None:
    """Replace ``path`` with ``data`` (text is written as UTF-8); the file gets permissions ``mode``."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    with replacing(path) as temporary:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
