"""Question latency in a warm process, where the time goes, and the cold start of ``bot ask``.

    python -m bench.latency [--documents 500 --paragraphs 20] [--repeats 3] [--cold 5]

Uses a 10,000-chunk index of a generated corpus (bench/corpus.py) with case A's documents beside it
(English, Russian and Persian, tests/eval/case), built first when missing with the default models
(``load_models``).
1. Warm: one process, models and index loaded; every question asked once ("first time") and then
   again ("repeated": nothing of a question is cached by the search any more, the pieces being
   stored; only the page cache and the runtimes are warmer), end to end: ``CaseBot.ask`` + the
   terminal renderer, as configured (onnxruntime reads the question, the cross-encoder reads the
   best ``RERANK_DEPTH`` candidates), with QUESTION_RUNTIME=torch, and with the cross-encoder
   switched off (rerank_depth 0: late interaction alone ranks), in turns.
2. Where the time of one question goes (as configured): model calls (question vector, ColBERT
   question pieces, cross-encoder pairs for ranking and for highlights), FAISS, BM25, the
   late-interaction match over stored pieces, the rest.
3. Cold start: ``python -m bot ask QUESTION`` wall time, and the split (imports, models, index).
Also printed: the index's size on disk per chunk.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from bench._common import MODELS, ROOT, WORK, header, percentile, rss_mb, spread, table, timed
from bench.scale import questions

CASE = ROOT / "tests" / "eval" / "case"


class Timer:
    """Adds up the time spent in each model call."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def __call__(self, what: str, fn, *args):
        t = time.perf_counter()
        try:
            return fn(*args)
        finally:
            self.seconds[what] += time.perf_counter() - t


class TimingEmbedder:
    """The question vector model, timed."""

    def __init__(self, inner, timer: Timer) -> None:
        self.inner, self.name, self.dimension, self.timer = inner, inner.name, inner.dimension, timer

    def encode_passages(self, texts, progress=None):
        return self.timer("model: passage vectors", self.inner.encode_passages, texts)

    def encode_queries(self, texts):
        return self.timer("model: question vector", self.inner.encode_queries, texts)


class TimingPieces:
    """The ColBERT piece model, timed (a question's pieces; candidates' only without stored pieces)."""

    def __init__(self, inner, timer: Timer) -> None:
        self.inner, self.timer = inner, timer

    def encode_question(self, question):
        return self.timer("model: the question's ColBERT pieces", self.inner.encode_question, question)

    def encode_tokens(self, texts, progress=None):
        return self.timer(
            "model: pieces of candidates (only without stored pieces)", self.inner.encode_tokens, texts
        )


class TimingReranker:
    """The cross-encoder, timed; ranking calls (several passages) apart from highlights (sentences)."""

    def __init__(self, inner, timer: Timer) -> None:
        self.inner, self.timer = inner, timer
        self.ranking = False

    def scores(self, question, passages):
        kind = (
            "model: cross-encoder, ranking" if self.ranking else "model: cross-encoder, highlight sentences"
        )
        return self.timer(kind, self.inner.scores, question, passages)


def ensure_index(corpus: Path, index_dir: Path, models) -> None:
    from index.build import build_index
    from index.store.files import IndexStore

    print(f"bringing {index_dir} up to date (a no-op when it is) ...", flush=True)
    print(build_index(corpus, IndexStore(index_dir), models).summary(), flush=True)
    loaded = IndexStore(index_dir).load(models)
    build, chunks = loaded.path, loaded.manifest.chunks
    size = sum(f.stat().st_size for f in build.rglob("*") if f.is_file())
    print(f"index on disk: {size / 1e6:.1f} MB for {chunks} chunks, {size / chunks / 1024:.1f} KiB per chunk "
          f"({build.name})\n", flush=True)


