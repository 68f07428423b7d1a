"""Milvus for the tests: milvus-lite 2.5.1's engine (Milvus's C++ core) serving one data file on a
loopback port, so that several processes (a build, a bot) share one Milvus as they would a server.

milvus-lite's console script has no ``server`` command in 2.5.1; its engine binary serves TCP when given
an address instead of a socket file (what ``milvus_lite.server.Server(db, address)`` starts). It is
started and killed by its own pid.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import numpy as np

from index.models.models import Models


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class MilvusServer:
    """``start()`` serves ``data_file`` on 127.0.0.1:``port``; ``stop()`` kills the engine."""

    def __init__(self, data_file: Path, port: int | None = None) -> None:
        self.data_file = data_file
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, seconds: float = 30.0) -> "MilvusServer":
        import milvus_lite

        lib = Path(milvus_lite.__file__).parent / "lib"
        self.data_file.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "LD_LIBRARY_PATH": f"{lib}:{os.environ.get('LD_LIBRARY_PATH', '')}"}
        self.process = subprocess.Popen([str(lib / "milvus"), str(self.data_file), f"127.0.0.1:{self.port}",
                                         "ERROR"], env=env, cwd=self.data_file.parent,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"milvus-lite's engine exited with {self.process.returncode}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    time.sleep(0.3)
                    return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("milvus-lite's engine did not open its port")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None


class _Remembered:
    """One model role whose passage results are kept by text: a second build of the same corpus (into
    the other store) costs no model time. Questions pass through."""

    def __init__(self, inner) -> None:  # noqa: ANN001
        self.inner = inner
        self.name = inner.name
        self.dimension = inner.dimension
        self._passages: dict[str, np.ndarray] = {}
        self._tokens: dict[str, object] = {}

    def encode_passages(self, texts, progress=None):  # noqa: ANN001, ANN201
        missing = [t for t in dict.fromkeys(texts) if t not in self._passages]
        if missing:
            self._passages.update(zip(missing, self.inner.encode_passages(missing)))
        if progress is not None:
            progress(len(texts))
        return np.stack([self._passages[t] for t in texts]) if texts else self.inner.encode_passages(texts)

    def encode_tokens(self, texts, progress=None):  # noqa: ANN001, ANN201
        missing = [t for t in dict.fromkeys(texts) if t not in self._tokens]
        if missing:
            self._tokens.update(zip(missing, self.inner.encode_tokens(missing)))
        if progress is not None:
            progress(len(texts))
        return [self._tokens[t] for t in texts]

    def __getattr__(self, name: str):  # noqa: ANN204 - encode_queries, encode_question, ...
        return getattr(self.inner, name)


def remembered(models: Models) -> Models:
    """``models`` whose passage vectors and pieces are computed once per text (see ``_Remembered``)."""
    roles = [models.vectors, models.pieces, models.multilingual, models.aligned]
    wrapped = {id(r): _Remembered(r) for r in roles if r is not None}
    v, p, m, a = (wrapped[id(r)] if r is not None else None for r in roles)
    return Models.of(v, p, m, a, models.reranker, questions=models.questions)  # type: ignore[arg-type]
