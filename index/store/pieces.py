"""Stored word-piece vectors: what the search re-scores candidates with, without a model pass.

A build keeps, for every chunk, the last-layer vector of each of its word pieces (the model
computes them anyway for the chunk's own vector; ``SentenceTransformerEmbedder.encode_tokens``
returns both). They are stored 8-bit: each piece vector is L2-normalised, then scaled so that its
largest component is 127 (one float32 scale per piece); the dot product of a question piece with a
stored one is then within about 0.01 of the float32 value. 396 bytes per piece at 384 dimensions,
about 40 kB for a 100-piece chunk.

Files in a build folder::

    tokens.bin        records (code int8[d], scale float32, start int32, end int32), start/end
                      relative to the chunk's text; append-only and shared between builds
    token_chunks.npy  (chunks, 2) int64: first record and record count of each chunk

``tokens.bin`` is shared: a new build hard-links the previous build's file and appends the records
of the chunks it embedded, so an incremental build writes only what is new and leaves every record
the previous build reads untouched (a build killed while appending leaves only unread bytes after
the last whole record). When fewer than half of the records are still used, the new build writes
a fresh, compact file instead.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.store.atomic import sync
from index.models.encoded import TokenVectors

log = logging.getLogger(__name__)

# The files keep their first names: renaming them would change the index format.
PIECES_FILE = "tokens.bin"
PIECE_CHUNKS_FILE = "token_chunks.npy"


def record_dtype(dimension: int) -> np.dtype:
    return np.dtype(
        [("code", np.int8, (dimension,)), ("scale", np.float32), ("start", np.int32), ("end", np.int32)]
    )


def quantise(pieces: TokenVectors, dimension: int) -> np.ndarray:
    """One text's piece vectors as 8-bit records."""
    records = np.zeros(len(pieces.spans), dtype=record_dtype(dimension))
    if len(records):
        vectors = np.asarray(pieces.vectors, dtype=np.float32)
        scale = np.abs(vectors).max(axis=1) / 127.0
        scale[scale == 0] = 1.0
        records["code"] = np.clip(np.rint(vectors / scale[:, None]), -127, 127).astype(np.int8)
        records["scale"] = scale
        records["start"] = pieces.spans[:, 0]
        records["end"] = pieces.spans[:, 1]
    return records


class PieceSpill:
    """The 8-bit records of the chunks a build embeds, quantised as the model reads them, until the
    build writes its table. Held as float32 they would take about 170 kB of memory a chunk (6 GB for a
    50,000-post export); ``on_disk``, they go to an unnamed file in ``folder`` (freed when closed or
    when the process dies), so memory does not grow with them; else they stay in memory, 8-bit (about
    40 kB a chunk), and the disk holds them once."""

    def __init__(self, folder: Path, dimension: int, on_disk: bool) -> None:
        self.dimension = dimension
        self._kept: dict[int, np.ndarray] = {}
        self._file = tempfile.TemporaryFile(dir=folder, prefix=".pieces-") if on_disk else None
        self._where: dict[int, tuple[int, int]] = {}
        self._rows = 0

    def add(self, chunk: int, pieces: TokenVectors) -> None:
        records = quantise(pieces, self.dimension)
        if self._file is None:
            self._kept[chunk] = records
            return
        self._file.write(records.tobytes())
        self._where[chunk] = (self._rows, len(records))
        self._rows += len(records)

    def records(self) -> Mapping[int, np.ndarray]:
        """Each added chunk's records (memory-mapped from the file when on disk)."""
        if self._file is None:
            return self._kept
        self._file.flush()
        dtype = record_dtype(self.dimension)
        stored = (np.memmap(self._file, dtype=dtype, mode="r", shape=(self._rows,)) if self._rows
                  else np.zeros(0, dtype=dtype))
        return {c: stored[first : first + count] for c, (first, count) in self._where.items()}