def warm(index_dir: Path, models, repeats: int) -> None:
    import index.search.candidates as candidates
    import index.search.searcher as search
    from bot.render.terminal import render_answer
    from bot.service import CaseBot
    from bot.settings import Settings
    from index.models.models import Models, reading_questions
    from index.models.retrieval_models import CrossEncoder

    qs = questions()
    breakdown: dict[str, float] = defaultdict(float)
    depth = Settings().rerank_depth
    variants = (
        (f"as configured (onnxruntime reads the question, cross-encoder reads {depth})", "onnx", None),
        ("QUESTION_RUNTIME=torch (sentence-transformers reads the question)", "torch", None),
        ("rerank_depth 0 (no cross-encoder: late interaction ranks)", "onnx", 0),
    )
    first_all: dict[str, list[float]] = defaultdict(list)
    repeated_all: dict[str, list[float]] = defaultdict(list)
    declined: dict[str, int] = defaultdict(int)
    reranker = CrossEncoder()  # one for every variant, as one process would hold
    for _ in range(repeats):  # the variants take turns, so that a busy minute hits them alike
        for label, runtime, rerank_depth in variants:
            settings = Settings(
                corpus_dir=Path("/nonexistent"),
                index_dir=index_dir,
                question_runtime=runtime,
                model_cache_dir=MODELS,
            )
            if rerank_depth is not None:
                settings = replace(settings, rerank_depth=rerank_depth)
            # RERANK_DEPTH=0 loads no cross-encoder (bot.service), so highlights come from MaxSim too
            with_reranker = models.replace(reranker=reranker)
            bot = CaseBot(settings, reading_questions(with_reranker, settings.model_choice()))
            bot.open(build_if_missing=False)
            searcher = bot.searcher
            timer = Timer()
            timed_reranker = (
                TimingReranker(searcher.reranker, timer) if searcher.reranker is not None else None
            )
            pieces = TimingPieces(searcher.late.model, timer) if searcher.late is not None else None
            # bench only: the same index, models and params, with timed calls
            timed_models = Models.of(models.vectors, pieces, models.multilingual, models.aligned,  # type: ignore[arg-type]
                                     timed_reranker, TimingEmbedder(searcher.embedder, timer))
            bot.index._searcher = search.Searcher(searcher.index, timed_models, searcher.params)
            clock = _wrap_clocks(candidates, search, bot.index._searcher, timed_reranker, timer.seconds)
            bot.ask("warm up the model and the caches of the process")
            timer.seconds.clear()

            def ask(q: str) -> float:
                seconds, answer = timed(lambda: bot.ask(q))
                seconds += timed(lambda: render_answer(answer))[0]
                answered[q] = answer.answered
                return seconds * 1000

            answered: dict[str, bool] = {}
            first = [ask(q) for q in qs]
            first_all[label] += first
            declined[label] = sum(not a for a in answered.values())
            if runtime == "onnx" and rerank_depth is None:
                for k, v in timer.seconds.items():
                    breakdown[k] += v / len(qs) / repeats * 1000
                breakdown["total (ask + render)"] += sum(first) / len(qs) / repeats
            repeated_all[label] += [ask(q) for q in qs]
            clock()
    rows = [[label, spread(first_all[label]), spread(repeated_all[label]), f"{declined[label]} of {len(qs)}"]
            for label, _, _ in variants]
    n = len(bot.searcher.index.chunks)
    print(f"### Warm latency, {n} chunks (generated corpus), {len(qs)} questions x {repeats} rounds\n")
    print(table(["search", "ask + render ms, first time", "ask + render ms, repeated", "declined"], rows))
    print("\nmean ms per first-time question, by stage (as configured):\n")
    total = breakdown.pop("total (ask + render)", 0.0)
    rest = total - sum(breakdown.values())
    items = sorted(breakdown.items(), key=lambda kv: -kv[1]) + [("the rest (Python, passages, render)", rest),
                                                                  ("total (ask + render)", total)]
    print(table(["stage", "ms"], [[k, f"{v:.1f}"] for k, v in items]))
    print()


