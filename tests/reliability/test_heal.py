"""A damaged current build while a bot is serving: answers go on from the previous build, one warning
is logged and shown by `index status`, and the next build repairs the index.

Every damage of the damage tests (tests/index/test_build.py, test_pieces.py, tests/perf/test_scale_paths.py)
is applied to the current build of a running CaseBot. A damaged file is written beside the original and
renamed over it (or deleted): the serving process still maps the old file, as it would after a bad
sector elsewhere, and must notice by itself. (A file truncated in place under a live memory map is a
SIGBUS in the reader, which no Python code can catch; see docs/operations.md.) The previous build is
made with --full so that it does not share the word-piece file, whose damage would damage both.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bot import serving as bot_serving
from bot.follow import Poller
from bot.service import CaseBot
from index.models.models import Models
from index.build import build_index
from index.store.builds import serving_status
from index.store.files import IndexStore
from index.store.pieces import PIECES_FILE
from bot.answer import Answer
from tests.support import make_corpus, searcher_for, settings_for, wait_until
from tests.support.models import WordOverlap

POLL = 0.1  # the follower's poll (a second in production), shortened here
ARTICLE_QUESTION = "Why did Iran open a criminal case against Pavel Durov?"
NEW_QUESTION = "How much was Telegram fined by the Moscow court?"
NEW_DOCUMENT = ("---\ntitle: Court fine\n---\n"
                "A Moscow court fined Telegram 800,000 rubles for refusing to hand over keys.\n")

DAMAGES: dict[str, tuple[str, Callable[[bytes], bytes | None]]] = {
    "truncate-vectors": ("vectors.npy", lambda data: data[: len(data) // 2]),
    "garbage-faiss": ("vectors.faiss", lambda data: b"\x00garbage{"),
    "garbage-chunks": ("chunks.json", lambda data: b"\x00garbage{"),
    "delete-manifest": ("manifest.json", lambda data: None),
    "bad-manifest": ("manifest.json", lambda data: b"\x00garbage{"),
    "truncate-texts": ("texts.bin", lambda data: data[:-10]),
    "garbage-chunk-columns": ("chunks.npy", lambda data: b"\x00garbage{"),
    "truncate-tokens": (PIECES_FILE, lambda data: data[: len(data) // 2]),
    "delete-table": ("token_chunks.npy", lambda data: None),
    "delete-tokens": (PIECES_FILE, lambda data: None),
}


def damage(build: Path, kind: str) -> None:
    name, change = DAMAGES[kind]
    path = build / name
    damaged = change(path.read_bytes())
    if damaged is None:
        path.unlink()
        return
    spare = path.with_name(name + ".damaged")
    spare.write_bytes(damaged)
    os.replace(spare, path)


@pytest.fixture(scope="module")
def two_builds(
    tmp_path_factory: pytest.TempPathFactory, fast_models: Models, fast_reranker: WordOverlap
) -> tuple[Path, dict]:
    """An index folder with the article's build and, current, one with a court fine added."""
    root = tmp_path_factory.mktemp("heal")
    settings = settings_for(root)
    make_corpus(settings.corpus_dir)
    store = IndexStore(settings.index_dir)
    build_index(settings.corpus_dir, store, fast_models)
    expected = Answer.from_retrieval(
        searcher_for(store.load(fast_models), fast_models, fast_reranker).search(ARTICLE_QUESTION, 3)
    ).to_json()
    (settings.corpus_dir / "fine.md").write_text(NEW_DOCUMENT, encoding="utf-8")
    build_index(settings.corpus_dir, store, fast_models, full=True)
    return root, expected


def assert_same_answer(ours: dict, expected: dict) -> None:
    """The same passages and highlights; scores equal to the models' rounding (the question's vector
    may come from onnxruntime on one side and torch on the other)."""
    def key(answer: dict) -> list[tuple]:
        return [(p["doc_id"], p["start"], p["end"], p["highlight"]) for p in answer["passages"]]

    assert ours["answered"] == expected["answered"] and key(ours) == key(expected)
    assert [p["score"] for p in ours["passages"]] == pytest.approx(
        [p["score"] for p in expected["passages"]], abs=1e-3
    )


def serving(
    root: Path, fast_models: Models, fast_reranker: WordOverlap, two_builds: tuple[Path, dict]
) -> CaseBot:
    shutil.copytree(two_builds[0], root, symlinks=True)
    bot = CaseBot(settings_for(root), fast_models.replace(reranker=fast_reranker))
    bot.open(build_if_missing=False)
    assert bot.ask(NEW_QUESTION).passages[0].doc_id == "fine.md"
    return bot


