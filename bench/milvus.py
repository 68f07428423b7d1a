"""The Milvus store (INDEX_STORE=milvus, milvus-lite 2.5.1) side by side with the files store.

    python -m bench.milvus --scale 10000        # the stores alone, at 10,000 generated chunks
    python -m bench.milvus --eval               # the real models on both evaluation sets

``--scale N``: a generated corpus (bench/corpus.py) of about N chunks, built with stand-ins of the real
models' shapes (MiniLM 384, ColBERT pieces 384 one per word, e5 384, USE 512; hashed words, no model
time), so that what is timed is the store: full build, incremental build (one document added), the
search side of a question (candidates, pieces, cosines; the stand-in models cost microseconds), the
disk (the index folder; Milvus's data folder) and memory (the serving process; Milvus's engine), then
both per chunk and extrapolated to 1,000,000 chunks.

``--eval``: the real models (MiniLM + ColBERT pieces + e5 + USE + the cross-encoder) on tests/eval/case
and case2: recall@1/@3, right document, highlight, warm latency per question (median, p90) from each
store; the build time with the models (the files store first), then each store's build alone (the
passages' model results kept by text: tests.support.milvus_server.remembered).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import zlib
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from bench._common import ROOT, WORK, percentile, table, timed
from bench.corpus import generate

from index.build import build_index
from index.models.encoded import TokenVectors
from index.models.models import Models
from index.store.files import IndexStore
from index.store.milvus.connection import MilvusTarget
from index.store.milvus.store import MilvusStore

WORD = re.compile(r"\w+")
PIECE_BYTES = 384 + 12  # one stored 8-bit piece: codes + scale + span (index.store.pieces)


@lru_cache(maxsize=200_000)
def _word(word: str, dimension: int) -> np.ndarray:
    vector = np.random.default_rng(zlib.crc32(word.lower().encode())).standard_normal(dimension)
    return (vector / np.linalg.norm(vector)).astype(np.float32)


class SizedWords:
    """A hashed bag of words of a real model's dimension (no model time)."""

    def __init__(self, name: str, dimension: int) -> None:
        self.name, self.dimension = name, dimension

    def encode_passages(self, texts: Sequence[str], progress=None) -> np.ndarray:  # noqa: ANN001
        rows = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in WORD.findall(text):
                rows[i] += _word(word, self.dimension)
        rows /= np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-6)
        if progress is not None:
            progress(len(texts))
        return rows

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.encode_passages(texts)


class SizedPieces:
    """One 384-dimensional piece per word, as many as ColBERT's word pieces roughly."""

    name, dimension = "sized-pieces-384 (bench/milvus.py)", 384

    def encode_tokens(self, texts: Sequence[str], progress=None) -> list[TokenVectors]:  # noqa: ANN001
        out = []
        for text in texts:
            words = list(WORD.finditer(text))
            vectors = np.array([_word(m.group(), 384) for m in words], dtype=np.float32).reshape(-1, 384)
            out.append(
                TokenVectors(vectors, np.array([m.span() for m in words], dtype=np.int64).reshape(-1, 2))
            )
        if progress is not None:
            progress(len(texts))
        return out

    def encode_question(self, question: str) -> np.ndarray:
        return np.array([_word(w, 384) for w in WORD.findall(question) or ["?"]], dtype=np.float32)


def sized_models() -> Models:
    from tests.support.models import WordOverlap

    return Models.of(
        SizedWords("sized-minilm-384", 384),
        SizedPieces(),
        SizedWords("sized-e5-384", 384),
        SizedWords("sized-use-512", 512),
        WordOverlap(),
    )


def du(path: Path) -> int:
    """Bytes of the files under ``path``, a hard-linked file once (builds share their pieces file)."""
    seen: dict[tuple[int, int], int] = {}
    for p in path.rglob("*"):
        if p.is_file() and not p.is_symlink():
            stat = p.stat()
            seen[(stat.st_dev, stat.st_ino)] = stat.st_size
    return sum(seen.values())


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def engine_pid(data_file: Path) -> int | None:
    out = subprocess.run(
        ["pgrep", "-f", f"milvus_lite/lib/milvus {data_file}"], capture_output=True, text=True
    )
    pids = [int(p) for p in out.stdout.split()]
    return pids[0] if pids else None


