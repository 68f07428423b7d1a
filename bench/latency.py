"""Question latency in a warm process, where the time goes, and the cold start of ``bot ask``.

    python bench/latency.py [--documents 500 --paragraphs 20] [--repeats 3] [--cold 5]

Uses a 10,000-chunk index of a generated corpus (bench/corpus.py), built first when missing.
1. Warm: one process, model and index loaded; every question asked once ("first time": nothing
   cached) and then again ("repeated": token vectors of the candidates cached), end to end:
   ``CaseBot.ask`` + the terminal renderer, as configured (onnxruntime reads the question), with
   QUESTION_RUNTIME=torch, and with the word-by-word re-scoring switched off (token_weight 0), in turns.
2. Where the time of one question goes: model calls (question vector, token vectors of the
   question and of uncached candidates), FAISS, BM25, the rest.
3. Cold start: ``python -m bot ask QUESTION`` wall time, and the split (imports, model, index).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from _common import MODELS, ROOT, WORK, header, spread, table, timed
from scale import questions


class TimingEmbedder:
    """Adds up the time spent in each model call."""

    def __init__(self, inner) -> None:
        self.inner, self.name, self.dimension = inner, inner.name, inner.dimension
        self.seconds: dict[str, float] = defaultdict(float)

    def _timed(self, what: str, fn, *args):
        t = time.perf_counter()
        try:
            return fn(*args)
        finally:
            self.seconds[what] += time.perf_counter() - t

    def encode_passages(self, texts, progress=None):
        return self._timed("model: passage vectors", self.inner.encode_passages, texts)

    def encode_queries(self, texts):
        return self._timed("model: question vector", self.inner.encode_queries, texts)

    def encode_tokens(self, texts, progress=None):
        kind = ("model: the question (its vector and pieces, one pass)" if len(texts) == 1 and len(texts[0]) < 300
                else "model: pieces of candidates (only without stored pieces)")
        return self._timed(kind, self.inner.encode_tokens, texts)


def ensure_index(corpus: Path, index_dir: Path, embedder) -> None:
    from index.build import build_index
    from index.store import IndexStore

    print(f"bringing {index_dir} up to date (a no-op when it is) ...", flush=True)
    print(build_index(corpus, IndexStore(index_dir), embedder).summary(), flush=True)


def warm(index_dir: Path, embedder, repeats: int) -> None:
    import index.search as search
    from bot.render.terminal import render_answer
    from bot.service import CaseBot
    from bot.settings import Settings

    qs = questions()
    breakdown: dict[str, float] = defaultdict(float)
    variants = (("as configured (onnxruntime reads the question, word-by-word re-scoring)", "onnx", None),
                ("QUESTION_RUNTIME=torch (sentence-transformers reads the question)", "torch", None),
                ("token_weight 0 (dense + BM25 only)", "onnx", 0.0))
    first_all: dict[str, list[float]] = defaultdict(list)
    repeated_all: dict[str, list[float]] = defaultdict(list)
    for _ in range(repeats):  # the variants take turns, so that a busy minute hits them alike
        for label, runtime, weight in variants:
            settings = Settings(corpus_dir=Path("/nonexistent"), index_dir=index_dir, question_runtime=runtime,
                                model_cache_dir=MODELS)
            bot = CaseBot(settings, embedder=embedder)
            bot.open(build_if_missing=False)
            searcher = bot.searcher
            timing = TimingEmbedder(searcher.embedder)  # what the bot reads questions with
            params = searcher.params if weight is None else replace(searcher.params, token_weight=weight)
            bot._searcher = search.Searcher(searcher.index, timing, params=params)  # bench only: timed calls
            bot.ask("warm up the model and the caches of the process")
            timing.seconds.clear()
            clock = _wrap_clocks(search, timing.seconds)
            first_all[label] += [timed(lambda: render_answer(bot.ask(q)))[0] * 1000 for q in qs]
            if runtime == "onnx" and weight is None:
                for k, v in timing.seconds.items():
                    breakdown[k] += v / len(qs) / repeats * 1000
            repeated_all[label] += [timed(lambda: render_answer(bot.ask(q)))[0] * 1000 for q in qs]
            clock()
    rows = [[label, spread(first_all[label]), spread(repeated_all[label])] for label, _, _ in variants]
    n = len(bot.searcher.index.chunks)
    print(f"### Warm latency, {n} chunks (generated corpus), {len(qs)} questions x {repeats} processes\n")
    print(table(["search", "ask + render ms, first time", "ask + render ms, repeated"], rows))
    print("\nmean ms per first-time question, by stage (as configured):\n")
    print(table(["stage", "ms"], [[k, f"{v:.1f}"] for k, v in sorted(breakdown.items(), key=lambda kv: -kv[1])]))
    print()


def _wrap_clocks(search, seconds: dict[str, float]) -> Callable[[], None]:
    """Time FAISS and BM25 inside index.search; returns a function that undoes it."""
    originals = {"search_vectors": search.search_vectors, "bm25_scores": search.bm25_scores}

    def clocked(fn, label: str):
        def inner(*args, **kwargs):
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                seconds[label] += time.perf_counter() - t
        return inner

    search.search_vectors = clocked(originals["search_vectors"], "FAISS search")
    search.bm25_scores = clocked(originals["bm25_scores"], "BM25 scores (bm25s)")

    def undo() -> None:
        for name, fn in originals.items():
            setattr(search, name, fn)

    return undo


COLD = r"""
import sys, time
t0 = time.perf_counter()
sys.path.insert(0, {root!r})
import bot.cli, bot.service, index.search  # what `python -m bot ask` imports before the model
t1 = time.perf_counter()
from pathlib import Path
from bot.settings import Settings
from bot.service import CaseBot
from index.embed import load_embedder
embedder = load_embedder("minilm")
t2 = time.perf_counter()
bot = CaseBot(Settings(corpus_dir=Path("/nonexistent"), index_dir=Path({index!r}), question_runtime="torch"),
             embedder=embedder)  # one question: `bot ask` reads it with torch (bot/cli.py)
