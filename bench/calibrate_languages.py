"""Sweep the numbers of index.search.crosslingual and index.search.answer_language on the tuning questions.

    PYTHONPATH=. python bench/calibrate_languages.py [--corpus tests/eval/case/corpus]
        [--questions tests/eval/case/languages.jsonl] [--english tests/eval/case/questions.jsonl]
        [--across 0.78] [--within 0.81] [--first 0.04 0.05 0.06] [--include 0.02 0.03]
        [--use-weight 0 0.5 1] [--named 0.05 0.1]

Builds a throw-away index of the corpus, then for each (across, within) pair of centres ranks every
question once with the real models, and for each (first, include, USE weight, name weight) of the
language decision replays the answers from those rankings (the decision runs after the ranking),
printing recall@1 / recall@3 / right passage anywhere in the answer per direction, the English
questions' recall@1 / recall@3 (which must not lose more than 0.01), and the off-topic questions
declined. The blind files are never read here.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
from pathlib import Path

from bot.answer import Answer
from bot.evaluation import evaluate, load_questions
from bot.runtime import tune_for_questions
from index.search import answer_language, crosslingual
from index.build import build_index
from index.models.models import ModelChoice, load_models
from index.models.retrieval_models import CrossEncoder
from index.search.searcher import SearchParams, Searcher
from index.store.files import IndexStore

ROOT = Path(__file__).resolve().parents[1]
CASE = ROOT / "tests/eval/case"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, default=CASE / "corpus")
    parser.add_argument("--questions", type=Path, default=CASE / "languages.jsonl")
    parser.add_argument("--english", type=Path, default=CASE / "questions.jsonl")
    parser.add_argument("--across", type=float, nargs="+", default=[crosslingual.CENTER["across"]])
    parser.add_argument("--within", type=float, nargs="+", default=[crosslingual.CENTER["within"]])
    parser.add_argument("--first", type=float, nargs="+", default=[answer_language.FIRST])
    parser.add_argument("--include", type=float, nargs="+", default=[answer_language.INCLUDE])
    parser.add_argument("--use-weight", type=float, nargs="+", default=[answer_language.USE_WEIGHT])
    parser.add_argument("--named", type=float, nargs="+", default=[answer_language.NAMED])
    args = parser.parse_args()
    tune_for_questions()
    questions = load_questions(args.questions)
    english = load_questions(args.english) if args.english else []
    groups = sorted({q.group for q in questions if q.group})
    models = load_models(ModelChoice(reranker=False, question_runtime="torch"))
    with tempfile.TemporaryDirectory() as tmp:
        store = IndexStore(Path(tmp))
        build_index(args.corpus, store, models, full=True)
        searcher = Searcher(store.load(models), models.replace(reranker=CrossEncoder()), SearchParams())
        print("across within first include USE named  " + "  ".join(f"{g:>16}" for g in groups)
              + "  English r@1/r@3  off-topic declined")
        for across, within in itertools.product(args.across, args.within):
            crosslingual.CENTER.update(across=across, within=within)
            ranked = {}
            rank = searcher._rank  # the ranking does not depend on the decision: once per question

            def cached(question: str, language: str = "en"):  # noqa: ANN202
                if question not in ranked:
                    ranked[question] = rank(question, language)
                return ranked[question]

            searcher._rank = cached  # type: ignore[method-assign]
            for first, include, weight, named in itertools.product(args.first, args.include, args.use_weight,
                                                                   args.named):
                answer_language.FIRST, answer_language.INCLUDE = first, include
                answer_language.USE_WEIGHT, answer_language.NAMED = weight, named
                answers = {q.question: Answer.from_retrieval(searcher.search(q.question, 3))
                           for q in questions + english}
                cells = []
                for group in groups:
                    report = evaluate([q for q in questions if q.group == group], answers.__getitem__)
                    cells.append(f"{report.recall_at_1:.2f}/{report.recall_at_3:.2f}/{report.in_answer:.2f}")
                off = evaluate([q for q in questions + english if not q.on_topic], answers.__getitem__)
                declined = round(off.off_topic_declined * off.off_topic)
                own = evaluate(english, answers.__getitem__) if english else None
                print(f"{across:6.2f} {within:6.2f} {first:5.3f} {include:7.3f} {weight:3.1f} {named:5.3f}  "
                      + "  ".join(f"{c:>16}" for c in cells)
                      + (f"  {own.recall_at_1:.3f}/{own.recall_at_3:.3f}" if own else "")
                      + f"  {declined} of {off.off_topic}", flush=True)
            searcher._rank = rank  # type: ignore[method-assign]


if __name__ == "__main__":
    main()
