"""What late interaction over every stored piece costs a question, against the cross-encoder's pairs:
the bound SearchParams.every_chunk_pieces rests on.

    python -m bench.every_chunk [--pieces 25000,50000,100000,200000]

Random 8-bit pieces in the stored layout, 100 a chunk, and a 32-token question: the product and the
per-chunk maximum of index.search.late_interaction, timed (median of 7). The cross-encoder reads one pair in
29-36 ms here (docs/performance.md), 12 pairs a question when the cascade does not decide.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from index.search.late_interaction import _similarity


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pieces", default="25000,50000,100000,200000")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    question = rng.standard_normal((32, 384)).astype(np.float32)
    print("| stored pieces | chunks | every chunk scored, ms a question |\n|---|---|---|")
    for n in (int(x) for x in args.pieces.split(",")):
        codes = rng.integers(-127, 128, size=(n, 384), dtype=np.int8)
        scales = rng.random(n).astype(np.float32) / 127
        starts = np.arange(0, n, 100)
        times = []
        for _ in range(7):
            started = time.perf_counter()
            similarity = _similarity(question, codes, scales)
            np.maximum.reduceat(similarity, starts, axis=1).mean(axis=0)
            times.append(time.perf_counter() - started)
        print(f"| {n:,} | {len(starts):,} | {np.median(times) * 1000:.0f} |")


if __name__ == "__main__":
    main()
