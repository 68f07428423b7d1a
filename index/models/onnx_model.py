"""The embedding model's transformer under onnxruntime, for questions.

Builds embed with sentence-transformers (torch). A question is one short text, where torch's
per-operation overhead is most of the time: the same weights under onnxruntime read a question in
about half the time (bench/latency.py). The copy is exported
once (into MODEL_CACHE_DIR), in a child process (exporting changes the torch model of the process that
does it), and checked against torch on probe texts twice: after the export and at every load. Its
last-layer vectors differ from torch's by about 2e-6; anything above ``TOLERANCE`` is refused and
the bot stays on torch.

    MODEL_CACHE_DIR/minilm-<key>.onnx     the exported transformer (about 90 MB); key: model, torch version
    MODEL_CACHE_DIR/minilm-<key>.sha256   its digest, once it matched torch: then read without torch
    MODEL_CACHE_DIR/minilm-<key>.failed   why the last export failed: not tried again until `index build`

Tokenizing, pooling and the word pieces stay in ``SentenceTransformerEmbedder.encode_tokens``; only
the forward pass is swapped, so question vectors and pieces are the same computation as in a build.

Not sentence-transformers' own ONNX backend: as fast, the same vectors (bench/question_onnx.py), but
it needs optimum-onnx, whose only release (0.1.0) pins transformers 4.x; sentence-transformers 6 needs 5.
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from index.store.atomic import replacing
from index.models.embed import (MINILM_DIMENSION, MINILM_WINDOW, HiddenStates, SentenceTransformerEmbedder,
                                minilm_folder, minilm_name)
from index.models.encoded import ProgressCallback, TokenVectors, normalised, package_version
from index.errors import CasebotError

log = logging.getLogger(__name__)

OPSET = 17
TOLERANCE = 1e-4  # largest allowed difference of a last-layer value between torch and onnxruntime
PROBES = (
    "Why did Iran open a criminal case against Pavel Durov?",
    "Durov said: “Refusal of encryption will make millions of people defenseless from hacker attacks "
    "and blackmail by corrupt officials.” Around 40 million people in Iran use Telegram.",
)
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
EXPORT_TIMEOUT_S = 600


class OnnxUnavailable(CasebotError):
    """The onnxruntime copy cannot be made or used; the caller stays on torch."""


def model_file(models_dir: Path) -> Path:
    """Where the copy of MiniLM for this torch lives (found without importing torch)."""
    key = f"{minilm_name()}|torch {package_version('torch')}|opset {OPSET}"
    return Path(models_dir) / f"minilm-{hashlib.sha256(key.encode()).hexdigest()[:16]}.onnx"


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class CheckedQuestions:
    """The copy read without torch: ``tokenizers`` and onnxruntime only, for a copy that matched torch when
    it was made (its digest is recorded beside it then, and checked here, so a damaged copy is refused).
    The same tokenizer file, window and mean pooling as sentence-transformers (compared in
    tests/index/test_onnx_questions.py); a one-question ``ask`` loads it in 0.3 s, torch in 4-5 s
    (bench/latency.py)."""

    def __init__(self, path: Path, threads: int | None = None) -> None:
        from tokenizers import Tokenizer

        recorded = path.with_suffix(".sha256")
        if not recorded.is_file() or recorded.read_text(encoding="utf-8").strip() != _digest(path):
            raise OnnxUnavailable(f"{path} is not the copy that was checked against torch")
        self._forward = _session_forward(path, threads)
        self._tokenizer = Tokenizer.from_file(str(minilm_folder() / "tokenizer.json"))
        self._tokenizer.enable_truncation(MINILM_WINDOW)
        self._tokenizer.enable_padding()
        self.name = minilm_name()
        self.dimension = MINILM_DIMENSION
        self.path = path

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        encoded = self._tokenizer.encode_batch([str(t) for t in texts])
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        hidden = self._forward({"input_ids": ids, "attention_mask": mask,
                                "token_type_ids": np.array([e.type_ids for e in encoded], dtype=np.int64)})
        pooled = (hidden * mask[:, :, None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
        return normalised(pooled)

    def encode_passages(self, texts: Sequence[str], progress: ProgressCallback | None = None) -> np.ndarray:
        vectors = self.encode_queries(texts)
        if progress is not None:
            progress(len(texts))
        return vectors


def question_copy_ready(cache_dir: Path) -> bool:
    """Whether a copy that matched torch is in ``cache_dir`` (its digest is checked when it is loaded)."""
    return model_file(cache_dir).with_suffix(".sha256").is_file()


def checked_questions(cache_dir: Path) -> CheckedQuestions | None:
    """The copy in ``cache_dir`` read without torch, when it matched torch when it was made; else None."""
    path = model_file(cache_dir)
    if not path.is_file():
        return None
    try:
        return CheckedQuestions(path)
    except (OnnxUnavailable, OSError) as exc:
        log.debug("the onnxruntime copy is read beside torch: %s", exc)
        return None


class OnnxQuestionEmbedder:
    """``SentenceTransformerEmbedder`` whose question-side passes (``encode_queries``, ``encode_tokens``)
    run under onnxruntime; ``encode_passages`` (what builds use) stays on sentence-transformers."""

    def __init__(self, inner: SentenceTransformerEmbedder, path: Path, threads: int | None = None) -> None:
        self._forward = _session_forward(path, threads)
        self.inner = inner
        self.name = inner.name
        self.dimension = inner.dimension
        self.path = path
        difference = largest_difference(self.encode_tokens(PROBES), inner.encode_tokens(PROBES))
        if not difference <= TOLERANCE:
            raise OnnxUnavailable(f"{path} differs from the torch model by {difference:.2g} (> {TOLERANCE})")

    def encode_passages(self, texts: Sequence[str], progress: ProgressCallback | None = None) -> np.ndarray:
        return self.inner.encode_passages(texts, progress)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([t.pooled for t in self.encode_tokens(texts)]).astype(np.float32)

    def encode_tokens(
        self, texts: Sequence[str], progress: ProgressCallback | None = None
    ) -> list[TokenVectors]:
        return self.inner.encode_tokens(texts, progress, forward=self._forward)


def _session_forward(path: Path, threads: int | None = None) -> HiddenStates:
    """The forward pass of the model file at ``path`` under onnxruntime."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise OnnxUnavailable("onnxruntime is not installed (pip install -r requirements.txt)") from None
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or os.cpu_count() or 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only
    # Its threads sleep between runs instead of spinning (like OMP_WAIT_POLICY=PASSIVE for torch): a
    # lone question is a little slower, but concurrent askers get more answers and a homeserver or
    # another bot on the machine keeps its core (docs/performance.md).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - a damaged or foreign file: say so, stay on torch
        raise OnnxUnavailable(f"cannot load {path}: {exc}") from None
    names = [i.name for i in session.get_inputs()]
    if sorted(names) != sorted(INPUTS):
        raise OnnxUnavailable(f"{path} expects inputs {names}, not {list(INPUTS)}")

    def forward(inputs: dict[str, np.ndarray]) -> np.ndarray:
        return session.run(
            None, {name: np.ascontiguousarray(inputs[name], dtype=np.int64) for name in names}
        )[0]

    return forward


