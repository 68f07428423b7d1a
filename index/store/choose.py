"""Which store holds the index: the files in INDEX_DIR (the default) or Milvus (INDEX_STORE=milvus)."""

from __future__ import annotations

import re
from pathlib import Path

from index.store.files import IndexStore
from index.store.milvus.connection import MilvusTarget
from index.store.milvus.store import MilvusStore

KINDS = ("files", "milvus")
COLLECTION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


def check_store(kind: str, uri: str, name: str) -> None:
    """Raise ValueError (one sentence) when the store settings cannot work."""
    if kind not in KINDS:
        raise ValueError(f"INDEX_STORE must be 'files' or 'milvus', not {kind!r}.")
    if kind == "milvus":
        MilvusTarget(uri).check()
        if not COLLECTION_NAME.match(name):
            raise ValueError(f"MILVUS_COLLECTION {name!r} must be a letter or '_' followed by up to 63 "
                             "letters, digits or '_'.")


def open_store(kind: str, index_dir: Path, keep: int = 2, uri: str = "", token: str = "",
               name: str = "casebot") -> IndexStore | MilvusStore:
    """The store of these settings (``check_store`` first); nothing is connected before it is read."""
    if kind == "milvus":
        return MilvusStore(index_dir, MilvusTarget(uri, token), name, keep)
    return IndexStore(index_dir, keep=keep)
