"""Stored word-piece vectors (index.store.pieces): exact enough, incremental, shared safely, checked on load
(with the stand-in models: storage does not depend on what the model finds)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from bot.answer import Answer
from index.models.models import Models
from index.build import build_index
from index.errors import IndexCorrupt
from index.store.files import IndexStore
from index.store.pieces import PIECE_CHUNKS_FILE, PIECES_FILE, record_dtype
from index.search.searcher import SearchParams, Searcher
from tests.support import make_corpus, searcher_for
from tests.support import CountingPieces, counted

QUESTIONS = (
    "What did Iran's communications ministry demand from Telegram?",
    "How many people use Telegram in Iran?",
    "What did Durov say about weakening encryption?",
    "Which Russian law requires storing users' messages?",
)
EXTRA = ("---\ntitle: Court fine\ndate: 2017-10-16\n---\nA Moscow court fined Telegram 800,000 rubles for "
         "refusing to hand over encryption keys.\n\nThe company said it would appeal.\n")


def test_stored_pieces_match_the_model_and_the_vectors_match_encode(
    tmp_path: Path, fast_models: Models
) -> None:
    corpus = make_corpus(tmp_path / "corpus")
    store = IndexStore(tmp_path / "index")
    build_index(corpus, store, fast_models)
    index = store.load(fast_models)
    assert index.pieces is not None and index.manifest.token_pieces == index.pieces.live_records > 0
    texts = [chunk.text for chunk in index.chunks]
    # One model pass gave each chunk's vector too: the same as sentence-transformers' encode.
    expected = fast_models.vectors.encode_passages(texts)
    np.testing.assert_allclose(np.asarray(index.vectors), expected, atol=1e-5)
    titles = {d.doc_id: d.title for d in index.documents}
    contexts = [f"{titles[chunk.doc_id]}. " for chunk in index.chunks]
    # The model reads each chunk after its title; the title's pieces are stored with the span -1.
    fresh = fast_models.pieces.encode_tokens([c + t for c, t in zip(contexts, texts)])
    for chunk, expected in enumerate(fresh):
        stored = index.pieces.get(chunk)
        in_title = expected.spans[:, 0] < len(contexts[chunk])
        shifted = expected.spans[~in_title] - len(contexts[chunk])
        np.testing.assert_array_equal(stored.spans[~in_title], shifted)
        assert (stored.spans[in_title] == -1).all() and in_title.any()
        assert all(texts[chunk][s:e].strip() for s, e in stored.spans[~in_title])
        # 8-bit storage: every dot product within 0.01 of the float32 one.
        error = np.abs(stored.vectors @ expected.vectors.T - expected.vectors @ expected.vectors.T).max()
        assert error < 0.01, (chunk, error)


def test_questions_cost_one_model_pass_and_rank_as_with_the_model(
    tmp_path: Path, fast_models: Models
) -> None:
    """Oracle: the same index without stored pieces, re-scoring with the model at question time."""
    corpus = make_corpus(tmp_path / "corpus", {"fine.md": EXTRA})
    stored_store, model_store = IndexStore(tmp_path / "stored"), IndexStore(tmp_path / "model")
    build_index(corpus, stored_store, fast_models)
    build_index(corpus, model_store, fast_models, piece_limit=0)
    assert model_store.load(fast_models).pieces is None
    pieces = CountingPieces(fast_models.pieces)
    stored = Searcher(stored_store.load(fast_models), Models.of(fast_models.vectors, pieces),
                      SearchParams(rerank_depth=0))
    oracle = searcher_for(model_store.load(fast_models), fast_models)
    for question in QUESTIONS:
        pieces.read.clear()
        ours, theirs = stored.rank(question), oracle.rank(question)
        assert pieces.read == [question]  # the question only: no candidate is read by the model
        by_chunk = {r.chunk: r.score for r in theirs}
        assert max(abs(r.score - by_chunk[r.chunk]) for r in ours) < 0.01
        # The same order, except that two chunks whose scores are within the 8-bit error may swap.
        for ours_r, theirs_r in zip(ours[:3], theirs[:3]):
            assert ours_r.chunk == theirs_r.chunk or abs(by_chunk[ours_r.chunk] - theirs_r.score) < 2e-3, (
                question
            )
        expected = {p.text: p.highlight for p in oracle.search(question, 4).passages}
        for passage in stored.search(question, 3).passages:
            assert expected[passage.text] == passage.highlight, question


def test_incremental_build_reads_only_new_text_and_appends_only_its_pieces(
        tmp_path: Path, fast_models: Models) -> None:
    corpus = make_corpus(tmp_path / "corpus")
    store = IndexStore(tmp_path / "index")
    counting, read = counted(fast_models)
    build_index(corpus, store, counting)
    before = store.load(fast_models)
    assert before.pieces is not None
    old_bytes = (before.path / PIECES_FILE).read_bytes()
    old_table = np.array(before.pieces.chunks)

    (corpus / "fine.md").write_text(EXTRA, encoding="utf-8")
    read.clear()
    report = build_index(corpus, store, counting)
    after = store.load(fast_models)
    assert after.pieces is not None
    new_texts = [
        after.chunks[i].text for i in range(len(after.chunks)) if after.chunks[i].doc_id == "fine.md"
    ]
    # Each new chunk is read twice (its vector; its pieces, after its document's title), and nothing else is.
    read_for_pieces = [f"Court fine. {text}" for text in new_texts]
    assert report.embedded == 2 and sorted(read) == sorted(new_texts + read_for_pieces)
    new_bytes = (after.path / PIECES_FILE).read_bytes()
    assert new_bytes[: len(old_bytes)] == old_bytes  # appended, not rewritten
    appended = (len(new_bytes) - len(old_bytes)) // record_dtype(fast_models.dimension).itemsize
    new_chunks = [c for c in range(len(after.chunks)) if after.chunks[c].doc_id == "fine.md"]
    assert appended == sum(int(after.pieces.chunks[c, 1]) for c in new_chunks) > 0
    # Every unchanged chunk points at its old records.
    old_rows = {tuple(r) for r in old_table.tolist()}
    assert all(tuple(after.pieces.chunks[c].tolist()) in old_rows
               for c in range(len(after.chunks)) if c not in new_chunks)
    # And the incremental index answers exactly like a full build of the same corpus.
    full = IndexStore(tmp_path / "full")
    build_index(corpus, full, fast_models, full=True)
    for question in QUESTIONS:
        ours = Answer.from_retrieval(searcher_for(after, fast_models).search(question, 3)).to_json()
        theirs = Answer.from_retrieval(
            searcher_for(full.load(fast_models), fast_models).search(question, 3)
        ).to_json()
        assert _without_scores(ours) == _without_scores(theirs), question
        # Batches of other lengths pad differently: the same vectors to within float rounding.
        assert [p["score"] for p in ours["passages"]] == pytest.approx(
            [p["score"] for p in theirs["passages"]], abs=1e-5
        )


def _without_scores(answer: dict) -> dict:
    return {**answer, "passages": [{k: v for k, v in p.items() if k != "score"} for p in answer["passages"]]}


def test_a_file_mostly_of_deleted_pieces_is_compacted(tmp_path: Path, fast_models: Models) -> None:
    big = "\n\n".join(f"Paragraph {i} about the Roskomnadzor registry and the court in Moscow, case {i}."
                      for i in range(150))
    corpus = make_corpus(tmp_path / "corpus", {"big.md": big})
    store = IndexStore(tmp_path / "index")
    build_index(corpus, store, fast_models)
    (corpus / "big.md").unlink()
    build_index(corpus, store, fast_models)
    index = store.load(fast_models)
    assert index.pieces is not None
    assert len(index.pieces.records) == index.pieces.live_records  # no dead records kept
    assert index.pieces.chunks[:, 0].min() == 0


def test_a_torn_append_is_never_read_and_the_next_build_recovers(
    tmp_path: Path, fast_models: Models
) -> None:
    """What a build killed while appending leaves: bytes after the last record the index uses."""
    corpus = make_corpus(tmp_path / "corpus")
    store = IndexStore(tmp_path / "index")
    build_index(corpus, store, fast_models)
    current = store.current_build()
    assert current is not None
    expected = [searcher_for(store.load(fast_models), fast_models).search(q, 3) for q in QUESTIONS]
    itemsize = record_dtype(fast_models.dimension).itemsize
    with open(current / PIECES_FILE, "ab") as fh:  # two whole garbage records and half of a third
        fh.write(os.urandom(itemsize * 2 + itemsize // 2))
    assert [
        searcher_for(store.load(fast_models), fast_models).search(q, 3) for q in QUESTIONS
    ] == expected

    (corpus / "fine.md").write_text(EXTRA, encoding="utf-8")
    build_index(corpus, store, fast_models)
    index = store.load(fast_models)
    assert (
        index.pieces is not None
        and len(index.pieces.records) * itemsize == (index.path / PIECES_FILE).stat().st_size
    )
    answer = searcher_for(index, fast_models).search("How much was Telegram fined by the Moscow court?", 3)
    assert answer.answered and answer.passages[0].doc_id == "fine.md"


@pytest.mark.parametrize("damage", ["truncate-tokens", "delete-table", "delete-tokens"])
def test_damaged_piece_files_are_detected_with_a_rebuild_hint(
    tmp_path: Path, fast_models: Models, damage: str
) -> None:
    corpus = make_corpus(tmp_path / "corpus")
    store = IndexStore(tmp_path / "index")
    build_index(corpus, store, fast_models)
    build = store.current_build()
    assert build is not None
    if damage == "truncate-tokens":
        os.truncate(build / PIECES_FILE, (build / PIECES_FILE).stat().st_size // 2)
    elif damage == "delete-table":
        (build / PIECE_CHUNKS_FILE).unlink()
    else:
        (build / PIECES_FILE).unlink()
    with pytest.raises(IndexCorrupt, match="index build --full"):
        store.load(fast_models)
    build_index(corpus, store, fast_models, full=True)
    assert store.load(fast_models).pieces is not None
