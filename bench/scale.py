"""A million chunks: build the store from synthetic vectors, measure recall, memory and latency.

    python -m bench.scale [--chunks 1000000] [--queries 200] [--repeats 3]

Texts are generated (bench/corpus.py, 50 documents of 20 paragraphs per 1,000 chunks); the
vectors are SYNTHETIC (embedding a million texts takes hours on two cores): each is one of the
10,000 real MiniLM vectors of bench/latency.py's index plus noise drawn with the real vectors'
own covariance (``synthetic_vectors``). Recall is also measured on real MiniLM vectors alone
(``--real``: the 10,000 vectors of that index, 300 of them held out as queries).

1. Build: chunking, BM25, the FAISS index chosen by size (index.store.vectors), and the store's write.
2. Recall@10 of the chosen index against exact search, over nprobe, on held-out query vectors.
3. Serving: a fresh process loads the index through IndexStore and CaseBot with the real models
   (the default embedder: MiniLM vectors + ColBERT pieces, and the cross-encoder), reports its
   resident memory, and times ``ask`` end to end (real question embedding; the answers themselves
   are meaningless, the vectors being synthetic), as configured and with the cross-encoder off
   (rerank_depth 0: late interaction alone ranks). The build stores no pieces unless ``--pieces``
   copies real ones in; without them the ColBERT model reads every question's candidates.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from bench._common import MODELS, ROOT, WORK, header, percentile, spread, table, timed

DIMENSION = 384


def synthetic_vectors(n: int, anchors: np.ndarray, spread: float = 1.0, seed: int = 7) -> np.ndarray:
    """``n`` unit vectors around real ones: anchor + ``spread`` x noise with the anchors' own
    covariance (their principal axes and variances), normalised. At spread 1.0 a vector's cosine
    to its anchor is about 0.83, as close as a real passage is to its nearest real neighbour."""
    rng = np.random.default_rng(seed)
    anchors = np.asarray(anchors, dtype=np.float32)
    _, singular, axes = np.linalg.svd(anchors - anchors.mean(0), full_matrices=False)
    scale = (singular / np.sqrt(len(anchors))).astype(np.float32)
    out = np.empty((n, anchors.shape[1]), dtype=np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        which = rng.integers(0, len(anchors), m)
        block = (
            anchors[which] + spread * (rng.standard_normal((m, len(scale))).astype(np.float32) * scale) @ axes
        )
        out[start : start + m] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def real_anchors() -> np.ndarray:
    """The real MiniLM vectors of the 10,000-chunk index of bench/latency.py (built if missing)."""
    from index.store.files import IndexStore

    index_dir = WORK / "index-10000"
    if not (index_dir / "current").exists():
        subprocess.run([sys.executable, "-m", "bench.latency", "--repeats", "0", "--cold", "0"], cwd=ROOT,
                       check=True)
    return np.asarray(IndexStore(index_dir).load().vectors, dtype=np.float32)


def exact_top(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    import faiss

    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(vectors)
    return flat.search(queries, k)[1]


def recall_at(approx: np.ndarray, exact: np.ndarray) -> float:
    return float(np.mean([len(set(a) & set(e)) / len(e) for a, e in zip(approx.tolist(), exact.tolist())]))


def recall_table(index, vectors: np.ndarray, queries: np.ndarray, k: int = 10) -> list[list[object]]:
    exact = exact_top(vectors, queries, k)
    top = np.array([[float(vectors[i] @ q) for i in row[[0, -1]]] for row, q in zip(exact, queries)])
    print(f"(median cosine of a query to its exact nearest neighbour {np.median(top[:, 0]):.2f}, "
          f"to its 10th {np.median(top[:, 1]):.2f})\n")
    rows = []
    nprobes = sorted({4, 8, 16, 32, 64, 128, int(getattr(index, "nprobe", 0))} - {0})
    default = int(index.nprobe)
    for nprobe in nprobes:
        if nprobe > index.nlist:
            continue
        index.nprobe = nprobe
        per_query = []
        found = []
        for q in queries:
            seconds, (_, ids) = timed(lambda: index.search(q[None, :], k))
            per_query.append(seconds * 1000)
            found.append(ids[0])
        rows.append(
            [
                f"{nprobe}{' (default)' if nprobe == default else ''}",
                f"{recall_at(np.array(found), exact):.3f}",
                f"{np.median(per_query):.2f}",
                f"{percentile(per_query, 95):.2f}",
            ]
        )
    index.nprobe = default
    return rows


def build(args) -> None:
    import faiss

    from bench.corpus import generate
    from index.build import chunk_hash
    from index.ingest.chunk import chunk_document
    from index.ingest.documents import scan_corpus
    from index.text.lexical import build_bm25
    from index.store.files import FORMAT_VERSION, IndexStore, Manifest
    from index.store.vectors import build_vector_index, index_kind

    documents_n = args.chunks // 20
    corpus = WORK / f"corpus-{documents_n}x20"
    if not corpus.is_dir():
        print(f"generating {documents_n} documents ...", flush=True)
        generate(corpus, documents_n, 20)
    name = _model_name()  # before timing: may build bench/latency.py's index
    timings: dict[str, float] = {}
    t, scan = timed(lambda: scan_corpus(corpus))
    timings["ingest (read + hash files)"] = t
    documents = list(scan.documents)
    t, chunks = timed(lambda: [c for d in documents for c in chunk_document(d)])
    timings["chunk"] = t
    n = len(chunks)
    t, hashes = timed(lambda: [chunk_hash(name, c.text) for c in chunks])
    timings["chunk hashes"] = t
    anchors = real_anchors()
    t, vectors = timed(lambda: synthetic_vectors(n, anchors))
    print(f"{len(documents)} documents, {n} chunks; synthetic vectors in {t:.1f} s", flush=True)
    t, vector_index = timed(lambda: build_vector_index(vectors))
    timings[f"FAISS {index_kind(vector_index)} (train + add)"] = t
    t, bm25 = timed(lambda: build_bm25([c.text for c in chunks]))
    timings["BM25 (tokenize + bm25s index)"] = t
    store = IndexStore(WORK / f"index-{args.chunks}")
    build_dir = store.new_build()
    manifest = Manifest(FORMAT_VERSION, build_dir.name, "2026-01-01T00:00:00+00:00", name, DIMENSION,
                        len(documents), n, type(vector_index).__name__,
                        {d.doc_id: d.content_hash for d in documents})
    t, _ = timed(
        lambda: (
            store.write(build_dir, manifest, documents, chunks, hashes, vectors, vector_index, bm25),
            store.commit(build_dir),
        )
    )
    timings["write + swap"] = t
    print(table(["build step at %d chunks (no embedding)" % n, "seconds"],
                [[k, f"{v:.1f}"] for k, v in timings.items()]))
    size = sum(p.stat().st_size for p in store.current_build().rglob("*") if p.is_file())
    print(f"\nindex on disk: {size / 1e9:.2f} GB\n")

    queries = synthetic_vectors(args.queries, anchors, seed=99)  # same mixture, new points, not in the index
    print(f"### Recall@10 vs exact, {n} synthetic vectors, {index_kind(vector_index)} "
          f"(nlist {getattr(vector_index, 'nlist', '-')}), {args.queries} held-out queries\n")
    if isinstance(vector_index, faiss.IndexIVF):
        print(
            table(
                ["nprobe", "recall@10", "ms/query median", "p95"],
                recall_table(vector_index, vectors, queries),
            )
        )
        fp16 = build_vector_index(vectors, kind="ivf-fp16")
        rows = recall_table(fp16, vectors, queries)
        print("\nsame, float16 codes (ivf-fp16, twice the memory):\n")
        print(table(["nprobe", "recall@10", "ms/query median", "p95"], rows))
    print()


def add_synthetic_pieces(index_dir: Path) -> None:
    """Give the current build of ``index_dir`` stored ColBERT pieces, as a build with
    TOKEN_STORE_MAX_CHUNKS above its size would have (8-bit; the size is printed): chunk c gets the real
    pieces of chunk c mod 10,000 of bench/latency.py's index, spans clipped to its own text. Written
    in place (bench only); serving then matches the question with them instead of asking the model."""
    import json

    from index.store.files import IndexStore
    from index.store.pieces import PIECE_CHUNKS_FILE, PIECES_FILE, PieceTable

    real_build = IndexStore(WORK / "index-10000").current_build()
    real_units = np.load(real_build / PIECE_CHUNKS_FILE)
    real = PieceTable.load(real_build, DIMENSION, len(real_units))
    assert real is not None, "bench/latency.py's index has no stored pieces"
    records = np.asarray(real.records)  # 0.34 GB
    build = IndexStore(index_dir).current_build()
    columns = np.load(build / "chunks.npy", mmap_mode="r")
    lengths = (columns[:, 2] - columns[:, 1]).astype(np.int64)
    n, m = len(lengths), len(real_units)
    units = np.zeros((n, 2), dtype=np.int64)
    written = 0
    with open(build / PIECES_FILE, "wb") as fh:
        for block in range(0, n, m):
            ids = np.arange(block, min(block + m, n))
            source = ids % m
            copy = np.concatenate(
                [records[real_units[u, 0] : real_units[u, 0] + real_units[u, 1]] for u in source]
            )
            limit = np.repeat(lengths[ids], real_units[source, 1])
            copy["start"] = np.minimum(copy["start"], limit)
            copy["end"] = np.minimum(copy["end"], limit)
            counts = real_units[source, 1]
            units[ids, 0] = written + np.concatenate([[0], np.cumsum(counts)[:-1]])
            units[ids, 1] = counts
            fh.write(copy.tobytes())
            written += len(copy)
    np.save(build / PIECE_CHUNKS_FILE, units)
    manifest = json.loads((build / "manifest.json").read_text())
    manifest["token_pieces"] = int(written)
    (build / "manifest.json").write_text(json.dumps(manifest))
    size = (build / PIECES_FILE).stat().st_size
    print(
        f"stored pieces: {written} records, {size / 1e9:.1f} GB ({size / n / 1000:.1f} kB a chunk)\n",
        flush=True,
    )


def _model_name() -> str:
    """The name the default embedder (``load_models``: MiniLM vectors + ColBERT pieces)
    gives itself, without loading the models: the one bench/latency.py's index was built with."""
    from index.store.files import IndexStore

    real_anchors()  # builds that index when missing
    return IndexStore(WORK / "index-10000").read_manifest().model


