"""Process-wide settings that keep a question fast on a small CPU (bench/latency.py shows the effect).

A question is one short model pass on every core plus a few small numpy products; two library
defaults cost more than that work, so a serving process changes them:

* numpy gets one BLAS thread: OpenBLAS's threads keep spinning after each product and hold the core
  the next model pass needs, and one question's products are small. FAISS's own BLAS and OpenMP are
  left alone, so a build still trains on every core.
* glibc reuses freed blocks below 32 MB and keeps up to 64 MB of them, instead of handing them back
  and faulting fresh pages in for the piece vectors of every question. Other C libraries: unchanged.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading

log = logging.getLogger(__name__)

NUMPY_BLAS_PREFIX = "libscipy_openblas"  # numpy's bundled OpenBLAS (FAISS bundles another, "libopenblas")
MMAP_THRESHOLD_BYTES = 32 * 1024 * 1024  # glibc's largest allowed value on 64-bit systems
TRIM_THRESHOLD_BYTES = 64 * 1024 * 1024  # a larger reserve only makes a million-chunk process bigger
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
