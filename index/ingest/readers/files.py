"""Which files of the corpus folder may be read, and reading one without hanging on it.

Only regular files are read: a FIFO would block the build forever, a device or socket is no
document. A symbolic link loop, a link to nothing and a folder that cannot be listed are named
once each instead of stopping the build.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from index.errors import UnreadableDocument

MIB = 1024 * 1024

_KINDS = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISDIR, "a folder"))


@dataclass(frozen=True)
class Skipped:
    """A file or folder under the corpus folder that is not read, and why."""

    path: Path
    reason: str


def walk(root: Path) -> tuple[list[Path], list[Skipped]]:
    """Files under ``root`` (hidden folders and symlinked folders are not descended into), and the
    folders that could not be listed."""
    found: list[Path] = []
    unlisted: list[Skipped] = []

    def unreadable(error: OSError) -> None:
        reason = f"the folder cannot be read ({error.strerror or error}); its files are not indexed"
        unlisted.append(Skipped(Path(error.filename or root), reason))

    for dirpath, dirnames, filenames in os.walk(root, onerror=unreadable, followlinks=False):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        found.extend(Path(dirpath) / name for name in filenames)
    return found, unlisted


def not_readable(path: Path) -> str | None:
    """Why ``path`` (after its links) is not a file to read, or None when it is a regular file."""
    try:
        info = os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "it is a symbolic link loop"
        if exc.errno == errno.ENOENT and path.is_symlink():
            return "it is a link to nothing (its target does not exist)"
        return f"it cannot be read ({exc.strerror or exc})"
    return _kind(info.st_mode)


def _kind(mode: int) -> str | None:
    if stat.S_ISREG(mode):
        return None
    what = next((name for test, name in _KINDS if test(mode)), "not a regular file")
    return f"it is {what}; only regular files are read"


def read_regular(path: Path, limit_mib: int) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit_mib`` MiB. Opened without blocking
    and checked after opening, so a file replaced by a FIFO meanwhile cannot hang the build."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnreadableDocument("it is a symbolic link loop") from None
        raise UnreadableDocument(f"it cannot be read ({exc.strerror or exc})") from None
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fd)
        if (reason := _kind(info.st_mode)) is not None:
            raise UnreadableDocument(reason)
        if info.st_size > limit_mib * MIB:
            raise UnreadableDocument(f"it is too large ({info.st_size / MIB:,.0f} MiB; the limit is "
                                     f"{limit_mib:,} MiB, MAX_FILE_MIB)")
        try:
            raw = fh.read(limit_mib * MIB + 1)
        except OSError as exc:
            raise UnreadableDocument(f"it cannot be read ({exc.strerror or exc})") from None
    if len(raw) > limit_mib * MIB:  # it grew while being read
        raise UnreadableDocument(f"it is too large (over {limit_mib:,} MiB, MAX_FILE_MIB)")
    return raw