def real_recall(args) -> None:
    """Recall of the IVF index on real MiniLM vectors: the 10,000-chunk index, 300 held out as queries."""
    from index.store.vectors import build_vector_index

    vectors = real_anchors()
    order = np.random.default_rng(0).permutation(len(vectors))
    queries, base = vectors[order[:300]], np.ascontiguousarray(vectors[order[300:]])
    for nlist in (64, 128, 256):
        index = build_vector_index(base, kind="ivf-sq8", nlist=nlist)
        print(f"### Recall@10 vs exact on REAL MiniLM vectors: {len(base)} chunks of the generated corpus, "
              f"ivf-sq8 forced, nlist {nlist}, {len(queries)} held-out chunk vectors as queries\n")
        print(table(["nprobe", "recall@10", "ms/query median", "p95"], recall_table(index, base, queries)))
        print()


SERVE = r"""
import json, sys, time, os
from dataclasses import replace
sys.path.insert(0, {bench!r}); from bench._common import private_rss_mb, rss_mb
t0 = time.perf_counter()
from pathlib import Path
from bot.settings import Settings
from bot.service import CaseBot
from bot.render.terminal import render_answer
from bot.answer import Answer
from index.models.models import load_models
settings = Settings(corpus_dir=Path("/nonexistent"), index_dir=Path({index!r}),
                    model_cache_dir=Path({models!r}))
models = load_models(settings.model_choice())
models.warm_up()
t1 = time.perf_counter(); rss_model = rss_mb()
from bot.runtime import tune_for_questions; tune_for_questions()  # what `bot ask/chat/run` apply (bot/cli.py)
bot = CaseBot(settings, models)
from index.search.searcher import Searcher
t = time.perf_counter(); index = bot.store.load(models); store_s = time.perf_counter() - t
bot.index._searcher = bot.index._searcher_for(index)  # what CaseBot.open does, timed in two parts
t2 = time.perf_counter(); rss_loaded = rss_mb()
questions = json.loads({questions!r})
searcher = bot.searcher
# bench only: the same index and models without the cross-encoder (late interaction alone ranks)
plain = Searcher(searcher.index, models, replace(searcher.params, rerank_depth=0))
result = dict(model_s=t1 - t0, load_s=t2 - t1, store_s=store_s, rss_model=rss_model, rss_loaded=rss_loaded,
              kind=type(searcher.index.vector_index).__name__, pieces=searcher.index.pieces is not None,
              depth=searcher.params.rerank_depth)
for name, s in (("plain", plain), ("configured", searcher)):
    times = []
    for rep in range({repeats}):
        for q in questions:
            t = time.perf_counter(); render_answer(Answer.from_retrieval(s.search(q, 3)))
            times.append((time.perf_counter() - t) * 1000)
    result[name] = times
    result["rss_" + name] = rss_mb()
    result["anon_" + name] = private_rss_mb()
print(json.dumps(result))
"""


