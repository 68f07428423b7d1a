"""The FAISS vector index over L2-normalised vectors (inner product = cosine), chosen by size.

* Below ``EXACT_LIMIT`` vectors: ``IndexFlatIP``, exact search. At 100,000 x 384 a query scans
  150 MB of floats, a few milliseconds on one core; nothing approximate is worth it below that.
* From ``EXACT_LIMIT`` on: ``IndexIVFScalarQuantizer`` with 8-bit codes (``ivf-sq8``): the vectors
  are split into ``nlist`` k-means cells and a query scans the ``nprobe`` nearest cells only, over
  one byte per dimension instead of four. At 1,000,000 x 384 that is 384 MB in memory instead of
  1.5 GB, and 1/8 of the index scanned per query. Recall@10 against exact search is
  measured by bench/vectors.py (docs/performance.md); the defaults below keep it above 0.95.

IVF rather than HNSW: it trains and fills in a minute at a million vectors on two cores (HNSW
takes many times that), its memory is the codes plus a small table of centroids (no graph), and
the file can be memory-mapped.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

EXACT_LIMIT = 100_000  # below this many vectors: exact search
FLAT = "flat"
IVF_SQ8 = "ivf-sq8"
IVF_FP16 = "ivf-fp16"
KINDS = (FLAT, IVF_SQ8, IVF_FP16)
TRAIN_POINTS_PER_LIST = 40  # k-means training sample size per cell (FAISS warns below 39)


def choose_kind(n: int, exact_limit: int | None = None) -> str:
    """The index kind for ``n`` vectors: exact below ``exact_limit`` (default ``EXACT_LIMIT``), 8-bit
    IVF from there on."""
    exact_limit = EXACT_LIMIT if exact_limit is None else exact_limit
    if exact_limit < 1:
        raise ValueError("exact_limit must be > 0")
    return FLAT if n < exact_limit else IVF_SQ8


def ivf_lists(n: int) -> int:
    """Number of IVF cells: a power of two near sqrt(n), at least 64 (1,024 at a million)."""
    return max(64, 2 ** round(math.log2(max(1.0, math.sqrt(n)))))


def default_nprobe(nlist: int) -> int:
    """Cells scanned per query: 1/8 of them, at least 24 (128 of 1,024 at a million). On real
    MiniLM vectors 1/8 gives recall@10 of about 0.96 against exact search, 1/16 about 0.93."""
    return min(nlist, max(24, nlist // 8))


def build_vector_index(vectors: np.ndarray, kind: str | None = None, nlist: int | None = None,
                       nprobe: int | None = None, seed: int = 1234):  # -> faiss.Index
    """An index over ``vectors`` (n, d); ``kind`` defaults to ``choose_kind(n)``."""
    import faiss

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    dimension = vectors.shape[1] if vectors.ndim == 2 and vectors.shape[1] else 1
    n = len(vectors)
    kind = kind or choose_kind(n)
    if kind not in KINDS:
        raise ValueError(f"unknown vector index kind {kind!r}; choose one of: {', '.join(KINDS)}")
    if kind == FLAT or n == 0:
        index = faiss.IndexFlatIP(dimension)
        if n:
            index.add(vectors)
        return index
    nlist = nlist or ivf_lists(n)
    nlist = max(1, min(nlist, n // TRAIN_POINTS_PER_LIST or 1))
    quantizer = faiss.IndexFlatIP(dimension)
    qtype = faiss.ScalarQuantizer.QT_8bit if kind == IVF_SQ8 else faiss.ScalarQuantizer.QT_fp16
    index = faiss.IndexIVFScalarQuantizer(quantizer, dimension, nlist, qtype, faiss.METRIC_INNER_PRODUCT)
    index.cp.niter = 10
    index.cp.seed = seed
    sample = n if n <= nlist * TRAIN_POINTS_PER_LIST * 2 else nlist * TRAIN_POINTS_PER_LIST * 2
    rows = (
        np.sort(np.random.default_rng(seed).choice(n, size=sample, replace=False))
        if sample < n
        else slice(None)
    )
    index.train(vectors[rows])
    index.add(vectors)
    index.nprobe = nprobe or default_nprobe(nlist)
    return index


def index_kind(index) -> str:
    """The kind of a built or loaded index (for the manifest and the benchmarks)."""
    import faiss

    if isinstance(index, faiss.IndexIVFScalarQuantizer):
        return IVF_SQ8 if index.sq.qtype == faiss.ScalarQuantizer.QT_8bit else IVF_FP16
    return FLAT


def search_vectors(index, query: np.ndarray, k: int, among: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` (scores, row ids) for one query vector, over the rows ``among`` selects (a
    ``faiss.IDSelector``; None: all); ids of -1 are dropped."""
    k = min(k, index.ntotal)
    kwargs = {} if among is None else {"params": _selecting(index, among)}
    if k <= 0:
        return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
    query = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
    if _is_exact(index):
        # One query over an exact index is quick on one core; split over OpenMP threads it waits for
        # any core another process holds (docs/performance.md). The setting is the calling thread's
        # own (an OpenMP ICV, shared with torch in this thread), so it is put back: the next model
        # pass and a later build in the same thread keep every core.
        import faiss

        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)
        try:
            scores, ids = index.search(query, k, **kwargs)
        finally:
            faiss.omp_set_num_threads(threads)
    else:
        scores, ids = index.search(query, k, **kwargs)
    keep = ids[0] >= 0
    return scores[0][keep], ids[0][keep]


def _is_exact(index) -> bool:
    import faiss

    return isinstance(index, faiss.IndexFlat)


def search_many(index, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` for several query vectors at once (one FAISS call: the batched path)."""
    k = min(k, index.ntotal)
    queries = np.ascontiguousarray(queries.reshape(len(queries), -1), dtype=np.float32)
    if k <= 0:
        return np.zeros((len(queries), 0), dtype=np.float32), np.zeros((len(queries), 0), dtype=np.int64)
    return index.search(queries, k)


def _selecting(index, among: Any) -> Any:
    import faiss

    if _is_exact(index):
        return faiss.SearchParameters(sel=among)
    return faiss.SearchParametersIVF(sel=among, nprobe=faiss.extract_index_ivf(index).nprobe)
