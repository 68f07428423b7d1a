"""The index in Milvus (index.store.milvus) against the real engine: milvus-lite 2.5.1, Milvus's C++ core.

Stand-in models (fast): what is stored and answered is compared with the files store, which the same
search stages read. A data file (milvus-lite in this process) where one process suffices; the engine on
a loopback port (tests.support.milvus_server) where a build and a bot are two processes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from bot.service import CaseBot
from index.build import build_index
from index.models.models import Models
from index.store.base import VECTORS
from index.store.builds import serving_status
from index.store.files import IndexStore
from index.store.milvus.connection import MilvusTarget, StoreUnavailable
from index.store.lock import IndexBusy
from index.store.milvus.store import PLACE, MilvusStore
from tests.support import (ARTICLE, EXTRA, REPO, build_lock_held_elsewhere, counted, make_corpus,
                           searcher_for, settings_for, wait_until)
from tests.support.milvus_server import MilvusServer
from tests.support.models import WordOverlap

CASE = REPO / "tests" / "eval" / "case" / "corpus"
QUESTIONS = [
    "When was Telegram blocked in Russia?",
    "How many people in Iran use Telegram?",
    "Why did Iran open a criminal case against Pavel Durov?",
    "Почему Роскомнадзор заблокировал Telegram?",
    "Какой штраф назначил суд?",
    "چرا تلگرام در ایران فیلتر شد؟",
    "Who ordered the block of Telegram in Iran?",
    "What did the FSB demand from Telegram?",
]


def lite_store(root: Path, keep: int = 2) -> MilvusStore:
    return MilvusStore(root / "index", MilvusTarget(str(root / "milvus" / "casebot.db")), keep=keep)


def build_collections(store: MilvusStore) -> list[str]:
    return [c for c in store.client.list_collections() if c.startswith("casebot_b") and c != "casebot_blobs"]


def shown(answer) -> list[tuple[str, int, int, int]]:  # noqa: ANN001
    return [(p.doc_id, p.paragraph, p.start, p.end) for p in answer.passages]


def test_a_milvus_build_answers_as_the_files_store_does(tmp_path: Path, fast_models: Models,
                                                        fast_reranker: WordOverlap) -> None:
    store = lite_store(tmp_path)
    report = build_index(CASE, store, fast_models)
    files = IndexStore(tmp_path / "files")
    build_index(CASE, files, fast_models)
    milvus_index, files_index = store.load(fast_models), files.load(fast_models)
    assert report.chunks == len(milvus_index.chunks) == len(files_index.chunks) > 100
    assert milvus_index.piece_count == files_index.piece_count > 0
    assert {d.language for d in milvus_index.documents} == {"en", "ru", "fa"}
    rows = [0, 7, len(files_index.chunks) - 1]
    stored, expected = milvus_index.stored_pieces(rows), files_index.stored_pieces(rows)
    assert np.array_equal(stored.codes, expected.codes) and np.array_equal(stored.spans, expected.spans)
    vector = files_index.vectors[3]
    cosines = milvus_index.cosines(VECTORS, rows, vector)
    assert np.allclose(cosines, files_index.cosines(VECTORS, rows, vector), atol=1e-5)
    for language in ("en", "ru", "fa"):
        ours = milvus_index.dense_candidates(VECTORS, vector, 5, language)  # the stand-ins have no e5
        theirs = files_index.dense_candidates(VECTORS, vector, 5, language)
        assert ours[1].tolist() == theirs[1].tolist()
        assert np.allclose(ours[0], theirs[0], atol=1e-5)
    on_milvus = searcher_for(milvus_index, fast_models, fast_reranker)
    on_files = searcher_for(files_index, fast_models, fast_reranker)
    for question in QUESTIONS:
        assert shown(on_milvus.search(question, 3)) == shown(on_files.search(question, 3)), question


def test_milvus_bm25_stems_english_and_russian_and_reads_persian_by_casebots_terms(
        tmp_path: Path, fast_models: Models) -> None:
    store = lite_store(tmp_path)
    build_index(CASE, store, fast_models)
    index = store.load(fast_models)

    def best(question: str) -> set[str]:
        rows, _ = index.lexical_candidates(question, 5)
        return {index.chunks[r].doc_id for r in rows.tolist()}

    def languages(question: str) -> set[str]:
        rows, _ = index.lexical_candidates(question, 10)
        return {index.documents[int(index.chunks.document_index()[r])].language for r in rows.tolist()}

    assert languages("blocking") == {"en"}  # the documents write "blocked", "block"
    assert languages("заблокировать") == {"ru"}  # «заблокировал»
    assert languages("تلگرام") == {"fa"}
    assert languages("ايران") == languages("ایران") == {"fa"}  # an Arabic keyboard's ye, normalised
    assert best("the of and") == set()  # stop words alone find nothing
    scores = index.lexical_scores("Roskomnadzor blocked Telegram")
    assert scores.shape == (len(index.chunks),) and (scores > 0).sum() >= 5


def test_an_incremental_build_embeds_only_new_chunks_and_keeps_two_builds(
        tmp_path: Path, fast_models: Models, fast_reranker: WordOverlap) -> None:
    corpus = make_corpus(tmp_path / "corpus")
    store = lite_store(tmp_path)
    first = build_index(corpus, store, fast_models)
    old = store.load(fast_models)
    (corpus / "extra.md").write_text(EXTRA, encoding="utf-8")
    models, embedded = counted(fast_models)
    second = build_index(corpus, store, models)
    assert second.reused == first.chunks and second.embedded == second.chunks - first.chunks > 0
    assert embedded and all("Iran" not in text for text in embedded)  # the article's chunks were reused
    assert "fined Telegram" in " ".join(embedded)
    new = store.load(fast_models)
    assert new.path != old.path and new.piece_count > old.piece_count
    row = new.hashes.tolist().index(old.hashes.tolist()[0])
    assert np.array_equal(new.stored_pieces([row]).codes, old.stored_pieces([0]).codes)  # copied over
    assert build_index(corpus, store, fast_models).up_to_date
    (corpus / "second.md").write_text(EXTRA.replace("800,000", "900,000"), encoding="utf-8")
    build_index(corpus, store, fast_models)
    builds = build_collections(store)
    assert len(builds) == 2 and store.current_build().name in builds  # the oldest was dropped
    kept = {h.tobytes().hex() for name in builds for h in store.load(fast_models, PLACE / name).hashes}
    pieces = store.client.query("casebot_pieces", filter='key != ""', output_fields=["key"], limit=16384)
    assert {p["key"] for p in pieces} == kept  # the pieces builds share: those of the kept builds only
    files = IndexStore(tmp_path / "files")
    build_index(corpus, files, fast_models)
    question = "How much was Telegram fined?"
    on_milvus = searcher_for(store.load(fast_models), fast_models, fast_reranker).search(question, 3)
    assert shown(on_milvus) == shown(searcher_for(files.load(fast_models), fast_models, fast_reranker)
                                     .search(question, 3))
    status, damaged = serving_status(store)
    assert damaged is None and status.path.name == store.current_build().name


def test_index_status_names_the_store_and_its_collection(tmp_path: Path, cli) -> None:  # noqa: ANN001
    make_corpus(tmp_path / "corpus")
    env = {"INDEX_STORE": "milvus", "MILVUS_URI": str(tmp_path / "m" / "casebot.db")}
    assert cli(tmp_path, "index", "build", env=env).returncode == 0
    result = cli(tmp_path, "index", "status", env=env)
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(None, 1) for line in result.stdout.splitlines())
    assert lines["index"].startswith("milvus:/casebot_b") and "milvus at" in lines["store"]
    answer = cli(tmp_path, "ask", "How many people in Iran use Telegram?", env=env)
    assert answer.returncode == 0 and "40 million" in answer.stdout


@pytest.mark.parametrize(("env", "says"), [
    ({"INDEX_STORE": "postgres"}, "INDEX_STORE must be 'files' or 'milvus'"),
    ({"INDEX_STORE": "milvus", "MILVUS_URI": "var/my milvus.db"}, "a milvus-lite data file's name"),
    ({"INDEX_STORE": "milvus", "MILVUS_COLLECTION": "9lives"}, "MILVUS_COLLECTION"),
])
def test_wrong_store_settings_are_one_line(tmp_path: Path, cli,  # noqa: ANN001
                                          env: dict[str, str], says: str) -> None:
    make_corpus(tmp_path / "corpus")
    result = cli(tmp_path, "index", "build", env=env)
    assert result.returncode != 0 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert says in result.stderr


def test_a_data_file_another_process_holds_is_one_line(tmp_path: Path, fast_models: Models) -> None:
    data = tmp_path / "milvus" / "casebot.db"
    holder = subprocess.Popen([sys.executable, "-W", "ignore", "-c",
                               "import sys, time; from pymilvus import MilvusClient; "
                               "MilvusClient(sys.argv[1]); "
                               "print('held', flush=True); time.sleep(120)", str(data)],
                              stdout=subprocess.PIPE, text=True)
    try:
        data.parent.mkdir(parents=True, exist_ok=True)
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(StoreUnavailable) as caught:
            build_index(make_corpus(tmp_path / "corpus"), lite_store(tmp_path), fast_models)
        assert "held by another process" in str(caught.value) and "\n" not in str(caught.value)
    finally:
        holder.kill()
        holder.wait()


def test_milvus_down_is_one_line_and_the_next_build_succeeds(tmp_path: Path, milvus_server: MilvusServer,
                                                            fast_models: Models) -> None:
    corpus = make_corpus(tmp_path / "corpus")
    store = MilvusStore(tmp_path / "index", MilvusTarget(milvus_server.uri))
    build_index(corpus, store, fast_models)
    published = store.current_build()
    milvus_server.stop()
    (corpus / "extra.md").write_text(EXTRA, encoding="utf-8")
    with pytest.raises(StoreUnavailable) as caught:
        build_index(corpus, MilvusStore(tmp_path / "index", MilvusTarget(milvus_server.uri)), fast_models)
    assert "is not reachable" in str(caught.value) and "\n" not in str(caught.value)
    milvus_server.start()
    assert store.current_build() == published  # the same client, once the server is back
    report = build_index(corpus, store, fast_models)
    assert report.added == ("extra.md",) or report.embedded > 0
    assert store.current_build() != published


BUILD_AND_HANG = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from index.build import build_index
    from index.store.milvus.blobs import BlobTable
    from index.store.milvus.connection import MilvusTarget
    from index.store.milvus.store import MilvusStore
    from tests.support.models import fast_models
    corpus, index_dir, uri, step, marker = sys.argv[1:6]
    import index.store.milvus.store as store_module
    from index.store.milvus.pieces import SharedPieces
    owner, name = {"pieces": (SharedPieces, "put"), "rows": (store_module, "bm25_field"),
                   "tables": (MilvusStore, "_write_tables"), "commit": (BlobTable, "point"),
                   "prune": (MilvusStore, "prune")}[step]

    def hang(*args, **kwargs):
        Path(marker).write_text(step)
        time.sleep(600)

    setattr(owner, name, hang)
    build_index(Path(corpus), MilvusStore(Path(index_dir), MilvusTarget(uri)), fast_models())
    """
)