def questions(n: int = 40) -> list[str]:
    import random

    from bench.corpus import NAMES, NOUNS, ORGS, PLACES, VERBS

    rng = random.Random(11)
    return [f"Why did the {rng.choice(NOUNS)} in {rng.choice(PLACES)} say {rng.choice(ORGS)} was "
            f"{rng.choice(VERBS)} by {rng.choice(NAMES)}?" for _ in range(n)]


def serve(index_dir: Path, repeats: int, label: str) -> dict:
    code = SERVE.format(
        bench=str(Path(__file__).parent),
        root=str(ROOT),
        index=str(index_dir),
        models=str(MODELS),
        questions=json.dumps(questions()),
        repeats=repeats,
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["label"] = label
    return result


def serving_table(results: list[dict], repeats: int) -> None:
    rows = []
    depth = results[0]["depth"]
    for name, label in (("plain", "rerank_depth 0 (late interaction, no cross-encoder)"),
                        ("configured", f"as configured (cross-encoder reads {depth})")):
        times = [r[name] for r in results]
        first = [x for t in times for x in t[: len(t) // repeats]]
        again = [x for t in times for x in t[len(t) // repeats :]]
        rows.append([label, spread(first), spread(again), spread([r["rss_" + name] for r in results]),
                     spread([r["anon_" + name] for r in results])])
    print(
        table(
            [
                "ask + render",
                "ms, first time",
                "ms, repeated",
                "RSS after, MB",
                "of which private (anon), MB",
            ],
            rows,
        )
    )
    print()
    print(table(["serving process", "value"], [
        ["vector index", results[0]["kind"]],
        ["stored pieces", "yes" if results[0]["pieces"] else "no (the ColBERT model reads the candidates)"],
        ["imports + model load (embedder, cross-encoder), s", spread([r["model_s"] for r in results])],
        ["IndexStore.load, s", spread([r["store_s"] for r in results])],
        ["IndexStore.load + Searcher(...), s", spread([r["load_s"] for r in results])],
        ["RSS with the models, MB", spread([r["rss_model"] for r in results])],
        ["RSS with model + index, MB", spread([r["rss_loaded"] for r in results])],
    ]))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--chunks", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-build", action="store_true")
    parser.add_argument(
        "--pieces",
        action="store_true",
        help="store ColBERT pieces in the built index first (tens of GB at 1M chunks), as a build "
        "within TOKEN_STORE_MAX_CHUNKS would",
    )
    parser.add_argument(
        "--real", action="store_true", help="recall on the real vectors of bench/build.py's index"
    )
    args = parser.parse_args()
    if args.real:
        header("Recall of the IVF index on real MiniLM vectors")
        real_recall(args)
        return
    header(f"Scale: {args.chunks} chunks, synthetic vectors")
    if not args.skip_build:
        build(args)
    if args.pieces:
        add_synthetic_pieces(WORK / f"index-{args.chunks}")
    results = [
        serve(WORK / f"index-{args.chunks}", 2, f"{args.chunks} synthetic") for _ in range(args.repeats)
    ]
    print(f"### Serving {args.chunks} chunks (synthetic vectors and texts), {args.repeats} fresh processes, "
          f"{len(questions())} questions x 2 each\n")
    serving_table(results, 2)
    print()


if __name__ == "__main__":
    main()