def _wrap_clocks(candidates, search, searcher, reranker, seconds: dict[str, float]) -> Callable[[], None]:
    """Time FAISS and BM25 (index.search.candidates), the late-interaction match and the cross-encoder's
    ranking call (index.search.searcher); returns a function that undoes it."""
    originals = {"search_vectors": candidates.search_vectors, "bm25_scores": candidates.bm25_scores}
    original_rerank = search.rerank

    def clocked(fn, label: str):
        def inner(*args, **kwargs):
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                seconds[label] += time.perf_counter() - t
        return inner

    candidates.search_vectors = clocked(originals["search_vectors"], "FAISS search")
    candidates.bm25_scores = clocked(originals["bm25_scores"], "BM25 scores (bm25s)")
    if searcher.late is not None:
        searcher.late.match = clocked(searcher.late.match, "late interaction (MaxSim over stored pieces)")

    def ranking(*args, **kwargs):  # marks the cross-encoder's calls made while ranking
        if reranker is not None:
            reranker.ranking = True
        try:
            return original_rerank(*args, **kwargs)
        finally:
            if reranker is not None:
                reranker.ranking = False

    search.rerank = ranking

    def undo() -> None:
        for name, fn in originals.items():
            setattr(candidates, name, fn)
        search.rerank = original_rerank

    return undo


COLD = r"""
import dataclasses, sys, time
t0 = time.perf_counter()
import bot.cli, bot.service, index.search.searcher  # what `python -m bot ask` imports before the models
t1 = time.perf_counter()
from pathlib import Path
from bot.settings import Settings
from bot.service import CaseBot
from index.models.onnx_model import question_copy_ready
settings = Settings(corpus_dir=Path("/nonexistent"), index_dir=Path({index!r}),
                    model_cache_dir=Path({models!r}))
if not question_copy_ready(settings.model_cache_dir):  # as `bot ask` does (bot/cli_context.py)
    settings = dataclasses.replace(settings, question_runtime="torch")
bot.cli._serving()  # what `bot ask` applies first
t2 = time.perf_counter()
casebot = CaseBot(settings)
casebot.open(build_if_missing=False)  # loads the index and the models it needs
t3 = time.perf_counter()
casebot.ask({question!r})
t4 = time.perf_counter()
print(t1 - t0, t2 - t1, t3 - t2, t4 - t3, "torch" in sys.modules)
"""


def case_questions() -> dict[str, list[str]]:
    """Case A's questions by the language they are asked in (tests/eval/case): English ones of
    questions.jsonl, Russian and Persian ones of languages.jsonl."""
    import json

    from index.text.language import question_language

    found: dict[str, list[str]] = {"en": [], "ru": [], "fa": []}
    for name in ("questions.jsonl", "languages.jsonl"):
        for line in (CASE / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                question = json.loads(line)["q"]
                language = question_language(question)
                if language in found and (language != "en" or name == "questions.jsonl"):
                    found[language].append(question)
    return found


def by_language(index_dir: Path, models, repeats: int) -> None:
    """Warm latency of case A's questions by their language, over the same index (case A's documents
    are in it), as configured: p50 and p95 of ``CaseBot.ask`` + the terminal renderer."""
    from bot.render.terminal import render_answer
    from bot.service import CaseBot
    from bot.settings import Settings
    from index.models.models import reading_questions

    settings = Settings(corpus_dir=Path("/nonexistent"), index_dir=index_dir, model_cache_dir=MODELS)
    bot = CaseBot(settings, reading_questions(models, settings.model_choice()))
    bot.open(build_if_missing=False)
    sets = case_questions()
    bot.ask(sets["en"][0])  # warm
    rows, p50 = [], {}
    for language, asked in sets.items():
        times = []
        for _ in range(repeats):
            for question in asked:
                seconds, answer = timed(lambda: bot.ask(question))
                seconds += timed(lambda: render_answer(answer))[0]
                times.append(seconds * 1000)
        p50[language] = percentile(times, 50)
        rows.append([language, str(len(asked)), f"{p50[language]:.0f}", f"{percentile(times, 95):.0f}",
                     f"{p50[language] / p50['en']:.2f}"])
    n = len(bot.searcher.index.chunks)
    print(f"### Warm latency by the question's language, {n} chunks, case A's questions x {repeats}\n")
    print(table(["asked in", "questions", "p50 ms", "p95 ms", "p50 / English p50"], rows))
    memory = rss_mb()
    print(f"\nprocess memory after these questions: {memory:.0f} MB ({memory * 1024 / n:.1f} KiB a chunk)\n")


MEMORY = r"""
import json
from pathlib import Path
from bench._common import rss_mb
from bot.runtime import tune_for_questions
from bot.service import CaseBot
from bot.settings import Settings
tune_for_questions()
casebot = CaseBot(Settings(corpus_dir=Path("/nonexistent"), index_dir=Path({index!r}),
                           model_cache_dir=Path({models!r})))
casebot.models.warm_up()
models = rss_mb()
casebot.open(build_if_missing=False)
for question in json.loads({questions!r}):
    casebot.ask(question)
print(models, rss_mb(), len(casebot.searcher.index.chunks))
"""


def memory(index_dir: Path) -> None:
    """Resident memory of a fresh serving process: the models alone, then with the index after questions."""
    import json

    code = MEMORY.format(index=str(index_dir), models=str(MODELS), questions=json.dumps(questions()))
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True)
    models, serving, chunks = out.stdout.split()[-3:]
    extra = float(serving) - float(models)
    print(f"### Memory of a serving process, {chunks} chunks\n")
    per_chunk = f"the index's share: {extra * 1024 / int(chunks):.1f} KiB a chunk"
    print(table(["", "MB"], [["the models, loaded", f"{float(models):.0f}"],
                             ["with the index, after 40 questions", f"{float(serving):.0f}"],
                             [per_chunk, f"{extra:.0f}"]]))
    print()


