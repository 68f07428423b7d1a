"""The search side of a question without the model: FAISS, BM25 and picking the best BM25 chunks.

    python -m bench.search_side [--index /tmp/casebot-bench/index-1000000] [--repeats 3]

Question vectors are embedded once up front (real model), then each stage is timed per question:
``search_vectors`` (the index chosen by size), ``bm25_scores`` (bm25s), and picking the 10 best
BM25 chunks with a full ``argsort`` (what index/search/searcher.py does), ``argpartition``, or
``argpartition`` over the chunks that hold a question word at all.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from bench._common import WORK, header, spread, table
from bench.scale import questions


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--index", type=Path, default=WORK / "index-1000000")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from index.models.embed import SentenceTransformerEmbedder
    from index.text.lexical import bm25_scores
    from index.store.files import IndexStore
    from index.store.vectors import index_kind, search_vectors

    minilm = SentenceTransformerEmbedder()
    loaded = IndexStore(args.index).load()
    n = len(loaded.chunks)
    qs = questions()
    vectors = minilm.encode_queries(qs)
    header(
        f"Search side at {n} chunks ({index_kind(loaded.vector_index)}), {len(qs)} questions x {args.repeats}"
    )
    stages: dict[str, list[float]] = {"FAISS search_vectors (100)": [], "bm25_scores (bm25s)": [],
                                      "best 10 BM25: argsort": [], "best 10 BM25: argpartition": [],
                                      "best 10 BM25: argpartition of the non-zero": []}
    for _ in range(args.repeats):
        for q, v in zip(qs, vectors):
            t = time.perf_counter()
            search_vectors(loaded.vector_index, v, 100)
            t1 = time.perf_counter()
            words = bm25_scores(loaded.bm25, q, n)
            t2 = time.perf_counter()
            np.argsort(-words, kind="stable")[:10]
            t3 = time.perf_counter()
            top = np.argpartition(-words, 9)[:10]
            top[np.lexsort((top, -words[top]))]
            t4 = time.perf_counter()
            hits = np.flatnonzero(words)
            top = hits[np.argpartition(-words[hits], 9)[:10]] if len(hits) > 10 else hits
            top[np.lexsort((top, -words[top]))]
            t5 = time.perf_counter()
            for name, seconds in zip(stages, (t1 - t, t2 - t1, t3 - t2, t4 - t3, t5 - t4)):
                stages[name].append(seconds * 1000)
    print(table(["stage", "ms per question"], [[k, spread(v)] for k, v in stages.items()]))
    print()


if __name__ == "__main__":
    main()