@pytest.mark.parametrize("kind", list(DAMAGES))
def test_damage_to_the_current_build_while_serving_falls_back_then_a_build_repairs(
    tmp_path: Path,
    fast_models: Models,
    fast_reranker: WordOverlap,
    two_builds: tuple[Path, dict],
    kind: str,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bot_serving, "Poller", functools.partial(Poller, interval=POLL))
    bot = serving(tmp_path / "root", fast_models, fast_reranker, two_builds)
    store = bot.store
    damaged_build = store.current_build()
    previous = next(b for b in store.builds.iterdir() if b != damaged_build)
    bot.start_background()
    try:
        with caplog.at_level(logging.WARNING):
            damage(damaged_build, kind)
            wait_until(lambda: bot.searcher.index.path == previous, 5.0)
            assert_same_answer(bot.ask(ARTICLE_QUESTION).to_json(), two_builds[1])
            assert {s.doc_id for s in bot.sources()} == {"iran-fsb-telegram-2017.md"}
            time.sleep(POLL * 10)  # more polls: still one warning
        warnings = [r.getMessage() for r in caplog.records if "cannot be read" in r.getMessage()]
        assert len(warnings) == 1 and damaged_build.name in warnings[0] and previous.name in warnings[0]
        status, why = serving_status(store)
        assert status.path == previous and why

        bot.rebuild()  # the next build repairs
        assert {s.doc_id for s in bot.sources()} == {"iran-fsb-telegram-2017.md", "fine.md"}
        assert bot.ask(NEW_QUESTION).passages[0].doc_id == "fine.md"
        assert serving_status(store)[1] is None
        assert set(store.builds.iterdir()) == {store.current_build(), previous}  # the damaged one is gone
    finally:
        bot.close()


def test_index_status_warns_about_a_damaged_current_build(
    tmp_path: Path, two_builds: tuple[Path, dict], cli
) -> None:  # noqa: ANN001
    root = tmp_path / "root"
    shutil.copytree(two_builds[0], root, symlinks=True)
    store = IndexStore(root / "index")
    damaged = store.current_build()
    assert damaged is not None
    previous = next(b for b in store.builds.iterdir() if b != damaged)
    damage(damaged, "garbage-faiss")
    result = cli(root, "index", "status")
    assert result.returncode == 0, result.stderr
    [warning] = result.stderr.splitlines()
    assert warning.startswith(f"warning: the current build cannot be read (The index in {damaged} is damaged")
    assert warning.endswith("questions are answered from the previous build below until the next "
                            "`python -m bot index build` repairs it")
    assert result.stdout.splitlines()[0] == f"index      {previous}"


@pytest.mark.parametrize("kind", ["truncate-tokens", "delete-tokens"])  # what every question reads from disk
def test_a_read_error_while_answering_falls_back_without_a_crash_or_a_hang(
    tmp_path: Path,
    fast_models: Models,
    fast_reranker: WordOverlap,
    two_builds: tuple[Path, dict],
    kind: str,
) -> None:
    """No follower here: the question itself meets the damage (a short read, a missing file)."""
    bot = serving(tmp_path / "root", fast_models, fast_reranker, two_builds)
    damage(bot.store.current_build(), kind)

    async def ask() -> dict:
        return (await asyncio.wait_for(bot.ask_async(ARTICLE_QUESTION), 60)).to_json()

    assert_same_answer(asyncio.run(ask()), two_builds[1])
    assert {s.doc_id for s in bot.sources()} == {"iran-fsb-telegram-2017.md"}


def test_removing_an_old_build_never_frees_what_a_kept_build_shares(
    tmp_path: Path, fast_models: Models
) -> None:
    settings = settings_for(tmp_path)
    make_corpus(settings.corpus_dir)
    store = IndexStore(settings.index_dir, keep=2)
    build_index(settings.corpus_dir, store, fast_models)
    first = store.current_build()
    (settings.corpus_dir / "fine.md").write_text(NEW_DOCUMENT, encoding="utf-8")
    build_index(settings.corpus_dir, store, fast_models)  # links the first build's word pieces, appends
    middle = store.current_build()
    (settings.corpus_dir / "more.md").write_text(
        "---\ntitle: More\n---\nRoskomnadzor threatened to block Telegram.\n", encoding="utf-8"
    )
    build_index(settings.corpus_dir, store, fast_models)
    assert first is not None and middle is not None and not first.exists()  # beyond KEEP_BUILDS=2
    assert (middle / PIECES_FILE).stat().st_ino == (store.current_build() / PIECES_FILE).stat().st_ino
    kept = store.load(fast_models, middle)  # the kept build still reads every piece it had
    answer = searcher_for(kept, fast_models).search(NEW_QUESTION, 3)
    assert answer.passages[0].doc_id == "fine.md"
