"""Build throughput against the bare MiniLM ``model.encode``, and incremental rebuild costs.

    python -m bench.build [--documents 1000 --paragraphs 20] [--repeats 2] [--workers 1,2]
                          [--incremental] [--designs 2000]

1. Full build of a generated corpus (bench/corpus.py) next to the bare MiniLM ``model.encode`` of the same
   chunk texts (issue 24's yardstick), in the same process, alternating which runs first; the build with
   each count of model passes at once (index.passes.WORKERS).
   ratio = raw encode time / build time (1.0 = the build costs what MiniLM's encode alone costs).
2. ``--incremental``: a build that finds nothing changed; a build after adding one document (with the
   model time for that document's chunks alone measured right after); the count of texts sent to
   the vectors' model proves that no unchanged chunk is re-embedded.
3. ``--designs N``: model time of the embedding-unit designs on the texts of N chunks (chunk
   only, sentences only, sentences + chunk), side by side, and the build ratio each implies.
"""

from __future__ import annotations

import argparse
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bench._common import WORK, header, spread, table, timed
from bench.corpus import generate

from index import passes
from index.build import build_index
from index.ingest.chunk import chunk_document
from index.models.embed import SentenceTransformerEmbedder
from index.models.models import ModelChoice, Models, load_models
from index.ingest.documents import scan_corpus
from index.store.files import IndexStore


