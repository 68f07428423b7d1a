"""The word pieces that Milvus builds share: one row per distinct chunk content (index.store.milvus.layout).

Keyed by the chunk's content hash, so a build inserts only the pieces of chunks no earlier build stored,
and an incremental build's cost does not grow with the corpus. Pruning removes the rows no kept build
reads: those of the dropped builds' chunks, and those a killed build inserted (each row names the build
that inserted it).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from index.store.milvus.connection import QUERY_LIMIT, MilvusTarget, retrying
from index.store.milvus.layout import decode_pieces, encode_pieces, pieces_schema

BATCH = 64  # chunks' pieces sent by one call (about 3 MB)


def key(content_hash: bytes | np.void) -> str:
    raw = content_hash.tobytes() if isinstance(content_hash, np.void) else bytes(content_hash)
    return raw.hex()


class SharedPieces:
    def __init__(self, client: Any, target: MilvusTarget, name: str) -> None:
        self.client = client
        self.target = target
        self.collection = f"{name}_pieces"

    def ensure(self) -> None:
        if self._call(lambda: self.client.has_collection(self.collection)):
            return
        params = self.client.prepare_index_params()
        params.add_index("unused", index_type="FLAT", metric_type="L2")
        schema = pieces_schema(self.client)
        self._call(lambda: self.client.create_collection(self.collection, schema=schema, index_params=params,
                                                         consistency_level="Strong"))

    def put(self, build: str, items: Iterable[tuple[str, np.ndarray]]) -> None:
        """Store each (key, 8-bit records), a batch at a time; a key already stored is written again."""
        batch: list[dict[str, Any]] = []
        for name, records in items:
            blocks = encode_pieces(records)
            batch.append({"key": name, "build": build, "pieces": blocks, "unused": [0.0, 0.0]})
            if len(batch) == BATCH:
                self._send(batch)
                batch = []
        if batch:
            self._send(batch)

    def get(self, keys: Sequence[str], dimension: int) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(keys), 1024):
            batch = list(keys[start : start + 1024])
            rows = self._call(lambda: self.client.get(self.collection, ids=batch,
                                                      output_fields=["key", "pieces"]))
            found.update((r["key"], decode_pieces(r["pieces"], dimension)) for r in rows)
        return found

    def remove(self, dropped_keys: set[str], dropped_builds: Sequence[str], kept_keys: set[str]) -> None:
        """Delete the pieces of ``dropped_keys`` and those ``dropped_builds`` inserted, unless a kept build
        reads them (``kept_keys``)."""
        candidates = set(dropped_keys)
        for build in dropped_builds:
            rows = self._call(lambda: self.client.query(self.collection, filter=f'build == "{build}"',
                                                        output_fields=["key"], limit=QUERY_LIMIT))
            candidates.update(r["key"] for r in rows)
        doomed = sorted(candidates - kept_keys)
        for start in range(0, len(doomed), 1024):
            batch = doomed[start : start + 1024]
            self._call(lambda: self.client.delete(self.collection, ids=batch))

    def _send(self, batch: list[dict[str, Any]]) -> None:
        self._call(lambda: self.client.upsert(self.collection, batch))

    def _call(self, call: Any) -> Any:
        return retrying(self.target, call, "word pieces")
