"""Behaviour of the paths that make casebot scale: the vector index chosen by size, its recall,
the columnar chunk table, and batched model calls for concurrent questions. No timings here:
bench/ measures speed (docs/performance.md)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from bot.service import CaseBot
from index.models.batching import BatchingEmbedder
from index.models.models import Models
from index.build import build_index
from index.store.files import IndexStore
from index.store.tables import ChunkTable
from index.types import Chunk, Document
from index.store.vectors import (EXACT_LIMIT, FLAT, IVF_SQ8, build_vector_index, choose_kind, index_kind,
                           search_many, search_vectors)
from tests.support import make_corpus, settings_for, wait_until


def clustered(n: int, dimension: int = 64, clusters: int = 50, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dimension))
    x = centres[rng.integers(0, clusters, n)] + 0.6 * rng.standard_normal((n, dimension))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def test_index_kind_is_exact_below_the_limit_and_ivf_from_it() -> None:
    assert choose_kind(0) == choose_kind(EXACT_LIMIT - 1) == FLAT
    assert choose_kind(EXACT_LIMIT) == choose_kind(10 * EXACT_LIMIT) == IVF_SQ8
    assert choose_kind(500, exact_limit=100) == IVF_SQ8
    with pytest.raises(ValueError, match="exact_limit"):
        choose_kind(10, exact_limit=0)
    assert index_kind(build_vector_index(clustered(300))) == FLAT
    assert index_kind(build_vector_index(np.zeros((0, 8), dtype=np.float32))) == FLAT


def test_quantised_ivf_keeps_recall_at_10_against_exact_search() -> None:
    vectors = clustered(20_000)
    queries = clustered(100, seed=1)
    exact = build_vector_index(vectors, kind=FLAT)
    approx = build_vector_index(vectors, kind=IVF_SQ8)
    assert index_kind(approx) == IVF_SQ8 and approx.nprobe >= 16
    _, truth = search_many(exact, queries, 10)
    _, found = search_many(approx, queries, 10)
    recall = np.mean([len(set(a) & set(t)) / 10 for a, t in zip(found.tolist(), truth.tolist())])
    assert recall >= 0.95
    scores, ids = search_vectors(approx, queries[0], 10)
    assert list(ids) == list(found[0]) and np.all(np.diff(scores) <= 1e-6)


def test_exact_search_of_one_query_leaves_the_threads_own_thread_count_alone() -> None:
    """One query runs on one OpenMP thread, and the calling thread's setting (shared with torch in
    that thread) is put back, so a build later run by the same thread still uses every core."""
    import faiss
    import torch

    faiss.omp_set_num_threads(2)
    vectors = np.random.default_rng(0).standard_normal((500, 16)).astype(np.float32)
    search_vectors(build_vector_index(vectors), vectors[0], 5)
    assert faiss.omp_get_max_threads() == 2
    assert torch.get_num_threads() == 2


def test_ivf_index_survives_the_store_round_trip_memory_mapped(tmp_path: Path) -> None:
    import faiss

    vectors = clustered(5_000)
    index = build_vector_index(vectors, kind=IVF_SQ8)
    faiss.write_index(index, str(tmp_path / "v.faiss"))
    loaded = faiss.read_index(str(tmp_path / "v.faiss"), faiss.IO_FLAG_MMAP)
    assert loaded.nprobe == index.nprobe
    assert search_many(loaded, vectors[:5], 10)[1].tolist() == search_many(index, vectors[:5], 10)[1].tolist()


def test_chunk_table_gives_back_every_chunk_exactly(tmp_path: Path) -> None:
    text_a = "First sentence. Second one!\n\nA lone paragraph with \udc80 a surrogate"
    text_b = "Page one text.\n\nPage two text."
    docs = [
        Document("a.md", "A", text_a, "h1"),
        Document("b.pdf", "B", text_b, "h2", page_starts=((0, 1), (16, 2))),
    ]
    chunks = [
        Chunk("a.md", 0, 27, 1, text_a[0:27], ((0, 15), (16, 27))),
        Chunk("a.md", 29, len(text_a), 2, text_a[29:], ()),
        Chunk("b.pdf", 0, 14, 1, text_b[0:14], ((0, 14),), page=1),
        Chunk("b.pdf", 16, 30, 2, text_b[16:30], ((16, 30),), page=2),
    ]
    ChunkTable.write(tmp_path, docs, chunks)
    table = ChunkTable.load(tmp_path, docs)
    assert len(table) == 4 and list(table) == chunks and table[-1] == chunks[-1] and table[1:3] == chunks[1:3]
    assert table.counts_by_document() == {"a.md": 2, "b.pdf": 2}
    with pytest.raises(IndexError):
        table[4]
    header = json.loads((tmp_path / "chunks.json").read_text())
    header["sentences"] += 1
    (tmp_path / "chunks.json").write_text(json.dumps(header))
    with pytest.raises(ValueError, match="sentences"):
        ChunkTable.load(tmp_path, docs)


class SlowFakeEmbedder:
    """Deterministic vectors from the text; each call takes a while, as a model call does."""

    name = "fake"
    dimension = 8

    def __init__(self) -> None:
        self.calls: list[int] = []

    def encode_passages(self, texts, progress=None):
        self.calls.append(len(texts))
        time.sleep(0.05)
        rows = [
            np.frombuffer(t.encode().ljust(8, b"_")[:8], dtype=np.uint8).astype(np.float32) + 1 for t in texts
        ]
        out = np.array(rows, dtype=np.float32).reshape(len(texts), 8)
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    def encode_queries(self, texts):
        return self.encode_passages(texts)


class GatedEmbedder(SlowFakeEmbedder):
    """Its first call waits for ``open``: what callers send meanwhile waits in the queue."""

    def __init__(self) -> None:
        super().__init__()
        self.open = threading.Event()
        self.entered = threading.Event()  # the first call has begun

    def encode_passages(self, texts, progress=None):
        self.entered.set()
        assert self.open.wait(30), "the gate was never opened"
        return super().encode_passages(texts, progress)


def test_concurrent_model_calls_are_batched_and_each_caller_gets_its_own_rows() -> None:
    inner = GatedEmbedder()
    batching = BatchingEmbedder(inner)
    batching.workers = 1  # one model thread: while it runs the first call, the 19 others wait for it
    texts = [f"question {i}" + "x" * (i % 7) for i in range(20)]
    results: dict[int, np.ndarray] = {}

    def ask(i: int) -> None:
        results[i] = batching.encode_queries([texts[i]])

    first = threading.Thread(target=ask, args=(0,))
    first.start()
    assert inner.entered.wait(10)  # the model thread runs the first question
    threads = [threading.Thread(target=ask, args=(i,)) for i in range(1, 20)]
    for t in threads:
        t.start()
    wait_until(lambda: batching._queue.qsize() == 19, 10)  # every other caller waits in the queue
    inner.open.set()
    for t in [first, *threads]:
        t.join()
    assert inner.calls == [1, 19]  # the first question alone, then every question that waited, at once
    for i, text in enumerate(texts):
        assert np.array_equal(results[i], SlowFakeEmbedder().encode_queries([text]))
    assert batching.encode_queries([]).shape == (0, 8)  # no text: no row, the model's width


def test_a_failing_model_call_reaches_every_waiting_caller_and_the_thread_lives_on() -> None:
    class Failing(SlowFakeEmbedder):
        def encode_queries(self, texts):
            if any("boom" in t for t in texts):
                raise RuntimeError("model failed")
            return super().encode_queries(texts)

    batching = BatchingEmbedder(Failing())
    with pytest.raises(RuntimeError, match="model failed"):
        batching.encode_queries(["boom"])
    assert batching.encode_queries(["fine"]).shape == (1, 8)


async def test_concurrent_async_questions_get_the_same_answers_as_sequential_ones(
    fast_casebot: CaseBot,
) -> None:
    casebot = fast_casebot
    questions = [
        "Why did Iran open a criminal case against Pavel Durov?",
        "How many monthly active users did Telegram have?",
        "What is Yarovaya's law?",
        "Who is the Iranian prosecutor general?",
        "What did Durov say on Twitter?",
        "How many channels are blocked every day?",
        "Which apps are banned in Iran?",
        "What is the recipe for a chocolate cake?",
    ]
    sequential = [casebot.ask(q) for q in questions]
    assert casebot._batching is None  # made by the first ask_async
    concurrent = await asyncio.gather(*(casebot.ask_async(q) for q in questions))
    for one, other in zip(sequential, concurrent):
        assert one.answered == other.answered
        assert [(p.doc_id, p.start, p.end, p.highlight) for p in one.passages] == \
               [(p.doc_id, p.start, p.end, p.highlight) for p in other.passages]
        assert [p.score for p in one.passages] == pytest.approx([p.score for p in other.passages], abs=1e-4)
    assert casebot._batching is not None
    assert casebot._batching[1].batches <= 2 * len(questions)  # never more model calls than alone


def test_an_index_over_the_limit_is_built_approximate_and_answers(
    tmp_path: Path,
    fast_models: Models,
    fast_reranker,  # noqa: ANN001
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import index.store.vectors as vectors

    monkeypatch.setattr(vectors, "EXACT_LIMIT", 10)  # the article has 16 chunks
    settings = settings_for(tmp_path)
    make_corpus(settings.corpus_dir)
    store = IndexStore(settings.index_dir)
    build_index(settings.corpus_dir, store, fast_models)
    assert store.read_manifest().vector_index == "IndexIVFScalarQuantizer"
    bot = CaseBot(settings, fast_models.replace(reranker=fast_reranker))
    bot.open(build_if_missing=False)
    answer = bot.ask("Why did Iran open a criminal case against Pavel Durov?")
    assert answer.answered and "Durov" in answer.passages[0].text


@pytest.mark.parametrize("damage", ["truncate-texts", "garbage-chunk-columns"])
def test_damaged_columnar_files_are_detected_with_a_rebuild_hint(
    tmp_path: Path, fast_models: Models, damage: str
) -> None:
    from index.errors import IndexCorrupt

    settings = settings_for(tmp_path)
    make_corpus(settings.corpus_dir)
    store = IndexStore(settings.index_dir)
    build_index(settings.corpus_dir, store, fast_models)
    build = store.current_build()
    assert build is not None
    path = build / ("texts.bin" if damage == "truncate-texts" else "chunks.npy")
    if damage == "truncate-texts":
        path.write_bytes(path.read_bytes()[:-10])
    else:
        path.write_bytes(b"\x00garbage{")
    with pytest.raises(IndexCorrupt, match="index build --full"):
        store.load(fast_models)


@pytest.mark.parametrize("old_format", [1, 2, 3])
def test_an_index_of_an_older_format_is_explained_in_one_line_and_rebuilt(
        tmp_path: Path, fast_models: Models, old_format: int) -> None:
    """What casebot wrote before format 4 (pieces without their title, embedding units) is not read: the
    format mismatch tells how to rebuild, and a build does so."""
    from index.errors import IndexCorrupt

    settings = settings_for(tmp_path)
    make_corpus(settings.corpus_dir)
    store = IndexStore(settings.index_dir)
    build_index(settings.corpus_dir, store, fast_models)
    build = store.current_build()
    assert build is not None
    manifest = json.loads((build / "manifest.json").read_text())
    old = {**manifest, "format": old_format, "unit_kind": "chunk/v2", "units": manifest["chunks"]}
    (build / "manifest.json").write_text(json.dumps(old))
    with pytest.raises(IndexCorrupt) as raised:
        store.load(fast_models)
    message = str(raised.value)
    assert f"has format {old_format}" in message and "index build --full" in message and "\n" not in message
    report = build_index(settings.corpus_dir, store, fast_models)
    assert (
        report.embedded == report.chunks > 0
        and store.load(fast_models).manifest.format == manifest["format"]
    )


def test_chunk_hashes_ending_in_zero_bytes_come_back_whole(tmp_path: Path) -> None:
    from index.store.tables import load_hashes, write_hashes

    hashes = [b"\x07" * 15 + b"\x00", b"\x01" + b"\x00" * 15, bytes(range(1, 17))]
    write_hashes(tmp_path / "hashes.npy", hashes)
    # an incremental build finds every one
    assert [bytes(h) for h in load_hashes(tmp_path / "hashes.npy").tolist()] == hashes


def test_read_rows_of_a_mapped_array_equal_its_slice(tmp_path: Path) -> None:
    """The searcher reads a few vectors per question with pread instead of through the mapping (which
    maps whole page-cache folios into the process); the rows must be exactly the slice's."""
    from index.store.tables import read_rows

    vectors = np.random.default_rng(1).standard_normal((50, 7)).astype(np.float32)
    np.save(tmp_path / "v.npy", vectors)
    mapped = np.load(tmp_path / "v.npy", mmap_mode="r")
    for first, last in ((0, 1), (3, 9), (45, 50), (48, 80), (50, 51), (7, 7)):
        rows = read_rows(mapped, first, last)
        assert rows.dtype == np.float32 and np.array_equal(rows, vectors[first:last])
    assert np.array_equal(read_rows(vectors, 2, 4), vectors[2:4])  # an ordinary array: a copy of the slice