# Where a build is killed: before its new chunks' pieces, before its rows (the collection made), before
# its tables (and manifest), before the commit (all written), after the commit (before old builds go).
@pytest.mark.parametrize("step", ["pieces", "rows", "tables", "commit", "prune"])
def test_a_killed_build_leaves_the_published_build_answering(
        tmp_path: Path, milvus_server: MilvusServer, fast_models: Models, fast_reranker: WordOverlap,
        step: str) -> None:
    corpus = make_corpus(tmp_path / "corpus")
    store = MilvusStore(tmp_path / "index", MilvusTarget(milvus_server.uri))
    build_index(corpus, store, fast_models)
    published = store.current_build()
    (corpus / "extra.md").write_text(EXTRA, encoding="utf-8")
    marker = tmp_path / "marker"
    child = subprocess.Popen([sys.executable, "-W", "ignore", "-c", BUILD_AND_HANG, str(corpus),
                              str(tmp_path / "index"), milvus_server.uri, step, str(marker)],
                             cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        wait_until(lambda: marker.exists() or child.poll() is not None, 120)
        assert child.poll() is None, "the build failed before its kill point"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    assert (store.current_build() == published) == (step != "prune")
    answer = searcher_for(store.load(fast_models), fast_models, fast_reranker).search(
        "How many people in Iran use Telegram?", 3)
    assert answer.answered and "40 million" in answer.passages[0].text
    report = build_index(corpus, store, fast_models)  # the next build completes and removes what was left
    assert report.up_to_date == (step == "prune")
    assert store.current_build() != published
    assert len(build_collections(store)) == 2, build_collections(store)


FOLLOWING_BUILD = (
    "import sys; from pathlib import Path; from index.build import build_index; "
    "from index.store.milvus.connection import MilvusTarget; "
    "from index.store.milvus.store import MilvusStore; "
    "from tests.support.models import fast_models; "
    "print(build_index(Path(sys.argv[1]), MilvusStore(Path(sys.argv[2]), MilvusTarget(sys.argv[3])), "
    "fast_models()).summary())"
)


def test_a_running_bot_follows_a_build_published_by_another_process(
        tmp_path: Path, milvus_server: MilvusServer, fast_models: Models, fast_reranker: WordOverlap) -> None:
    root = tmp_path / "bot"
    make_corpus(root / "corpus")
    settings = settings_for(root, index_store="milvus", milvus_uri=milvus_server.uri)
    bot = CaseBot(settings, fast_models.replace(reranker=fast_reranker))
    bot.open(build_if_missing=True)
    bot.index.start_background()
    try:
        before = bot.searcher.index.path
        assert "800,000" not in str(bot.ask("How much was Telegram fined by the Moscow court?", 3))
        builder = tmp_path / "builder"
        make_corpus(builder / "corpus", {"extra.md": EXTRA})
        command = [sys.executable, "-W", "ignore", "-c", FOLLOWING_BUILD, str(builder / "corpus"),
                   str(builder / "index"), milvus_server.uri]
        result = subprocess.run(command, cwd=REPO, capture_output=True, text=True,
                                env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=300)
        assert result.returncode == 0, result.stderr
        wait_until(lambda: bot.searcher.index.path != before, 30)
        assert "800,000" in str(bot.ask("How much was Telegram fined by the Moscow court?", 3))
    finally:
        bot.close()
    assert ARTICLE.exists()


def test_builds_into_milvus_take_turns_through_the_build_lock(tmp_path: Path, fast_models: Models) -> None:
    corpus = make_corpus(tmp_path / "corpus")
    store = lite_store(tmp_path)
    with build_lock_held_elsewhere(store.root):
        with pytest.raises(IndexBusy):
            build_index(corpus, store, fast_models, wait=False)
    assert build_index(corpus, store, fast_models, wait=False).chunks > 0


def test_the_command_line_builds_and_answers_from_a_milvus_lite_file_named_in_the_environment(
        tmp_path: Path, cli_process) -> None:  # noqa: ANN001
    """pymilvus reads MILVUS_URI itself when imported and refuses a file there: a fresh process, as a user
    starts one, with the variable set (and in ``.env``), builds and answers."""
    make_corpus(tmp_path / "corpus")
    uri = str(tmp_path / "m" / "casebot.db")
    (tmp_path / ".env").write_text(f"INDEX_STORE=milvus\nMILVUS_URI={uri}\n", encoding="utf-8")
    env = {"INDEX_STORE": "milvus", "MILVUS_URI": uri, "MODEL_CACHE_DIR": str(REPO / "var" / "models")}
    built = cli_process(tmp_path, "index", "build", env=env)
    assert built.returncode == 0, built.stderr
    answer = cli_process(tmp_path, "ask", "How many people in Iran use Telegram?", env=env)
    assert answer.returncode == 0 and "40 million" in answer.stdout, answer.stderr