def scale(chunks: int) -> None:

    work = WORK / f"milvus-{chunks}"
    shutil.rmtree(work, ignore_errors=True)
    corpus = work / "corpus"
    generate(corpus, max(1, chunks // 20), 20)
    models = sized_models()
    data_file = work / "milvus" / "casebot.db"
    stores = stores_in(work)
    rows, per_chunk = [], {}
    for name, store in stores.items():
        baseline = 0
        if isinstance(store, MilvusStore):
            store.blobs.ensure()  # starts milvus-lite's engine
            baseline = rss(engine_pid(data_file) or os.getpid())
        build_seconds, report = timed(lambda: build_index(corpus, store, models))
        disk = du(work / "files") if name == "files" else du(data_file.parent)  # one build
        engine = rss(engine_pid(data_file) or 0) - baseline if baseline else 0
        generate(corpus, 1, 20, start=10**6)
        added_seconds, _ = timed(lambda: build_index(corpus, store, models))
        (corpus / f"doc-{10**6:06d}.md").unlink()
        build_index(corpus, store, models)
        served = serve_elsewhere(work, name)
        n = served["chunks"]
        memory = served["memory"]
        per_chunk[name] = (disk / n, (max(memory, 0) + engine) / n)
        rows.append(
            [
                name,
                n,
                f"{build_seconds:.1f} s",
                f"{added_seconds:.1f} s",
                f"{served['load']:.2f} s",
                f"{served['median'] * 1000:.0f} / {served['p90'] * 1000:.0f} ms",
                f"{disk / 2**20:.0f} MiB",
                f"{memory / 2**20:.0f} MiB",
                f"{baseline / 2**20:.0f} + {engine / 2**20:.0f} MiB" if engine else "-",
            ]
        )
        pieces = served["pieces"]
    print(
        table(
            [
                "store",
                "chunks",
                "full build",
                "+1 document",
                "load",
                "search median / p90",
                "disk (one build)",
                "serving process (growth)",
                "Milvus engine RSS: empty + one build",
            ],
            rows,
        )
    )
    print(
        f"\nword pieces: {pieces} ({pieces / n:.0f} a chunk), "
        f"{pieces * PIECE_BYTES / n / 1000:.1f} kB a chunk "
        f"stored 8-bit; base64 in Milvus: {pieces * PIECE_BYTES * 4 / 3 / n / 1000:.1f} kB"
    )
    for name, (disk, memory) in per_chunk.items():
        print(
            f"{name}: {disk / 1000:.1f} kB of disk and {memory / 1000:.1f} kB of memory a chunk -> "
            "at 1,000,000 "
            f"chunks ≈ {disk * 1e6 / 2**30:.0f} GiB of disk, {memory * 1e6 / 2**30:.0f} GiB of memory"
        )


QUESTIONS = ["When was Telegram blocked in Russia?", "How many people in Iran use Telegram?",
             "Why did Iran open a criminal case against Pavel Durov?", "What did the FSB demand?"] * 5


def stores_in(work: Path) -> dict[str, IndexStore | MilvusStore]:
    data_file = work / "milvus" / "casebot.db"
    milvus = MilvusStore(work / "index", MilvusTarget(str(data_file)))
    return {"files": IndexStore(work / "files"), "milvus": milvus}


def serve_elsewhere(work: Path, name: str) -> dict:
    """``serve`` in a fresh process (milvus-lite: this process lets go of its data file first)."""
    from milvus_lite.server_manager import server_manager_instance

    server_manager_instance.release_all()
    out = subprocess.run([sys.executable, "-W", "ignore", "-m", "bench.milvus", "--serve", str(work), name],
                         capture_output=True, text=True, cwd=ROOT, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def serve(work: Path, name: str) -> None:
    """Load the built index in this fresh process, answer ``QUESTIONS`` (stand-in models, no
    cross-encoder): load time, latency, this process's growth, Milvus's engine (JSON on stdout)."""
    from index.search.searcher import SearchParams, Searcher

    import bm25s  # noqa: F401 - what loading imports, imported before the memory is read
    import faiss  # noqa: F401
    import pymilvus  # noqa: F401

    models = sized_models()
    store = stores_in(work)[name]
    if isinstance(store, MilvusStore):
        store.blobs.ensure()  # milvus-lite's engine started
    gc.collect()
    before = rss(os.getpid())
    load_seconds, index = timed(lambda: store.load(models))
    searcher = Searcher(index, models, SearchParams(rerank_depth=0))
    searcher.search(QUESTIONS[0], 3)
    latencies = [timed(lambda: searcher.search(q, 3))[0] for q in QUESTIONS]
    gc.collect()
    pid = engine_pid(work / "milvus" / "casebot.db") if name == "milvus" else None
    print(json.dumps({"chunks": len(index.chunks), "load": load_seconds, "memory": rss(os.getpid()) - before,
                      "median": statistics.median(latencies), "p90": percentile(latencies, 90),
                      "engine": rss(pid) if pid else 0, "pieces": index.piece_count}))


def evaluation() -> None:
    from bot.evaluation import evaluate, load_questions
    from bot.service import CaseBot
    from index.models.models import ModelChoice, load_models
    from index.models.retrieval_models import CrossEncoder
    from tests.support import settings_for
    from tests.support.milvus_server import remembered

    models = remembered(load_models(ModelChoice(reranker=False, question_runtime="torch")))
    models = models.replace(reranker=CrossEncoder())
    rows = []
    for case in ("case", "case2"):
        folder = ROOT / "tests" / "eval" / case
        work = WORK / f"milvus-eval-{case}"
        shutil.rmtree(work, ignore_errors=True)
        questions = load_questions(folder / "questions.jsonl")
        stores = (
            ("files", {}),
            ("milvus", {"index_store": "milvus", "milvus_uri": str(work / "m" / "casebot.db")}),
            ("files again", {}),
        )
        for name, extra in stores:
            bot = CaseBot(
                settings_for(work / name.replace(" ", "-"), corpus_dir=folder / "corpus", **extra), models
            )
            seconds, report = timed(lambda: bot.rebuild())
            if name == "files again":
                rows.append([case, name, report.chunks, f"{seconds:.1f} s (store alone)", "", "", "", "", ""])
                bot.close()
                continue
            latencies: list[float] = []

            def ask(question: str):  # noqa: ANN202
                took, answer = timed(lambda: bot.ask(question, 3))
                latencies.append(took)
                return answer

            bot.ask(questions[0].question, 3)
            result = evaluate(questions, ask)
            what = "with the models" if name == "files" else "store alone"
            rows.append(
                [
                    case,
                    name,
                    report.chunks,
                    f"{seconds:.1f} s ({what})",
                    f"{result.recall_at_1:.3f}",
                    f"{result.recall_at_3:.3f}",
                    f"{result.right_document:.3f}",
                    f"{result.highlight_accuracy:.3f}",
                    f"{statistics.median(latencies) * 1000:.0f} / {percentile(latencies, 90) * 1000:.0f} ms",
                ]
            )
            bot.close()
    print(
        table(
            [
                "set",
                "store",
                "chunks",
                "build",
                "recall@1",
                "recall@3",
                "right document",
                "highlight",
                "warm question median / p90",
            ],
            rows,
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=0, help="chunks of the generated corpus (0: skip)")
    parser.add_argument("--eval", action="store_true", help="the real models on both evaluation sets")
    parser.add_argument("--serve", nargs=2, metavar=("WORK", "STORE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(Path(args.serve[0]), args.serve[1])
        return
    if args.scale:
        scale(args.scale)
    if args.eval:
        evaluation()


if __name__ == "__main__":
    main()
