"""Sweep index.crosslingual's two centres on the tuning questions of every language direction.

    PYTHONPATH=. python bench/calibrate_languages.py [--corpus tests/eval/case/corpus]
        [--questions tests/eval/case/languages.jsonl] [--across 0.76 0.78 0.80] [--within 0.79 0.81 0.83]

Builds a throw-away index of the corpus, then for each (across, within) pair asks every question
with the real models and prints recall@1 / recall@3 / right passage anywhere in the answer per
direction, and the off-topic questions declined. The blind file is never read here.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
from pathlib import Path

from bot.answer import Answer
from bot.evaluation import evaluate, load_questions
from index import crosslingual
from index.build import build_index
from index.embed import load_embedder
from index.retrieval_models import CrossEncoder
from index.search import SearchParams, Searcher
from index.store import IndexStore

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, default=ROOT / "tests/eval/case/corpus")
    parser.add_argument("--questions", type=Path, default=ROOT / "tests/eval/case/languages.jsonl")
    parser.add_argument("--across", type=float, nargs="+", default=[0.76, 0.78, 0.80])
    parser.add_argument("--within", type=float, nargs="+", default=[0.79, 0.81, 0.83])
    args = parser.parse_args()
    questions = load_questions(args.questions)
    groups = sorted({q.group for q in questions if q.group})
    embedder = load_embedder("minilm")
    with tempfile.TemporaryDirectory() as tmp:
        store = IndexStore(Path(tmp))
        build_index(args.corpus, store, embedder, full=True)
        searcher = Searcher(store.load(embedder), embedder, embedder.pieces, CrossEncoder(),  # type: ignore[attr-defined]
                            SearchParams(), embedder.multilingual)  # type: ignore[attr-defined]
        print("across within  " + "  ".join(f"{g:>16}" for g in groups) + "  off-topic declined")
        for across, within in itertools.product(args.across, args.within):
            crosslingual.CENTER.update(across=across, within=within)
            answers = {q.question: Answer.from_retrieval(searcher.search(q.question, 3)) for q in questions}
            cells = []
            for group in groups:
                report = evaluate([q for q in questions if q.group == group], answers.__getitem__)
                cells.append(f"{report.recall_at_1:.2f}/{report.recall_at_3:.2f}/{report.in_answer:.2f}")
            off = evaluate([q for q in questions if not q.on_topic], answers.__getitem__)
            declined = round(off.off_topic_declined * off.off_topic)
            print(f"{across:6.2f} {within:6.2f}  " + "  ".join(f"{c:>16}" for c in cells)
                  + f"  {declined} of {off.off_topic}", flush=True)


if __name__ == "__main__":
    main()
