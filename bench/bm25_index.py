"""Our BM25 score matrix (index.text.lexical.bm25_from_terms) against bm25s's own ``BM25.index``.

    python -m bench.bm25_index [--chunks 20000] [--words 80]

The same terms (synthetic chunks of ``--words`` words over a 30,000-word vocabulary), both ways: the
seconds each takes and the largest difference of their scores for a few queries (the oracle test is
tests/index/test_oracles.py).
"""

from __future__ import annotations

import argparse
import random
import time

import bm25s
import numpy as np

from index.text.lexical import B, K1, bm25_from_terms, chunk_terms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=20_000)
    parser.add_argument("--words", type=int, default=80)
    args = parser.parse_args()
    rng = random.Random(0)
    vocabulary = [f"w{i}" for i in range(30_000)]
    texts = [" ".join(rng.choices(vocabulary, k=args.words)) for _ in range(args.chunks)]
    terms = chunk_terms(texts)
    started = time.perf_counter()
    ours = bm25_from_terms(terms)
    ours_s = time.perf_counter() - started
    ids = [terms.ids[terms.indptr[i]:terms.indptr[i + 1]].tolist() for i in range(len(terms))]
    started = time.perf_counter()
    theirs = bm25s.BM25(k1=K1, b=B, method="lucene")
    theirs.index(bm25s.tokenization.Tokenized(ids=ids, vocab=terms.vocabulary), show_progress=False)
    theirs_s = time.perf_counter() - started
    queries = [[texts[i].split()[j] for j in range(3)] for i in range(0, args.chunks, args.chunks // 10)]
    difference = max(float(np.abs(ours.get_scores(q) - theirs.get_scores(q)).max()) for q in queries)
    print(f"{args.chunks} chunks: bm25_from_terms {ours_s:.2f} s, bm25s BM25.index {theirs_s:.2f} s; "
          f"largest score difference {difference:.2e}")


if __name__ == "__main__":
    main()