def test_read_ranges_of_mapped_records_equal_their_slices(tmp_path: Path) -> None:
    """Word-piece records (a structured dtype) of a question's candidates, read with pread."""
    from index.store.tables import read_ranges
    from index.store.pieces import record_dtype

    records = np.zeros(30, dtype=record_dtype(5))
    records["code"] = np.arange(150).reshape(30, 5) % 120
    records["scale"], records["start"], records["end"] = np.arange(30) / 7, np.arange(30), np.arange(30) + 3
    records.tofile(tmp_path / "tokens.bin")
    mapped = np.memmap(tmp_path / "tokens.bin", dtype=records.dtype, mode="r", shape=(30,))
    firsts, counts = [4, 0, 20, 29, 12], [3, 2, 0, 5, 1]
    expected = np.concatenate([records[f : f + n] for f, n in zip(firsts, counts)])
    got = read_ranges(mapped, firsts, counts)
    assert got.dtype == records.dtype and got.tobytes() == expected.tobytes()
    assert len(read_ranges(mapped, [3], [0])) == 0


def test_largest_picks_the_same_chunks_with_torch_and_with_numpy() -> None:
    """The best BM25 chunks of a big index come from torch.topk, of a small one from argpartition:
    the same set either way (scores with ties and zeros, as BM25 gives)."""
    from index.search.candidates import TOPK_WITH_TORCH_ABOVE, largest

    rng = np.random.default_rng(3)
    values = np.zeros(TOPK_WITH_TORCH_ABOVE + 1000, dtype=np.float32)
    hit = rng.choice(len(values), 5000, replace=False)
    values[hit] = np.round(rng.gamma(2.0, 2.0, 5000), 1)  # rounded: ties below the top
    for k in (1, 10, 40):
        for array in (values, values[:1000]):  # torch, then numpy
            picked = largest(array, k)
            assert len(set(picked.tolist())) == k
            assert np.sort(array[picked]).tolist() == np.sort(array)[-k:].tolist()  # ties: any of equals
