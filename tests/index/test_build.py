"""Incremental builds, atomic swaps, model mismatches and damaged indexes (the stand-in models: what is
tested is what a build stores and reuses, not what the model finds)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from bot.service import CaseBot
from index.models.models import Models
from index.text import lexical
from index.build import build_index
from index.store.builds import is_intact
from index.errors import CorpusError, IndexCorrupt, IndexMissing, ModelMismatch
from index.store.files import IndexStore, stored_terms
from tests.support import EXTRA, REPO, CountingEmbedder, counted, make_corpus, renamed, settings_for

@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return make_corpus(tmp_path / "corpus")


@pytest.fixture
def store(tmp_path: Path) -> IndexStore:
    return IndexStore(tmp_path / "index")


def test_rebuild_skips_unchanged_documents(corpus: Path, store: IndexStore, fast_models: Models) -> None:
    counting, read = counted(fast_models)
    first = build_index(corpus, store, counting)
    assert first.embedded == first.chunks > 0 and first.reused == 0
    read.clear()

    again = build_index(corpus, store, counting)
    assert again.up_to_date and read == []

    (corpus / "fine.md").write_text(EXTRA, encoding="utf-8")
    added = build_index(corpus, store, counting)
    assert added.added == ("fine.md",)
    assert added.reused == first.chunks, "every chunk of the unchanged article is reused"
    assert all("Moscow court" in t or "appeal" in t for t in read)
    assert 2 * added.embedded == len(read) > 0  # each new chunk read twice: its vector, its pieces


def test_rebuild_tokenizes_only_new_chunks_and_scores_words_like_a_full_build(
    corpus: Path, store: IndexStore, fast_models: Models, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_index(corpus, store, fast_models)
    (corpus / "fine.md").write_text(EXTRA, encoding="utf-8")
    tokenized: list[str] = []
    real_terms_of = lexical.terms_of
    monkeypatch.setattr(
        lexical, "terms_of", lambda text, *words: tokenized.append(text) or real_terms_of(text, *words)
    )
    build_index(corpus, store, fast_models)
    monkeypatch.undo()
    assert tokenized and all("Moscow court" in t or "appeal" in t for t in tokenized), "only the new chunks"

    full_store = IndexStore(tmp_path / "full")
    build_index(corpus, full_store, fast_models, full=True)
    incremental, full = store.load(fast_models), full_store.load(fast_models)
    assert [c.text for c in incremental.chunks] == [c.text for c in full.chunks]
    for question in ("Moscow court fine rubles", "Durov encryption keys FSB", "Iran prosecutor Telegram"):
        assert np.allclose(lexical.bm25_scores(incremental.bm25, question, len(full.chunks)),
                           lexical.bm25_scores(full.bm25, question, len(full.chunks)), atol=1e-6)


@pytest.mark.parametrize("damage", ["truncate", "garbage", "delete"])
def test_damaged_terms_file_makes_the_next_build_tokenize_again(
        corpus: Path, store: IndexStore, fast_models: Models, damage: str) -> None:
    """terms.npz only speeds up the next build: damaged or missing, that build reads every chunk again."""
    build_index(corpus, store, fast_models)
    before = store.load(fast_models)
    path = before.path / "terms.npz"
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif damage == "garbage":
        path.write_bytes(b"PK\x03\x04 not a zip")
    else:
        path.unlink()
    assert stored_terms(store.load(fast_models)) is None
    (corpus / "fine.md").write_text(EXTRA, encoding="utf-8")
    report = build_index(corpus, store, fast_models)
    assert report.added == ("fine.md",)
    after = store.load(fast_models)
    scores = lexical.bm25_scores(after.bm25, "Moscow court fine", len(after.chunks))
    assert scores.max() > 0 and "Moscow court" in after.chunks[int(scores.argmax())].text


def test_changed_document_is_replaced_and_deleted_one_disappears(
    corpus: Path, store: IndexStore, fast_models: Models
) -> None:
    (corpus / "fine.md").write_text(EXTRA, encoding="utf-8")
    build_index(corpus, store, fast_models)
    counting, read = counted(fast_models)
    (corpus / "fine.md").write_text(EXTRA.replace("800,000", "900,000"), encoding="utf-8")
    changed = build_index(corpus, store, counting)
    assert changed.changed == ("fine.md",)
    assert read and all("900,000" in t for t in read)
    loaded = store.load(fast_models)
    texts = [c.text for c in loaded.chunks if c.doc_id == "fine.md"]
    assert any("900,000" in t for t in texts) and not any("800,000" in t for t in texts)

    (corpus / "fine.md").unlink()
    removed = build_index(corpus, store, counting)
    assert removed.removed == ("fine.md",)
    assert {d.doc_id for d in store.load(fast_models).documents} == {"iran-fsb-telegram-2017.md"}


def test_full_rebuild_re_embeds_everything(corpus: Path, store: IndexStore, fast_models: Models) -> None:
    build_index(corpus, store, fast_models)
    counting, read = counted(fast_models)
    report = build_index(corpus, store, counting, full=True)
    assert 2 * report.embedded == 2 * report.chunks == len(read)


def test_index_records_its_model_and_a_mismatch_is_explained(
    corpus: Path, store: IndexStore, fast_models: Models
) -> None:
    build_index(corpus, store, fast_models)
    manifest = store.read_manifest()
    assert manifest.model == fast_models.name and manifest.dimension == fast_models.dimension
    other = renamed(fast_models, "some-other-model", 768)
    with pytest.raises(ModelMismatch, match="some-other-model.*index build --full"):
        store.load(other)
    # A build with the other model does not mix vectors: everything is re-embedded.
    report = build_index(corpus, store, renamed(fast_models, "some-other-model"))
    assert report.reused == 0 and report.embedded == report.chunks


def test_missing_index_and_empty_corpus_are_clear_errors(tmp_path: Path, fast_models: Models) -> None:
    store = IndexStore(tmp_path / "index")
    with pytest.raises(IndexMissing, match="index build"):
        store.load(fast_models)
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "broken.md").write_bytes(b"\x00\x00")
    with pytest.raises(CorpusError, match="no readable document.*broken.md"):
        build_index(tmp_path / "empty", store, fast_models)


@pytest.mark.parametrize(
    "damage", ["truncate-vectors", "garbage-faiss", "garbage-chunks", "delete-manifest", "bad-manifest"]
)
def test_damaged_index_is_detected_with_a_rebuild_hint(
    corpus: Path, store: IndexStore, fast_models: Models, damage: str
) -> None:
    build_index(corpus, store, fast_models)
    build = store.current_build()
    assert build is not None
    target = {
        "truncate-vectors": "vectors.npy", "garbage-faiss": "vectors.faiss", "garbage-chunks": "chunks.json",
        "delete-manifest": "manifest.json", "bad-manifest": "manifest.json",
    }[damage]
    path = build / target
    if damage == "truncate-vectors":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif damage == "delete-manifest":
        path.unlink()
    else:
        path.write_bytes(b"\x00garbage{")
    with pytest.raises(IndexCorrupt, match="index build --full"):
        store.load(fast_models)
    # The rebuild path works: a full build replaces the damaged index.
    build_index(corpus, store, fast_models, full=True)
    assert store.load(fast_models).manifest.chunks == 16


KILLER = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from index.build import build_index
    from tests.support.models import fast_models
    from index.store.files import IndexStore
    corpus, index_dir, point, marker = sys.argv[1:5]
    models = fast_models()
    store = IndexStore(Path(index_dir))
    def hang(*args, **kwargs):
        Path(marker).write_text("ready")
        time.sleep(600)
    if point == "embedding":
        on_embedded = hang
    else:
        on_embedded = None
        original = IndexStore.commit
        IndexStore.commit = lambda self, build: hang()  # every file written, link not swapped yet
    build_index(Path(corpus), store, models, full=True, on_embedded=on_embedded)
    """
)