class CountingEmbedder:
    """Wraps an embedder and counts the texts sent to the model."""

    def __init__(self, inner: SentenceTransformerEmbedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dimension = inner.dimension
        self.count = 0
        self.texts: list[str] = []

    def encode_passages(self, texts: Sequence[str], progress=None) -> np.ndarray:
        self.count += len(texts)
        self.texts.extend(texts)
        return self.inner.encode_passages(texts, progress)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.encode_queries(texts)



def unit_texts(chunks, design: str) -> list[str]:
    texts = []
    for chunk in chunks:
        sentences = ([chunk.text[s - chunk.start : e - chunk.start] for s, e in chunk.sentences]
                     or [chunk.text])
        if design == "chunk":
            texts.append(chunk.text)
        elif design == "sentence":
            texts.extend(sentences)
        else:  # sentence+chunk, the committed design before chunk/v2: sentences (when > 1) and the chunk
            texts.extend((sentences if len(sentences) > 1 else []) + [chunk.text])
    return texts


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--paragraphs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument(
        "--designs", type=int, default=0, help="chunks for the unit-design comparison (0: skip)"
    )
    parser.add_argument("--workers", default="1,2", help="model passes at once to compare (index.passes)")
    parser.add_argument("--incremental", action="store_true", help="also the incremental builds")
    parser.add_argument(
        "--skip-build", action="store_true", help="skip the full builds and the incremental ones"
    )
    parser.add_argument(
        "--incremental-only", action="store_true", help="only the incremental builds (index kept from a run)"
    )
    args = parser.parse_args()
    corpus = WORK / f"corpus-{args.documents}x{args.paragraphs}"
    if not corpus.is_dir():
        generate(corpus, args.documents, args.paragraphs)
    index_dir = WORK / "index-build"
    models = load_models(ModelChoice(reranker=False, question_runtime="torch"))  # what a build runs
    minilm: SentenceTransformerEmbedder = models.vectors  # type: ignore[assignment]

    def raw(some: list[str]) -> None:  # the bare MiniLM model.encode of the texts: the yardstick
        minilm.encode_raw(some)

    documents = scan_corpus(corpus).documents
    chunks = [c for d in documents for c in chunk_document(d)]
    texts = [c.text for c in chunks]
    header(
        f"Build throughput: {len(documents)} documents, {len(chunks)} chunks (generated, bench/corpus.py), "
        "one vector per chunk"
    )
    raw(texts[:64])  # warm the models

    if args.incremental_only:
        if not (index_dir / "current").exists():
            build_index(corpus, IndexStore(index_dir), models)
        incremental(corpus, index_dir, models, raw, args)
    elif not args.skip_build:
        workers = [int(w) for w in args.workers.split(",")]
        raw_times: list[float] = []
        build_times: dict[int, list[float]] = {w: [] for w in workers}
        ratios: dict[int, list[float]] = {w: [] for w in workers}
        phases: dict[int, list[dict[str, float]]] = {w: [] for w in workers}
        for repeat in range(args.repeats):
            order = ["raw", *workers] if repeat % 2 == 0 else [*workers, "raw"]
            for what in order:
                if what == "raw":
                    seconds, _ = timed(lambda: raw(texts))
                    raw_times.append(seconds)
                    continue
                passes.WORKERS = int(what)
                shutil.rmtree(index_dir, ignore_errors=True)
                seconds, report = timed(lambda: build_index(corpus, IndexStore(index_dir), models, full=True))
                build_times[int(what)].append(seconds)
                phases[int(what)].append(report.timings)
            for w in workers:
                ratios[w].append(raw_times[-1] / build_times[w][-1])
                print(f"  repeat {repeat + 1}: raw {raw_times[-1]:.1f} s, build ({w} pass(es) at once) "
                      f"{build_times[w][-1]:.1f} s, phases "
                      f"{', '.join(f'{k} {v:.2f}' for k, v in phases[w][-1].items())}", flush=True)
        rows = [["raw: bare MiniLM model.encode of the chunk texts", spread(raw_times),
                 spread([len(texts) / t for t in raw_times])]]
        for w in workers:
            rows.append([f"index build --full, {w} model pass(es) at once", spread(build_times[w]),
                         spread([len(texts) / t for t in build_times[w]])])
            for phase in phases[w][0]:
                rows.append([f"  of which {phase}", spread([p[phase] for p in phases[w]]), ""])
        print()
        print(table(["step", "seconds", "chunks/s"], rows))
        for w in workers:
            print(f"\nthroughput ratio raw/build, {w} pass(es) at once (same repeat): {spread(ratios[w])}"
                  "  (goal >= 0.5, issue 24)")
        print()
        if args.incremental:
            incremental(corpus, index_dir, models, raw, args)
    elif not args.skip_build:
        raw_times, build_times, ratios, phases = [], [], [], []
        for repeat in range(args.repeats):
            order = ("raw", "build") if repeat % 2 == 0 else ("build", "raw")
            for what in order:
                if what == "raw":
                    seconds, _ = timed(lambda: raw(texts))
                    raw_times.append(seconds)
                else:
                    shutil.rmtree(index_dir, ignore_errors=True)
                    seconds, report = timed(
                        lambda: build_index(corpus, IndexStore(index_dir), models, full=True)
                    )
                    build_times.append(seconds)
                    phases.append(report.timings)
            ratios.append(raw_times[-1] / build_times[-1])
            print(f"  repeat {repeat + 1}: raw {raw_times[-1]:.1f} s, build {build_times[-1]:.1f} s, "
                  f"phases {', '.join(f'{k} {v:.2f}' for k, v in phases[-1].items())}", flush=True)
        rows = [
            ["raw: bare MiniLM model.encode of the chunk texts", spread(raw_times),
             spread([len(texts) / t for t in raw_times])],
            ["index build --full", spread(build_times), spread([len(texts) / t for t in build_times])],
        ]
        for phase in phases[0]:
            rows.append([f"  of which {phase}", spread([p[phase] for p in phases]), ""])
        print()
        print(table(["step", "seconds", "chunks/s"], rows))
        print(f"\nthroughput ratio build/raw (same repeat): {spread(ratios)}  (goal >= 0.5, issue 24)\n")
        incremental(corpus, index_dir, models, raw, args)

    if args.designs:
        designs(chunks[: args.designs], minilm, args.repeats)


def incremental(corpus: Path, index_dir: Path, models: Models, raw, args) -> None:
    store = IndexStore(index_dir)
    build_index(corpus, store, models)  # in step with the corpus before timing anything
    counting = CountingEmbedder(models.vectors)  # type: ignore[arg-type]
    counted = Models.of(counting, models.pieces, models.multilingual, models.aligned)
    rows = []
    nothing = []
    for _ in range(5):
        counting.count = 0
        seconds, report = timed(lambda: build_index(corpus, store, counted))
        assert report.up_to_date and counting.count == 0
        nothing.append((seconds, report.timings))
    rows.append(["touch nothing", spread([s for s, _ in nothing]), "0", "-",
                 ", ".join(f"{k} {v:.2f}" for k, v in nothing[0][1].items())])
    added_times, embed_times, extra = [], [], []
    new_doc = None
    for repeat in range(args.repeats + 1):
        number = args.documents + repeat
        (new_doc,) = generate(corpus, 1, args.paragraphs, start=number)
        counting.count = 0
        counting.texts.clear()
        seconds, report = timed(lambda: build_index(corpus, store, counted))
        doc_chunks = [c.text for d in scan_corpus_one(new_doc) for c in chunk_document(d)]
        embed_seconds, _ = timed(lambda: raw(doc_chunks))  # MiniLM's time for its chunks
        # Only texts of the new document went to the vectors' model (a paragraph the corpus already holds
        # word for word reuses its vector), and each of them once.
        assert counting.count == report.embedded == len(set(counting.texts)) <= len(doc_chunks)
        assert set(counting.texts) <= set(doc_chunks), "an unchanged chunk was re-embedded"
        added_times.append(seconds)
        embed_times.append(embed_seconds)
        extra.append(seconds - embed_seconds)
        last = report
        new_doc.unlink()
        build_index(corpus, store, models)  # back to the original corpus
    rows.append([f"add one document ({len(doc_chunks)} chunks)", spread(added_times), str(last.embedded),
                 spread(embed_times), ", ".join(f"{k} {v:.2f}" for k, v in last.timings.items())])
    print(
        table(
            [
                "incremental build",
                "seconds",
                "texts embedded",
                "model time for the new text",
                "phases (s), one run",
            ],
            rows,
        )
    )
    print(f"\nadd one document minus its model time: {spread(extra)} s  (goal <= 1 s); every text embedded "
          f"is one of the new document's {len(doc_chunks)} chunks (asserted); {last.reused} vectors reused\n")


def scan_corpus_one(path: Path):
    from index.ingest.documents import read_documents

    return list(read_documents(path, path.name).documents)


def designs(chunks, models: SentenceTransformerEmbedder, repeats: int) -> None:
    names = ("chunk", "sentence", "sentence+chunk")
    texts = {name: unit_texts(chunks, name) for name in names}
    times: dict[str, list[float]] = {name: [] for name in names}
    for repeat in range(repeats):
        for name in names if repeat % 2 == 0 else reversed(names):
            seconds, _ = timed(lambda: models.encode_raw(texts[name]))
            times[name].append(seconds)
    base = times["chunk"]
    rows = []
    for name in names:
        rel = [t / b for t, b in zip(times[name], base)]
        rows.append([name, len(texts[name]), sum(map(len, texts[name])), spread(times[name]), spread(rel),
                     f"{1 / np.median(rel):.2f}"])
    print(table(["unit design", "texts", "characters", "model seconds", "model time / chunk-only",
                 "best build ratio it allows"], rows))
    print(f"\n({len(chunks)} chunks; a build embeds every unit text, so its ratio to raw encode of the chunk "
          f"texts is at most 1 / (model time / chunk-only))\n")


if __name__ == "__main__":
    main()
