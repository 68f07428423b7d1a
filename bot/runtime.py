"""Process-wide settings that keep a question fast on a small CPU (measured with bench/latency.py).

A question costs one model pass over a few words (torch, on every core) and a few small matrix
products in numpy over the candidates' word pieces. Two library defaults cost more than that work:

* numpy's OpenBLAS keeps its worker threads spinning for a while after each product; on two cores
  they hold the core that the next model pass needs (the pass took 12-20 ms instead of 9-10 ms).
  The products of one question are small, so numpy gets one BLAS thread. FAISS has its own BLAS
  and OpenMP, left alone: training a large IVF index still uses every core.
* glibc hands every freed block above 128 kB back to the system and faults fresh pages in for the
  next one: the ~10 MB of piece vectors a question reads cost ~3 ms of page faults. Serving blocks
  below 32 MB from freed memory, and keeping up to 64 MB of it, took the non-model part of a
  question at 10,000 chunks from 6.5 ms to 3.0 ms (median of 200). (Keeping 256 MB added 250 MB
  to a million-chunk process for nothing.) Other C libraries: unchanged.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading

log = logging.getLogger(__name__)

NUMPY_BLAS_PREFIX = "libscipy_openblas"  # numpy's bundled OpenBLAS (FAISS bundles another, "libopenblas")
MMAP_THRESHOLD_BYTES = 32 * 1024 * 1024  # glibc's largest allowed value on 64-bit systems
TRIM_THRESHOLD_BYTES = 64 * 1024 * 1024
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameters (malloc.h)

_tuned = False
_lock = threading.Lock()


def tune_for_questions() -> None:
    """Apply the settings above once per process; a platform without them is left as it is."""
    global _tuned
    with _lock:
        if _tuned:
            return
        _tuned = True
        _one_numpy_blas_thread()
        _keep_freed_memory()


def _one_numpy_blas_thread() -> None:
    try:
        import numpy  # noqa: F401 - its OpenBLAS must be loaded to be found and limited
        from threadpoolctl import ThreadpoolController

        ThreadpoolController().select(prefix=NUMPY_BLAS_PREFIX).limit(limits=1)
    except Exception as exc:  # noqa: BLE001 - an optimisation only; a missing or odd BLAS is fine
        log.debug("numpy BLAS threads left as they are: %s", exc)


def _keep_freed_memory() -> None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        mallopt = getattr(libc, "mallopt", None)
        if mallopt is None or not hasattr(libc, "gnu_get_libc_version"):  # glibc only
            return
        ok = (mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
              and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES))
        if not ok:
            log.debug("mallopt refused the thresholds; memory allocation left as it is")
    except OSError as exc:
        log.debug("C library not loadable (%s); memory allocation left as it is", exc)
