"""Sweep index.crosslingual's CENTER and SCALE on the tuning questions of every direction.

    PYTHONPATH=. python bench/calibrate_languages.py [--corpus tests/eval/case/corpus]
        [--questions tests/eval/case/questions.jsonl tests/eval/case/languages.jsonl]

Builds a throw-away index of the corpus, asks each question once with every model (the English
pairs' scores do not depend on the two numbers), then replays the ranking, the passage selection and
abstention for each (CENTER, SCALE) and prints recall@1 / recall@3 per direction and the off-topic
questions declined. The blind files are never read here.
"""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from index import crosslingual
from index.abstention import THRESHOLD
from index.build import build_index
from index.embed import load_embedder
from index.language import question_language
from index.passages import Scored, select
from index.rerank import of_the_time, years
from index.retrieval_models import CrossEncoder
from index.search import SearchParams, Searcher
from index.store import IndexStore

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Asked:
    direction: str
    gold: list[str]
    doc: str | None
    fixed: list[Scored]  # English pairs: scored by the English models
    across: list[tuple[Scored, float, bool]]  # other pairs: (scored, cosine, of the asked year)
    declined_by_name: bool


def replay(asked: Asked, searcher: Searcher, center: float, scale: float) -> tuple[int | None, bool]:
    """(rank of the first passage holding a gold span, or None; answered)."""
    threshold = THRESHOLD["cross-encoder"]
    bonus = searcher.params.year_bonus
    moved = []
    for scored, cosine, of_year in asked.across:
        logit = scale * (cosine - center) + threshold
        moved.append(replace(scored, score=logit + bonus * of_year, logit=logit))
    ranked = sorted(asked.fixed + moved, key=lambda s: (-s.score, s.chunk))
    judged = [s.logit for s in ranked if s.logit is not None]
    best = max(judged) if judged else float("-inf")
    if asked.declined_by_name or best < threshold:
        return None, False
    chunks = searcher.index.chunks
    for position, s in enumerate(select(ranked, chunks, 3, threshold, searcher.params.per_document), start=1):
        chunk = chunks[s.chunk]
        if (asked.doc is None or chunk.doc_id == asked.doc) and any(g in chunk.text for g in asked.gold):
            return position, True
    return None, True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=ROOT / "tests/eval/case/corpus")
    parser.add_argument("--questions", type=Path, nargs="+",
                        default=[ROOT / "tests/eval/case/questions.jsonl", ROOT / "tests/eval/case/languages.jsonl"])
    args = parser.parse_args()
    embedder = load_embedder("minilm")
    with tempfile.TemporaryDirectory() as tmp:
        store = IndexStore(Path(tmp))
        build_index(args.corpus, store, embedder, full=True)
        searcher = Searcher(store.load(embedder), embedder, embedder.pieces, CrossEncoder(),  # type: ignore[attr-defined]
                            SearchParams(), embedder.multilingual)  # type: ignore[attr-defined]
        items: list[Asked] = []
        for path in args.questions:
            for line in path.read_text("utf-8").splitlines():
                if not line.strip():
                    continue
                data = json.loads(line)
                if data.get("kind") == "unanswerable":
                    continue
                question = data["q"]
                language = question_language(question)
                direction = data.get("direction") or "en→en"
                if not data.get("gold"):
                    direction = f"{language} off-topic"
                ranked = searcher.rank(question)
                fixed, across = [], []
                asked_years = years(question)
                for s in ranked:
                    document = searcher._document_of(s.chunk)
                    if crosslingual.english_pair(language, document) or searcher.multilingual is None:
                        fixed.append(s)
                    else:
                        chunk = searcher.index.chunks[s.chunk]
                        across.append((s, s.match, of_the_time(asked_years, chunk, document)))
                by_name = language == "en" and bool(searcher.unknown_terms(question))
                items.append(Asked(direction, data.get("gold") or [], data.get("doc"), fixed, across, by_name))
    directions = sorted({a.direction for a in items})
    print("center scale  " + "  ".join(f"{d:>14}" for d in directions))
    for center, scale in itertools.product(np.arange(0.70, 0.86, 0.02), (10.0, 20.0, 40.0, 60.0, 80.0)):
        cells = []
        for d in directions:
            group = [a for a in items if a.direction == d]
            results = [replay(a, searcher, float(center), scale) for a in group]
            if d.endswith("off-topic"):
                cells.append(f"declined {sum(not ok for _, ok in results)}/{len(group)}")
            else:
                r1 = sum(r == 1 for r, _ in results) / len(group)
                r3 = sum(r is not None and r <= 3 for r, _ in results) / len(group)
                cells.append(f"{r1:.2f}/{r3:.2f}")
        print(f"{center:.2f} {scale:5.0f}  " + "  ".join(f"{c:>14}" for c in cells), flush=True)


if __name__ == "__main__":
    main()