@pytest.mark.parametrize("point", ["embedding", "before-swap"])
def test_build_killed_halfway_leaves_the_old_index_answering(
    tmp_path: Path, fast_models: Models, fast_reranker, point: str
) -> None:  # noqa: ANN001
    settings = settings_for(tmp_path)
    make_corpus(settings.corpus_dir)
    bot = CaseBot(settings, fast_models.replace(reranker=fast_reranker))
    bot.open()
    question = "Why did Iran open a criminal case against Pavel Durov?"
    before = bot.ask(question).to_json()

    (settings.corpus_dir / "fine.md").write_text(EXTRA, encoding="utf-8")
    marker = tmp_path / "marker"
    process = subprocess.Popen(
        [sys.executable, "-c", KILLER, str(settings.corpus_dir), str(settings.index_dir), point, str(marker)],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert process.poll() is None, "the build finished or crashed before the kill point"
        assert time.monotonic() < deadline
        time.sleep(0.1)
    process.send_signal(signal.SIGKILL)
    process.wait()

    reopened = CaseBot(settings, fast_models.replace(reranker=fast_reranker))
    reopened.open(build_if_missing=False)
    assert reopened.ask(question).to_json() == before
    assert {s.doc_id for s in reopened.sources()} == {"iran-fsb-telegram-2017.md"}

    report = reopened.rebuild()  # the next build recovers and cleans up the unfinished one
    assert report.added == ("fine.md",)
    # KEEP_BUILDS=2: the new build and the newest intact one before it; unfinished folders are gone.
    builds = set((settings.index_dir / "builds").iterdir())
    assert len(builds) == 2 and reopened.store.current_build() in builds
    assert all(is_intact(reopened.store, build) for build in builds)


def test_status_reports_documents_chunks_model_and_size(
    corpus: Path, store: IndexStore, fast_models: Models
) -> None:
    build_index(corpus, store, fast_models)
    status = store.status()
    assert status.manifest.documents == 1 and status.manifest.chunks == 16
    assert status.size_bytes > 0 and 0 <= status.age_seconds < 600
    manifest = json.loads((status.path / "manifest.json").read_text())
    assert manifest["model"] == fast_models.name


def test_an_up_to_date_build_cleans_up_what_a_killed_build_left(
    corpus: Path, fast_models: Models, tmp_path: Path
) -> None:
    """A build killed after its swap and before its clean-up leaves one build too many (and maybe an
    unfinished folder): the next build, even with nothing to do, removes them."""
    store = IndexStore(tmp_path / "index", keep=2)
    build_index(corpus, store, fast_models)
    (corpus / "fine.md").write_text(EXTRA, encoding="utf-8")
    build_index(corpus, store, fast_models)
    kept = set(store.builds.iterdir())
    extra = store.builds / "20000101T000000-00000000"  # an older intact build, beyond KEEP_BUILDS
    shutil.copytree(next(iter(kept - {store.current_build()})), extra)
    (store.builds / "unfinished").mkdir()
    assert build_index(corpus, store, fast_models).up_to_date
    assert set(store.builds.iterdir()) == kept


def test_use_multilingual_vectors_are_stored_per_chunk_and_embedded_only_for_new_chunks(
    corpus: Path, store: IndexStore
) -> None:
    from tests.support.models import HashedPieces, HashedWords

    plain = Models.of(HashedWords(), HashedPieces(), HashedWords())
    build_index(corpus, store, plain)
    assert store.load(plain).aligned is None
    aligned = CountingEmbedder(HashedWords())
    models = Models.of(HashedWords(), HashedPieces(), HashedWords(), aligned)
    first = build_index(corpus, store, models)  # nothing changed, but the vectors were missing
    index = store.load(models)
    assert not first.up_to_date and index.manifest.aligned == aligned.dimension
    assert index.aligned is not None and index.aligned.shape == (len(index.chunks), aligned.dimension)
    assert index.aligned_index.ntotal == len(index.chunks) and len(aligned.embedded) == len(index.chunks)
    aligned.embedded.clear()
    (corpus / "extra.md").write_text(EXTRA, encoding="utf-8")
    build_index(corpus, store, models)
    added = [c.text for c in store.load(models).chunks if c.doc_id == "extra.md"]
    assert sorted(aligned.embedded) == sorted(added)
    rebuilt = store.load(models)
    row = {c.text: i for i, c in enumerate(rebuilt.chunks)}
    for i, chunk in enumerate(index.chunks):  # reused as stored, whatever its new row
        np.testing.assert_array_equal(rebuilt.aligned[row[chunk.text]], index.aligned[i])


def test_an_index_built_before_use_multilingual_vectors_still_loads_and_serves(
    corpus: Path, store: IndexStore, fast_models: Models
) -> None:
    build_index(corpus, store, fast_models)
    manifest = store.current_build() / "manifest.json"  # type: ignore[operator]
    data = json.loads(manifest.read_text(encoding="utf-8"))
    del data["aligned"]  # as the builds of before wrote it
    manifest.write_text(json.dumps(data), encoding="utf-8")
    assert store.load(fast_models).aligned is None
