"""A build's small tables in Milvus, and the pointer to the published build.

One collection, ``<name>_blobs``, holds for each build the files the files store writes for its
tables (documents.json, texts.bin, chunks.npy, sentences.npy, hashes.npy, terms.npz, the vocabulary,
manifest.json), each in base64 parts of 49,000 bytes, keyed ``<build>/<file>/<part>``. The manifest
is written last: a build without one is unfinished. A reader loads them into memory (what the files
store memory-maps), and reads vectors and pieces from the build's collection per question.

The row ``current`` holds the name of the published build's collection: writing it is the commit.
milvus-lite 2.5.1 does not implement aliases (create_alias, alter_alias: UNIMPLEMENTED), so the
pointer is what readers follow; on a server the store also points the alias ``<name>`` at the build.
"""

from __future__ import annotations

import base64
from typing import Any

from index.store.milvus.connection import QUERY_LIMIT, MilvusTarget, retrying

PART_BYTES = 49_000
CURRENT = "current"


class BlobTable:
    def __init__(self, client: Any, target: MilvusTarget, name: str) -> None:
        self.client = client
        self.target = target
        self.collection = f"{name}_blobs"

    def ensure(self) -> None:
        """Create the collection when missing (the first build)."""
        from pymilvus import DataType

        if self._call(lambda: self.client.has_collection(self.collection)):
            return
        schema = self.client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("key", DataType.VARCHAR, max_length=512, is_primary=True)
        schema.add_field("build", DataType.VARCHAR, max_length=255)
        schema.add_field("data", DataType.VARCHAR, max_length=65_535)
        schema.add_field("unused", DataType.FLOAT_VECTOR, dim=2)  # Milvus wants a vector field
        params = self.client.prepare_index_params()
        params.add_index("unused", index_type="FLAT", metric_type="L2")
        self._call(lambda: self.client.create_collection(self.collection, schema=schema, index_params=params,
                                                         consistency_level="Strong"))

    def exists(self) -> bool:
        return bool(self._call(lambda: self.client.has_collection(self.collection)))

    def put(self, build: str, name: str, data: bytes) -> None:
        parts = [data[i : i + PART_BYTES] for i in range(0, len(data), PART_BYTES)] or [b""]
        rows = []
        for n, part in enumerate(parts):
            data64 = base64.b64encode(part).decode("ascii")
            key = f"{build}/{name}/{n:06d}"
            rows.append({"key": key, "build": build, "data": data64, "unused": [0.0, 0.0]})
        rows.append({"key": f"{build}/{name}/count", "build": build, "data": str(len(parts)),
                     "unused": [0.0, 0.0]})
        for start in range(0, len(rows), 256):
            batch = rows[start : start + 256]
            self._call(lambda: self.client.upsert(self.collection, batch))

    def get(self, build: str, name: str) -> bytes | None:
        """The file's bytes, or None when the build has no such file (or not all of it)."""
        count = self._get_keys([f"{build}/{name}/count"])
        if not count:
            return None
        keys = [f"{build}/{name}/{n:06d}" for n in range(int(count[0]["data"]))]
        rows: dict[str, str] = {}
        for start in range(0, len(keys), 1024):
            rows.update((r["key"], r["data"]) for r in self._get_keys(keys[start : start + 1024]))
        if len(rows) != len(keys):
            return None
        return b"".join(base64.b64decode(rows[k]) for k in keys)

    def builds_with(self, name: str) -> set[str]:
        """The builds holding the file ``name`` (``manifest.json``: the finished builds)."""
        rows = self._call(lambda: self.client.query(self.collection, filter=f'key like "%/{name}/count"',
                                                    output_fields=["build"], limit=QUERY_LIMIT,
                                                    consistency_level="Strong"))
        return {r["build"] for r in rows}

    def delete(self, build: str) -> None:
        self._call(lambda: self.client.delete(self.collection, filter=f'build == "{build}"'))

    def pointer(self) -> str | None:
        found = self._get_keys([CURRENT]) if self.exists() else []
        return found[0]["data"] if found else None

    def point(self, collection: str) -> None:
        """The commit: readers follow this row to ``collection`` from their next look."""
        row = {"key": CURRENT, "build": "", "data": collection, "unused": [0.0, 0.0]}
        self._call(lambda: self.client.upsert(self.collection, [row]))

    def _get_keys(self, keys: list[str]) -> list[dict[str, Any]]:
        return self._call(lambda: self.client.get(self.collection, ids=keys, output_fields=["key", "data"],
                                                  consistency_level="Strong"))

    def _call(self, call: Any) -> Any:
        return retrying(self.target, call)
