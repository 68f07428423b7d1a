"""The index in Milvus: one collection per build, published by pointing ``current`` at it.

The write side follows the files store (index.store.files.IndexStore), so index.build drives both:
``new_build`` names a build, ``write_pieces`` and ``write`` store its new chunks' word pieces in the
collection builds share (index.store.milvus.pieces), fill its own collection (``<name>_b<time>_<id>``)
and its tables (index.store.milvus.blobs; the manifest last), ``commit`` publishes it in one write (the
pointer row; on a server the alias ``<name>`` follows), ``discard`` drops an unfinished one and
``prune`` keeps the published build and the newest finished ones up to ``keep``, and the pieces they
read. A build killed at any point leaves the published build answering: nothing a reader follows
changes before the commit.

One build at a time: the build lock is the files store's (index.store.lock) on INDEX_DIR, which also
holds the word pieces a large build spills before they are written. Readers need nothing on disk.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import tempfile
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from index.errors import IndexCorrupt, IndexMissing
from index.store.base import ALIGNED, MULTILINGUAL, VECTORS
from index.store.files import (FORMAT_VERSION, HASHES_FILE, REBUILD_HINT, TERMS_FILE, IndexStatus, Manifest,
                               check_model)
from index.store.milvus.blobs import BlobTable
from index.store.milvus.connection import MilvusTarget, StoreUnavailable, connect, retrying
from index.store.milvus.layout import ANALYZERS, bm25_field, bm25_text, chunk_schema, index_params
from index.store.milvus.pieces import SharedPieces, key as piece_key
from index.store.milvus.reader import MilvusIndex
from index.store.tables import ChunkTable, documents_with_texts, load_hashes, write_documents, write_hashes
from index.text.lexical import ChunkTerms, load_terms, save_terms
from index.types import Chunk, Document, ModelIdentity

log = logging.getLogger(__name__)

INSERT_ROWS = 256  # chunks inserted by one call (about 2 MB)
TABLES = ("documents.json", "texts.bin", "chunks.json", "chunks.npy", "sentences.npy", HASHES_FILE,
          TERMS_FILE, "vocabulary.json", "term_counts.npy", "piece_counts.npy")
MANIFEST = "manifest.json"
PLACE = Path("milvus:")  # builds' paths: milvus:/<collection>, never a folder on disk


class MilvusStore:
    """Reads and writes builds in one Milvus (``target``) under ``name``."""

    kind = "milvus"

    def __init__(self, root: Path, target: MilvusTarget, name: str = "casebot", keep: int = 2) -> None:
        self.root = Path(root)  # local: the build lock and a large build's spilled pieces
        self.target = target
        self.name = name
        self.keep = keep
        self._client: Any = None
        self._pending: dict[str, tuple[MilvusIndex | None, list[int | None], Mapping[int, np.ndarray]]] = {}

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = connect(self.target)
        return self._client

    @property
    def blobs(self) -> BlobTable:
        return BlobTable(self.client, self.target, self.name)

    @property
    def shared_pieces(self) -> SharedPieces:
        return SharedPieces(self.client, self.target, self.name)

    def _hashes(self, build: str) -> np.ndarray:
        """The content hashes of a finished build's chunks (none when its table is gone)."""
        data = self.blobs.get(build, HASHES_FILE)
        if data is None:
            return np.zeros(0, dtype="V16")
        with tempfile.TemporaryDirectory(prefix="casebot-milvus-") as tmp:
            (Path(tmp) / HASHES_FILE).write_bytes(data)
            return load_hashes(Path(tmp) / HASHES_FILE)

    @property
    def builds(self) -> Path:  # no build folders: index.store.builds finds none to fall back to
        return PLACE / "builds"

    def describe(self) -> str:
        return f"milvus at {self.target.uri} (collections {self.name}_*)"

    # -- reading ---------------------------------------------------------------------------------
    def current_build(self) -> Path | None:
        collection = self.blobs.pointer()
        return PLACE / collection if collection else None

    def read_manifest(self, build: Path | None = None) -> Manifest:
        build = build or self.current_build()
        if build is None:
            raise IndexMissing(f"No index has been built in Milvus at {self.target.uri} ({self.name}) yet; "
                               "run: python -m bot index build")
        data = self.blobs.get(build.name, MANIFEST)
        if data is None:
            raise IndexCorrupt(f"The index build {build.name} in Milvus has no manifest (an unfinished "
                               f"build?); {REBUILD_HINT}")
        try:
            parsed = json.loads(data)
            if parsed.get("format") != FORMAT_VERSION:
                raise IndexCorrupt(f"The index build {build.name} has format {parsed.get('format')}, this "
                                   f"casebot reads {FORMAT_VERSION}; {REBUILD_HINT}")
            return Manifest.from_json(parsed)
        except (ValueError, KeyError, TypeError) as exc:
            raise IndexCorrupt(f"The manifest of {build.name} is unreadable ({type(exc).__name__}); "
                               f"{REBUILD_HINT}") from None

    def load(self, models: ModelIdentity | None = None, build: Path | None = None) -> MilvusIndex:
        build = build or self.current_build()
        manifest = self.read_manifest(build)
        assert build is not None
        if models is not None:
            check_model(manifest, models)
        try:
            return self._load_tables(build, manifest)
        except (IndexCorrupt, IndexMissing, StoreUnavailable):
            raise
        except Exception as exc:  # any unreadable table means the same thing to a user
            message = f"The index build {build.name} in Milvus is damaged ({type(exc).__name__}: {exc})"
            raise IndexCorrupt(f"{message.splitlines()[0]}; {REBUILD_HINT}") from None

    def _load_tables(self, build: Path, manifest: Manifest) -> MilvusIndex:
        blobs = self.blobs
        with tempfile.TemporaryDirectory(prefix="casebot-milvus-") as tmp:  # memory-mapped, then unlinked
            folder = Path(tmp)
            for name in TABLES:
                data = blobs.get(build.name, name)
                if data is None:
                    raise IndexCorrupt(f"The index build {build.name} in Milvus lacks {name}; {REBUILD_HINT}")
                (folder / name).write_bytes(data)
            documents = documents_with_texts(json.loads((folder / "documents.json").read_text("utf-8")),
                                             folder / "texts.bin")
            chunks = ChunkTable.load(folder, documents)
            hashes = load_hashes(folder / HASHES_FILE)
            words = json.loads((folder / "vocabulary.json").read_text("utf-8"))
            vocabulary = {t: i for i, t in enumerate(words)}
            terms = load_terms(folder / TERMS_FILE, vocabulary, len(chunks))
            term_counts = np.load(folder / "term_counts.npy")
            piece_counts = np.load(folder / "piece_counts.npy")
        rows = retrying(self.target, lambda: self.client.get_collection_stats(build.name))["row_count"]
        expected = (manifest.documents, manifest.chunks, manifest.chunks, manifest.chunks)
        actual = (len(documents), len(chunks), len(hashes), int(rows))
        if expected != actual:
            raise IndexCorrupt(f"The index build {build.name} in Milvus is inconsistent (counts {actual}, "
                               f"manifest says {expected}); {REBUILD_HINT}")
        return MilvusIndex(build, manifest, documents, chunks, hashes, self.client, self.target, terms,
                           term_counts, piece_counts, self.name)

    def status(self, build: Path | None = None) -> IndexStatus:
        build = build or self.current_build()
        manifest = self.read_manifest(build)
        assert build is not None
        created = dt.datetime.fromisoformat(manifest.created)
        age = (dt.datetime.now(dt.timezone.utc) - created).total_seconds()
        return IndexStatus(build, manifest, 0, age)  # size: the server's to tell (docs/milvus.md)

    # -- writing ---------------------------------------------------------------------------------
    def new_build(self) -> Path:
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        self.blobs.ensure()
        return PLACE / f"{self.name}_b{stamp}_{uuid.uuid4().hex[:8]}"

    def write_pieces(self, build: Path, dimension: int, previous: Any, reused: Sequence[int | None],
                     new_pieces: Mapping[int, np.ndarray]) -> int:
        """Remember what ``write`` stores as each chunk's pieces; returns how many there are."""
        milvus_previous = previous if isinstance(previous, MilvusIndex) else None
        self._pending[build.name] = (milvus_previous, list(reused), new_pieces)
        kept = sum(int(previous.piece_counts[r]) for r in reused if r is not None) if milvus_previous else 0
        return kept + sum(len(new_pieces[c]) for c, r in enumerate(reused) if r is None)

    def write(self, build: Path, manifest: Manifest, documents: list[Document], chunks: list[Chunk],
              hashes: Sequence[bytes], vectors: np.ndarray, vector_index: Any, bm25: Any,
              terms: ChunkTerms | None = None, multilingual: tuple[np.ndarray, Any] | None = None,
              aligned: tuple[np.ndarray, Any] | None = None) -> None:
        """Store the new chunks' pieces, create the build's collection, insert one row per chunk, then its
        tables, manifest last. (``vector_index`` and ``bm25`` are the files store's: Milvus indexes the
        rows itself.)"""
        pending = self._pending.pop(build.name, None)
        piece_counts = self._store_pieces(build.name, pending, hashes) if pending is not None \
            else np.zeros(len(chunks), dtype=np.int64)
        spaces = {VECTORS: vectors, MULTILINGUAL: multilingual[0] if multilingual else None,
                  ALIGNED: aligned[0] if aligned else None}
        dimensions = {s: (v.shape[1] if v is not None else 0) for s, v in spaces.items()}
        client = self.client
        schema = chunk_schema(client, dimensions)
        params = index_params(client, dimensions, len(chunks))
        retrying(self.target, lambda: client.create_collection(build.name, schema=schema, index_params=params,
                                                               consistency_level="Strong"))
        language = {d.doc_id: (d.language or "en") for d in documents}
        for start in range(0, len(chunks), INSERT_ROWS):
            batch = []
            for row in range(start, min(len(chunks), start + INSERT_ROWS)):
                lang = language[chunks[row].doc_id]
                own = bm25_field(lang)
                item: dict[str, Any] = {"row": row, "lang": lang}
                item.update({f: (bm25_text(f, chunks[row].text) if f == own else "") for f in ANALYZERS})
                item.update({s: v[row].tolist() for s, v in spaces.items() if v is not None})
                batch.append(item)
            retrying(self.target, lambda: client.insert(build.name, batch), "inserting a build")
        retrying(self.target, lambda: client.flush(build.name))
        self._write_tables(build.name, manifest, documents, chunks, hashes, terms, piece_counts)

    def _store_pieces(self, build: str, pending: tuple[MilvusIndex | None, list[int | None], Any],
                      hashes: Sequence[bytes]) -> np.ndarray:
        """Put the pieces of the chunks the previous build did not have into the shared collection;
        returns each chunk's piece count."""
        previous, reused, new_pieces = pending
        counts = np.zeros(len(reused), dtype=np.int64)
        fresh = []
        for row, old in enumerate(reused):
            if old is not None and previous is not None:
                counts[row] = previous.piece_counts[old]
            else:
                counts[row] = len(new_pieces[row])
                fresh.append(row)
        shared = self.shared_pieces
        shared.ensure()
        shared.put(build, ((piece_key(hashes[row]), new_pieces[row]) for row in fresh))
        return counts

    def _write_tables(self, build: str, manifest: Manifest, documents: list[Document], chunks: list[Chunk],
                      hashes: Sequence[bytes], terms: ChunkTerms | None, piece_counts: np.ndarray) -> None:
        with tempfile.TemporaryDirectory(prefix="casebot-milvus-") as tmp:
            folder = Path(tmp)
            write_documents(folder, documents)
            ChunkTable.write(folder, documents, chunks)
            write_hashes(folder / HASHES_FILE, hashes)
            vocabulary = sorted(terms.vocabulary, key=terms.vocabulary.__getitem__) if terms else []
            (folder / "vocabulary.json").write_text(json.dumps(vocabulary, ensure_ascii=False), "utf-8")
            with open(folder / TERMS_FILE, "wb") as fh:
                if terms is not None:
                    save_terms(fh, terms)
            np.save(folder / "term_counts.npy", _term_counts(terms))
            np.save(folder / "piece_counts.npy", piece_counts)
            blobs = self.blobs
            for name in TABLES:
                blobs.put(build, name, (folder / name).read_bytes())
        manifest = Manifest(**{**manifest.__dict__, "vector_index": "milvus"})
        self.blobs.put(build, MANIFEST, json.dumps(asdict(manifest)).encode("utf-8"))  # last: finished

    def commit(self, build: Path) -> None:
        """Publish ``build``: one write of the pointer row; then the alias ``name`` follows it where the
        server has aliases (milvus-lite 2.5.1 has none), for other tools; readers follow the pointer."""
        self.read_manifest(build)  # never publish an unfinished build
        self.blobs.point(build.name)
        if not self.target.lite:
            self._follow_alias(build.name)

    def _follow_alias(self, collection: str) -> None:
        client = self.client
        try:
            try:
                retrying(self.target, lambda: client.alter_alias(collection, self.name))
            except Exception as exc:  # no such alias yet
                if "UNIMPLEMENTED" in str(exc):
                    raise
                retrying(self.target, lambda: client.create_alias(collection, self.name))
        except Exception as exc:
            if "UNIMPLEMENTED" not in str(exc):
                raise
            log.info("this Milvus has no aliases: readers follow %s_blobs' pointer row only", self.name)

    def discard(self, build: Path) -> None:
        """Drop an unfinished build (never the published one); a failure is left to ``prune``."""
        self._pending.pop(build.name, None)
        try:
            if self.current_build() == build:
                return
            self.client.drop_collection(build.name)
            self.blobs.delete(build.name)
        except Exception:  # Milvus away: the next build's prune removes it
            pass

    def prune(self) -> list[Path]:
        """Drop unfinished builds and finished ones beyond ``keep`` (newest kept); under the build lock."""
        current = self.current_build()
        names = sorted((c for c in retrying(self.target, self.client.list_collections)
                        if c.startswith(f"{self.name}_b") and c != f"{self.name}_blobs"), reverse=True)
        finished = self.blobs.builds_with(MANIFEST)
        kept = [current] if current is not None else []
        for name in names:
            if len(kept) < self.keep and name in finished and PLACE / name not in kept:
                kept.append(PLACE / name)
        dropped = [name for name in sorted(finished | set(names)) if PLACE / name not in kept]
        dropped_keys = {piece_key(h) for name in dropped if name in finished for h in self._hashes(name)}
        for name in names:
            if PLACE / name not in kept:
                retrying(self.target, lambda: self.client.drop_collection(name))
        kept_keys = {piece_key(h) for build in kept for h in self._hashes(build.name)}
        self.shared_pieces.remove(dropped_keys, dropped, kept_keys)
        for name in dropped:
            self.blobs.delete(name)
        return kept


def _term_counts(terms: ChunkTerms | None) -> np.ndarray:
    """How many chunks hold each term id."""
    if terms is None or not len(terms.ids):
        return np.zeros(len(terms.vocabulary) if terms else 0, dtype=np.int64)
    chunk = np.repeat(np.arange(len(terms), dtype=np.int64), np.diff(terms.indptr))
    pairs = np.unique(terms.ids.astype(np.int64) * len(terms) + chunk)
    return np.bincount(pairs // len(terms), minlength=len(terms.vocabulary)).astype(np.int64)
