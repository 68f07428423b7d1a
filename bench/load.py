"""Throughput with many concurrent askers, and whether the event loop stays free.

    python -m bench.load [--askers 20] [--questions 5] [--repeats 3] [--index /tmp/casebot-bench/index-10000]
                         [--rerank-depth N]

``--askers`` coroutines each ask ``--questions`` different questions one after another (a closed
loop, like users waiting for their answer), on one event loop, two ways side by side, each on a
fresh CaseBot over the same index (built by bench/latency.py with the default embedder), sharing
one loaded cross-encoder, alternating which runs first:

* ``to_thread(ask)``: every question in its own worker thread running the models itself (what
  ``ask_async`` did before issue 5);
* ``ask_async``: questions in worker threads, the question-vector calls batched on the model threads
  (four); the ColBERT question pieces and the cross-encoder run in each question's worker thread;
* ``ask_async, 1 model thread`` (``--single``): the same with a single model thread.

``--rerank-depth`` overrides RERANK_DEPTH (the settings' default otherwise; 0: no cross-encoder,
late interaction alone ranks).

A ticker coroutine wakes every 5 ms; its worst lateness shows whether anything blocked the loop.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from pathlib import Path

from bench._common import MODELS, WORK, header, percentile, spread, table
from bench.scale import questions


async def ticker(stop: asyncio.Event, lateness: list[float]) -> None:
    while not stop.is_set():
        t = time.perf_counter()
        await asyncio.sleep(0.005)
        lateness.append(time.perf_counter() - t - 0.005)


async def run(casebot, mode: str, batches: list[list[str]]) -> tuple[float, list[float], float]:
    latencies: list[float] = []

    async def asker(qs: list[str]) -> None:
        for q in qs:
            t = time.perf_counter()
            if mode.startswith("ask_async"):
                await casebot.ask_async(q)
            else:
                await asyncio.to_thread(casebot.ask, q)
            latencies.append(time.perf_counter() - t)

    stop = asyncio.Event()
    lateness: list[float] = []
    tick = asyncio.create_task(ticker(stop, lateness))
    t = time.perf_counter()
    await asyncio.gather(*(asker(qs) for qs in batches))
    wall = time.perf_counter() - t
    stop.set()
    await tick
    return wall, latencies, max(lateness, default=0.0)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--askers", type=int, default=20)
    parser.add_argument("--questions", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--index", type=Path, default=WORK / "index-10000")
    parser.add_argument("--single", action="store_true", help="also measure ask_async with one model thread")
    parser.add_argument(
        "--rerank-depth",
        type=int,
        default=None,
        help="candidates the cross-encoder reads (default: the settings'; 0: cross-encoder off)",
    )
    args = parser.parse_args()
    from bot.runtime import tune_for_questions

    tune_for_questions()  # what a serving process runs under: `bot ask/chat/run` apply it (bot/cli.py)
    from dataclasses import replace

    from bot.service import CaseBot
    from bot.settings import Settings
    from index.models.models import ModelChoice, load_models
    from index.models.retrieval_models import CrossEncoder

    # what the bot loads by default (the index must be built with it)
    models = load_models(ModelChoice(reranker=False, question_runtime="torch"))
    settings = Settings(corpus_dir=Path("/nonexistent"), index_dir=args.index, model_cache_dir=MODELS)
    if args.rerank_depth is not None:
        settings = replace(settings, rerank_depth=args.rerank_depth)
    reranker = CrossEncoder() if settings.rerank_depth else None  # one for every CaseBot
    pool = questions(args.askers * args.questions)
    setting = f", rerank_depth {settings.rerank_depth}"
    header(
        f"Throughput: {args.askers} concurrent askers x {args.questions} questions, "
        f"index {args.index.name}{setting}"
    )
    results: dict[str, list[tuple[float, list[float], float]]] = {"to_thread(ask)": [], "ask_async": []}
    if args.single:
        results["ask_async, 1 model thread"] = []
    for repeat in range(args.repeats):
        random.Random(repeat).shuffle(pool)
        batches = [pool[i :: args.askers] for i in range(args.askers)]
        modes = list(results) if repeat % 2 == 0 else list(reversed(results))
        for mode in modes:
            casebot = CaseBot(settings, models.replace(reranker=reranker))
            casebot.open(build_if_missing=False)
            casebot.ask("warm up")
            if mode == "ask_async, 1 model thread":
                casebot._batching.workers = 1  # bench only: before its first use
            results[mode].append(asyncio.run(run(casebot, mode, batches)))
            wall = results[mode][-1][0]
            print(f"  repeat {repeat + 1} {mode}: {len(pool) / wall:.1f} answers/s", flush=True)
    rows = []
    for mode, runs in results.items():
        rates = [len(pool) / wall for wall, _, _ in runs]
        lat = [x * 1000 for _, latencies, _ in runs for x in latencies]
        rows.append([mode, spread(rates), f"{percentile(lat, 50):.0f}", f"{percentile(lat, 95):.0f}",
                     spread([late * 1000 for _, _, late in runs])])
    ratio = [
        len(pool) / a[0] / (len(pool) / b[0]) for a, b in zip(results["ask_async"], results["to_thread(ask)"])
    ]
    print()
    print(
        table(["path", "answers/s", "latency p50 ms", "latency p95 ms", "worst event-loop lateness ms"], rows)
    )
    print(f"\nask_async / to_thread(ask) throughput, same repeat: {spread(ratio)}\n")


if __name__ == "__main__":
    main()