bot.open(build_if_missing=False)
t3 = time.perf_counter()
bot.ask({question!r})
t4 = time.perf_counter()
print(t1 - t0, t2 - t1, t3 - t2, t4 - t3)
"""


def cold(index_dir: Path, runs: int) -> None:
    question = "Why did the court in Tehran fine Telegram?"
    env = {**os.environ, "INDEX_DIR": str(index_dir), "CORPUS_DIR": "/nonexistent", "PYTHONPATH": str(ROOT)}
    walls, phases = [], []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "bot", "ask", question], cwd=ROOT, env=env, check=True,
                       capture_output=True)
        walls.append(time.perf_counter() - t)
        t = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", COLD.format(root=str(ROOT), index=str(index_dir), question=question)],
                             cwd=ROOT, env=env, check=True, capture_output=True, text=True)
        total = time.perf_counter() - t
        phases.append([float(x) for x in out.stdout.split()] + [total])
    print(f"### Cold start: `python -m bot ask` on the {index_dir.name} index, {runs} runs\n")
    rows = [["`python -m bot ask QUESTION`, wall", spread(walls)]]
    names = ("imports (click, numpy, faiss, bm25s, torch via the service)", "model load (sentence-transformers)",
             "index load (IndexStore.load + Searcher)", "first answer", "same steps in one script, wall")
    for i, name in enumerate(names):
        rows.append([f"  {name}", spread([p[i] for p in phases])])
    print(table(["step", "seconds"], rows))
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=500)
    parser.add_argument("--paragraphs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cold", type=int, default=5)
    args = parser.parse_args()
    from corpus import generate
    from index.embed import SentenceTransformerEmbedder

    corpus = WORK / f"corpus-{args.documents}x{args.paragraphs}"
    if not corpus.is_dir():
        generate(corpus, args.documents, args.paragraphs)
    index_dir = WORK / f"index-{args.documents * args.paragraphs}"
    header("Question latency and cold start")
    embedder = SentenceTransformerEmbedder()
    ensure_index(corpus, index_dir, embedder)
    if args.repeats:
        warm(index_dir, embedder, args.repeats)
    if args.cold:
        cold(index_dir, args.cold)


if __name__ == "__main__":
    main()