def cold(index_dir: Path, runs: int) -> None:
    question = "Why did the court in Tehran fine Telegram?"
    env = {**os.environ, "INDEX_DIR": str(index_dir), "CORPUS_DIR": "/nonexistent", "PYTHONPATH": str(ROOT)}
    walls, phases = [], []
    loaded_torch = False
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "bot", "ask", question], cwd=ROOT, env=env, check=True,
                       capture_output=True)
        walls.append(time.perf_counter() - t)
        t = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", COLD.format(index=str(index_dir), models=str(MODELS), question=question)],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        total = time.perf_counter() - t
        *seconds, torch = out.stdout.split()
        phases.append([float(x) for x in seconds] + [total])
        loaded_torch = torch == "True"
    print(f"### Cold start: `python -m bot ask` on the {index_dir.name} index, {runs} runs\n")
    rows = [["`python -m bot ask QUESTION`, wall", spread(walls)]]
    names = ("imports (click, numpy, faiss, bm25s)", "settings",
             "open: the index and the models it needs (ColBERT, e5, the question's reader)",
             "first answer (and the models loaded on first use: cross-encoder, USE)",
             "same steps in one script, wall")
    for i, name in enumerate(names):
        rows.append([f"  {name}", spread([p[i] for p in phases])])
    print(table(["step", "seconds"], rows))
    reader = "torch" if loaded_torch else "the checked onnxruntime copy"
    print(f"\ntorch loaded: {loaded_torch} (the question read by {reader})\n")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--documents", type=int, default=500)
    parser.add_argument("--paragraphs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cold", type=int, default=5)
    parser.add_argument("--no-case", dest="case", action="store_false",
                        help="without case A's documents in the corpus (and no latency by language)")
    args = parser.parse_args()
    from bot.runtime import tune_for_questions

    tune_for_questions()  # what a serving process runs under: `bot ask/chat/run` apply it (bot/cli.py)
    from bench.corpus import generate
    from index.models.models import ModelChoice, load_models

    corpus = WORK / f"corpus-{args.documents}x{args.paragraphs}"
    if not corpus.is_dir():
        generate(corpus, args.documents, args.paragraphs)
    if args.case and not (corpus / "case-a").is_dir():  # real documents in three languages beside
        shutil.copytree(CASE / "corpus", corpus / "case-a")
    index_dir = WORK / f"index-{args.documents * args.paragraphs}"
    header("Question latency and cold start")
    models = load_models(ModelChoice(reranker=False, question_runtime="torch"))  # the bot's by default
    ensure_index(corpus, index_dir, models)
    if args.repeats:
        warm(index_dir, models, args.repeats)
        if args.case:
            by_language(index_dir, models, args.repeats)
    if args.cold:
        cold(index_dir, args.cold)
        memory(index_dir)


if __name__ == "__main__":
    main()