def largest_difference(ours: Sequence[TokenVectors], theirs: Sequence[TokenVectors]) -> float:
    """The largest difference of a piece vector or text vector between two readings of the same texts."""
    return max(max(float(np.abs(a.vectors - b.vectors).max()), float(np.abs(a.pooled - b.pooled).max()))
               for a, b in zip(ours, theirs))


def question_embedder(embedder: SentenceTransformerEmbedder, cache_dir: Path,
                      retry: bool = False) -> OnnxQuestionEmbedder | None:
    """The onnxruntime copy of ``embedder`` from ``cache_dir``, exported first when missing; None
    (one warning; questions are then read by torch) when it cannot be made, loaded or trusted. A
    failure is remembered beside the copy and not tried again unless ``retry`` (the next build)."""
    path = model_file(cache_dir)
    failed = path.with_suffix(".failed")
    try:
        if not path.is_file():
            if failed.is_file() and not retry:
                log.debug("questions read by torch: %s", failed.read_text(encoding="utf-8").strip())
                return None
            log.info("exporting the model for onnxruntime to %s (once; about 10 s)", path)
            export(path)
        questions = OnnxQuestionEmbedder(embedder, path)
        path.with_suffix(".sha256").write_text(_digest(path) + "\n", encoding="utf-8")  # checked: trusted
    except (OnnxUnavailable, OSError) as exc:
        log.warning(
            "questions are read by torch (slower): the onnxruntime copy of the model is not usable: %s", exc
        )
        try:
            path.unlink(missing_ok=True)
            path.with_suffix(".sha256").unlink(missing_ok=True)
            failed.parent.mkdir(parents=True, exist_ok=True)
            failed.write_text(f"{exc}\n", encoding="utf-8")
        except OSError:
            pass
        return None
    failed.unlink(missing_ok=True)
    return questions


def export(path: Path) -> None:
    """Export the transformer to ``path`` in a child process (atomically: a temporary file is
    checked against torch, then renamed). Raises ``OnnxUnavailable`` with the child's last words."""
    path = path.resolve()  # the child runs in casebot's own folder, not in the caller's working directory
    path.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    try:
        done = subprocess.run([sys.executable, "-m", "index.models.onnx_model", str(path)], env=env, cwd=root,
                              capture_output=True, text=True, timeout=EXPORT_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise OnnxUnavailable(f"export did not finish: {exc}") from None
    if done.returncode != 0 or not path.is_file():
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise OnnxUnavailable(f"export failed: {last}")


def _export_here(path: Path) -> None:
    """The child process of ``export``."""
    import torch

    try:
        import onnx  # noqa: F401 - torch.onnx needs it to write the file
    except ImportError:
        raise SystemExit("the onnx package is not installed (pip install -r requirements.txt)") from None
    embedder = SentenceTransformerEmbedder()
    reference = embedder.encode_tokens(PROBES)  # before exporting: the export changes this process's model
    transformer = embedder._model[0].auto_model.eval()  # noqa: SLF001 - the module sentence-transformers runs

    class LastLayer(torch.nn.Module):
        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):  # noqa: ANN001
            return self.model(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    sample = embedder._model.tokenizer(list(PROBES), padding=True, return_tensors="pt")  # noqa: SLF001
    dynamic = {name: {0: "batch", 1: "length"} for name in (*INPUTS, "last_hidden_state")}
    with replacing(path) as temporary:
        with torch.no_grad():
            torch.onnx.export(LastLayer(transformer), tuple(sample[name] for name in INPUTS), str(temporary),
                              input_names=list(INPUTS), output_names=["last_hidden_state"],
                              dynamic_axes=dynamic, opset_version=OPSET, dynamo=False)
        ours = embedder.encode_tokens(PROBES, forward=_session_forward(temporary))  # torch is not run again
        difference = largest_difference(ours, reference)
        if not difference <= TOLERANCE:
            raise SystemExit(f"the exported model differs from torch by {difference:.2g} (> {TOLERANCE})")


if __name__ == "__main__":  # python -m index.models.onnx_model TARGET.onnx
    logging.basicConfig(level=logging.WARNING)
    if len(sys.argv) != 2:
        raise SystemExit("usage: python -m index.models.onnx_model TARGET.onnx")
    _export_here(Path(sys.argv[1]))
