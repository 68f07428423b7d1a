"""The serving process's library settings (bot/runtime.py): numpy's BLAS on one thread, FAISS's and
torch's threads untouched, so builds and model passes keep every core."""

from __future__ import annotations

import numpy as np
import pytest

from bot.runtime import NUMPY_BLAS_PREFIX, tune_for_questions


def _threads() -> dict[str, int]:
    from threadpoolctl import threadpool_info

    return {info["filepath"]: info["num_threads"] for info in threadpool_info()}


def test_numpy_blas_gets_one_thread_and_faiss_and_torch_keep_theirs() -> None:
    import faiss  # noqa: F401 - loads FAISS's own BLAS and OpenMP
    import torch
    from threadpoolctl import threadpool_info

    if not any(i["prefix"] == NUMPY_BLAS_PREFIX for i in threadpool_info()):
        pytest.skip("numpy is not linked against its bundled OpenBLAS here")
    before, torch_threads = _threads(), torch.get_num_threads()
    tune_for_questions()
    after = _threads()
    for info in threadpool_info():
        if info["prefix"] == NUMPY_BLAS_PREFIX:
            assert after[info["filepath"]] == 1
        elif info["user_api"] == "blas":
            assert after[info["filepath"]] == before[info["filepath"]]
    assert torch.get_num_threads() == torch_threads
    # numpy still multiplies correctly on one thread
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    assert np.allclose(a @ a.T, np.einsum("ij,kj->ik", a, a))
