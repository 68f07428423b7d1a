"""Why the INT8 retrieval models read one text at a time (index/models/retrieval_models.py).

    PYTHONPATH=. python -m bench.one_at_a_time

Reads the evaluation corpus's first chunks with the ColBERT model and one question's pairs with the
cross-encoder, padded into one batch and one at a time: prints the time of each and how far the
batched results are from the single ones (the models quantise activations per input tensor).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from index.ingest.chunk import chunk_document
from index.ingest.documents import scan_corpus
from index.models.retrieval_models import ColbertPieces, CrossEncoder

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "eval" / "case" / "corpus"
QUESTION = "Which judge ordered Telegram blocked in April 2018?"


def main() -> None:
    texts = [c.text for d in scan_corpus(CORPUS).documents for c in chunk_document(d)]
    pieces, pairs = ColbertPieces(), CrossEncoder()
    for name, run_batch, run_single in (
        ("ColBERT pieces, 32 chunks",
         lambda: pieces.model.run([[*e.ids] for e in pieces.model.tokenizer.encode_batch(texts[:32])]),
         lambda: [pieces.model.run([e.ids]) for e in pieces.model.tokenizer.encode_batch(texts[:32])]),
        ("cross-encoder, 12 pairs",
         lambda: pairs.model.run(*zip(*[(e.ids, e.type_ids) for e in pairs.model.tokenizer.encode_batch(
             [(QUESTION, t) for t in texts[:12]])])),
         lambda: pairs.scores(QUESTION, texts[:12])),
    ):
        started = time.perf_counter()
        batched = run_batch()
        middle = time.perf_counter()
        single = run_single()
        end = time.perf_counter()
        if isinstance(single, np.ndarray):
            difference = float(np.abs(np.asarray(batched).reshape(-1) - single).max())
        else:
            difference = max(float(np.abs(b[: len(s[0])] - s[0]).max()) for b, s in zip(batched, single))
        print(f"{name}: batched {middle - started:.2f} s, one at a time {end - middle:.2f} s, "
              f"largest difference {difference:.3f}")


if __name__ == "__main__":
    main()
