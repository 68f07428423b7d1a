"""SIGKILL a build at every point where it writes a file: the old index always loads and answers.

The build runs in a forked subprocess that stops (sleeps) when it opens its N-th file for writing, or when it
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
from index.models.models import Models
from index.store.builds import is_intact
from tests.support import REPO, make_corpus, settings_for

# A build server: it imports once, then per line of stdin ("N MARKER") forks a build that stops when
# it reaches its N-th write point (writing MARKER) or, when it completes first, writes MARKER.done;
# it prints the build's pid, then its exit status once it has ended (a fork costs milliseconds, a
# fresh interpreter a second: the kill points of both kinds of build are about 40).
HANGING_BUILD = textwrap.dedent(
    """
    import builtins, os, sys, tempfile, time
    from pathlib import Path
    from index.build import build_index
    from index.store.files import IndexStore
    from tests.support.models import fast_models
    corpus, index_dir, full = sys.argv[1], sys.argv[2], sys.argv[3] == "full"
    models = fast_models()
    index_root = os.path.realpath(index_dir)
    with tempfile.TemporaryDirectory() as warm:  # every lazy import done once, before the forks
        build_index(Path(corpus), IndexStore(Path(warm)), models)
    print("ready", flush=True)

    def hanging_build(stop_at, marker):
        count = 0

        def checkpoint(path):
            nonlocal count
            if not os.path.realpath(os.fspath(path)).startswith(index_root):
                return
            count += 1
            if count == stop_at:
                Path(marker).write_text(str(path))
                time.sleep(600)

        real_open, real_replace, real_rename = builtins.open, os.replace, os.rename
        real_symlink, real_link = os.symlink, os.link
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

        build_index(Path(corpus), IndexStore(Path(index_dir)), models, full=full)
        builtins.open, os.replace, os.rename = real_open, real_replace, real_rename
        os.symlink, os.link = real_symlink, real_link
        Path(marker + ".done").write_text(f"completed {count}")

    for line in sys.stdin:
        stop_at, marker = line.split(maxsplit=1)
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                hanging_build(int(stop_at), marker.strip())
                code = 0
            finally:
                os._exit(code)
        print(pid, flush=True)
        print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), flush=True)
    """
)

EXTRA = ("---\ntitle: Court fine\n---\n"
         "A Moscow court fined Telegram 800,000 rubles for refusing to hand over keys.\n")


# incremental: links and appends to the shared tokens.bin
@pytest.mark.parametrize("kind", ["full", "incremental"])
def test_build_killed_at_every_write_point_leaves_the_old_index_answering(
    tmp_path: Path, fast_models: Models, fast_reranker, kind: str
) -> None:  # noqa: ANN001
    settings = settings_for(tmp_path)
    make_corpus(settings.corpus_dir)
    bot = CaseBot(settings, fast_models.replace(reranker=fast_reranker))
    bot.open()
    question = "What did Durov say about weakening encryption?"
    expected = bot.ask(question).to_json()
    (settings.corpus_dir / "fine.md").write_text(EXTRA, encoding="utf-8")

    killed_at: list[str] = []
    server = subprocess.Popen(
        [sys.executable, "-c", HANGING_BUILD, str(settings.corpus_dir), str(settings.index_dir), kind],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdin is not None and server.stdout is not None
    try:
        assert server.stdout.readline().strip() == "ready"
        for stop_at in range(1, 40):
            marker = tmp_path / f"marker-{stop_at}"
            done = marker.with_name(marker.name + ".done")
            server.stdin.write(f"{stop_at} {marker}\n")
            server.stdin.flush()
            pid = int(server.stdout.readline())
            deadline = time.monotonic() + 180
            while not marker.exists() and not done.exists():
                assert time.monotonic() < deadline, "the build neither finished nor reached the kill point"
                time.sleep(0.01)
            if done.exists():  # finished without reaching point N: every point is covered
                assert int(server.stdout.readline()) == 0 and "completed" in done.read_text()
                break
            os.kill(pid, signal.SIGKILL)
            assert int(server.stdout.readline()) == -signal.SIGKILL
            killed_at.append(marker.read_text())

            survivor = CaseBot(settings, fast_models.replace(reranker=fast_reranker))
            survivor.open(build_if_missing=False)
            assert survivor.ask(question).to_json() == expected, (
                f"answer changed after a kill at {killed_at[-1]}"
            )
            assert {s.doc_id for s in survivor.sources()} == {"iran-fsb-telegram-2017.md"}
        else:
            raise AssertionError("the build never completed")
    finally:
        server.kill()
        server.wait()
    assert len(killed_at) >= 5, killed_at  # documents, chunks, units, vectors, FAISS/BM25, manifest, link

    recovered = CaseBot(settings, fast_models.replace(reranker=fast_reranker))
    recovered.open(build_if_missing=False)
    assert {s.doc_id for s in recovered.sources()} == {"iran-fsb-telegram-2017.md", "fine.md"}
    # KEEP_BUILDS=2: the new build and the newest intact one before it; unfinished folders are gone.
    builds = set((settings.index_dir / "builds").iterdir())
    assert len(builds) == 2 and recovered.store.current_build() in builds
    assert all(is_intact(recovered.store, build) for build in builds)
