"""SIGKILL a build at every point where it writes a file: the old index always loads and answers.

The build runs in a subprocess that stops (sleeps) when it opens its N-th file for writing, or when it
is about to rename, link or hard-link anything, inside the index folder; the test then kills it with SIGKILL.
N runs from 1 up until a build finishes without reaching the N-th point, so every write point of
the build, whatever the store's internals, is covered.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from bot.service import CaseBot
from index.builds import is_intact
from index.embed import Embedder
from tests.support import REPO, make_corpus, settings_for

HANGING_BUILD = textwrap.dedent(
    """
    import builtins, os, sys, time
    from pathlib import Path
    corpus, index_dir, stop_at, marker, full = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5] == "full"
    index_root = os.path.realpath(index_dir)
    count = 0

    def checkpoint(path):
        global count
        if not os.path.realpath(os.fspath(path)).startswith(index_root):
            return
        count += 1
        if count == stop_at:
            Path(marker).write_text(str(path))
            time.sleep(600)

    real_open, real_replace, real_rename, real_symlink, real_link = builtins.open, os.replace, os.rename, os.symlink, os.link
    def open_(file, mode="r", *args, **kwargs):
        if isinstance(file, (str, bytes, os.PathLike)) and any(c in mode for c in "wax+"):
            checkpoint(file)
        return real_open(file, mode, *args, **kwargs)
    def replace_(src, dst, *a, **k):
        checkpoint(dst); return real_replace(src, dst, *a, **k)
    def rename_(src, dst, *a, **k):
        checkpoint(dst); return real_rename(src, dst, *a, **k)
    def symlink_(src, dst, *a, **k):
        checkpoint(dst); return real_symlink(src, dst, *a, **k)
    def link_(src, dst, *a, **k):
        checkpoint(dst); return real_link(src, dst, *a, **k)
    builtins.open, os.replace, os.rename, os.symlink, os.link = open_, replace_, rename_, symlink_, link_

    from index.build import build_index
    from index.embed import load_embedder
    from index.store import IndexStore
    build_index(Path(corpus), IndexStore(Path(index_dir)), load_embedder("minilm"), full=full)
    print("completed", count)
    """
)

EXTRA = "---\ntitle: Court fine\n---\nA Moscow court fined Telegram 800,000 rubles for refusing to hand over keys.\n"


@pytest.mark.parametrize("kind", ["full", "incremental"])  # incremental: links and appends to the shared tokens.bin
def test_build_killed_at_every_write_point_leaves_the_old_index_answering(tmp_path: Path, embedder: Embedder, kind: str) -> None:
    settings = settings_for(tmp_path)
    make_corpus(settings.corpus_dir)
    bot = CaseBot(settings, embedder=embedder)
    bot.open()
    question = "What did Durov say about weakening encryption?"
    expected = bot.ask(question).to_json()
    (settings.corpus_dir / "fine.md").write_text(EXTRA, encoding="utf-8")

    killed_at: list[str] = []
    for stop_at in range(1, 40):
        marker = tmp_path / f"marker-{stop_at}"
        process = subprocess.Popen(
            [sys.executable, "-c", HANGING_BUILD, str(settings.corpus_dir), str(settings.index_dir), str(stop_at), str(marker), kind],
            cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE, text=True,
        )
        deadline = time.monotonic() + 180
        while not marker.exists() and process.poll() is None:
            assert time.monotonic() < deadline, "the build neither finished nor reached the kill point"
            time.sleep(0.05)
        if process.poll() is not None:  # finished without reaching point N: every point is covered
            assert process.returncode == 0 and "completed" in (process.stdout.read() if process.stdout else "")
            break
        process.send_signal(signal.SIGKILL)
        process.wait()
        killed_at.append(marker.read_text())

        survivor = CaseBot(settings, embedder=embedder)
        survivor.open(build_if_missing=False)
        assert survivor.ask(question).to_json() == expected, f"answer changed after a kill at {killed_at[-1]}"
        assert {s.doc_id for s in survivor.sources()} == {"iran-fsb-telegram-2017.md"}
    else:
        raise AssertionError("the build never completed")
    assert len(killed_at) >= 5, killed_at  # documents, chunks, units, vectors, FAISS/BM25, manifest, link

    recovered = CaseBot(settings, embedder=embedder)
    recovered.open(build_if_missing=False)
    assert {s.doc_id for s in recovered.sources()} == {"iran-fsb-telegram-2017.md", "fine.md"}
    # KEEP_BUILDS=2: the new build and the newest intact one before it; unfinished folders are gone.
    builds = set((settings.index_dir / "builds").iterdir())
    assert len(builds) == 2 and recovered.store.current_build() in builds
    assert all(is_intact(recovered.store, build) for build in builds)