@dataclass(frozen=True)
class PieceTable:
    """The stored piece vectors of one build, memory-mapped."""

    records: np.ndarray  # structured, see record_dtype
    chunks: np.ndarray  # (n_chunks, 2) int64: first record, count

    @classmethod
    def load(cls, build: Path, dimension: int, n_chunks: int) -> "PieceTable | None":
        """The build's table, or None when it has none. Raises ValueError when it is damaged."""
        chunks_path = build / PIECE_CHUNKS_FILE
        if not chunks_path.exists():
            return None
        chunks = np.load(chunks_path, mmap_mode="r")
        dtype = record_dtype(dimension)
        rows = (build / PIECES_FILE).stat().st_size // dtype.itemsize
        records = (np.memmap(build / PIECES_FILE, dtype=dtype, mode="r", shape=(rows,)) if rows
                   else np.zeros(0, dtype=dtype))
        if chunks.shape != (n_chunks, 2):
            raise ValueError(f"{PIECE_CHUNKS_FILE} has shape {chunks.shape}, expected ({n_chunks}, 2)")
        if n_chunks and (int((chunks[:, 0] + chunks[:, 1]).max()) > rows or int(chunks.min()) < 0):
            raise ValueError(f"{PIECES_FILE} is shorter than its table ({rows} records)")
        return cls(records, np.asarray(chunks))

    def get(self, chunk: int) -> TokenVectors:
        """The chunk's piece vectors (float32, approximately unit length), spans relative to its text."""
        first, count = (int(x) for x in self.chunks[chunk])
        rows = self.records[first : first + count]
        vectors = rows["code"].astype(np.float32) * rows["scale"][:, None]
        spans = np.stack([rows["start"], rows["end"]], axis=1).astype(np.int64)
        return TokenVectors(vectors, spans)

    @property
    def live_records(self) -> int:
        return int(self.chunks[:, 1].sum()) if len(self.chunks) else 0


def write_piece_table(build: Path, dimension: int, previous: PieceTable | None, previous_build: Path | None,
                      reused: Sequence[int | None], new_pieces: Mapping[int, np.ndarray]) -> None:
    """Write ``build``'s piece files.

    ``reused[c]`` is the previous build's chunk whose records chunk ``c`` reuses (None: embedded now,
    its 8-bit records in ``new_pieces[c]``, from a ``PieceSpill``).
    """
    dtype = record_dtype(dimension)
    path = build / PIECES_FILE
    table = np.zeros((len(reused), 2), dtype=np.int64)
    kept = (
        sum(int(previous.chunks[old, 1]) for old in reused if old is not None) if previous is not None else 0
    )
    share = (previous is not None and previous_build is not None and len(previous.records)
             and kept * 2 >= len(previous.records))
    if share:
        assert previous is not None and previous_build is not None
        try:
            os.link(previous_build / PIECES_FILE, path)
        except OSError as exc:  # no hard links here: copy the file instead
            log.info("copying %s (%s)", PIECES_FILE, exc)
            import shutil

            shutil.copyfile(previous_build / PIECES_FILE, path)
        size = path.stat().st_size
        next_row = size // dtype.itemsize
        if size != next_row * dtype.itemsize:  # the tail of an append that was killed: never read
            os.truncate(path, next_row * dtype.itemsize)
        mode = "ab"
    else:
        next_row = 0
        mode = "wb"
    try:
        _write_records(path, mode, dimension, table, next_row, previous, share, reused, new_pieces)
    except BaseException:
        if share:  # the file is the previous build's too: take back only what this build appended
            os.truncate(path, next_row * dtype.itemsize)
        raise
    with open(build / PIECE_CHUNKS_FILE, "wb") as fh:
        np.save(fh, table)
        sync(fh)


def _write_records(path: Path, mode: str, dimension: int, table: np.ndarray, next_row: int,
                   previous: PieceTable | None, share: bool, reused: Sequence[int | None],
                   new_pieces: Mapping[int, np.ndarray]) -> None:
    with open(path, mode) as fh:
        for c, old in enumerate(reused):
            if old is not None and previous is not None:
                if share:
                    table[c] = previous.chunks[old]
                    continue
                records = previous.records[int(previous.chunks[old, 0]) : int(previous.chunks[old].sum())]
            else:
                records = new_pieces[c]
            fh.write(np.ascontiguousarray(records).tobytes())
            table[c] = (next_row, len(records))
            next_row += len(records)
        sync(fh)
