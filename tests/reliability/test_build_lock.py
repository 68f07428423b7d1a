"""One writer at a time on an index folder, across real processes, with SIGKILLs at random moments.

Each build is its own process, forked from a server that loaded the model once (a fresh Python per
build would spend 5 s of each run loading torch); the lock is an OS lock, so whatever kills a
holder releases it.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path


from index.models.models import Models
from index.build import build_index
from index.store.lock import BuildLock
from index.store.files import IndexStore
from tests.support import REPO, build_lock_held_elsewhere, cli_command, make_corpus, searcher_for

BUILD_SERVER = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    import torch
    torch.set_num_threads(1)  # no thread pool to carry across fork
    from index.build import build_index
    from index.models.models import ModelChoice, load_models
    from index.store.files import IndexStore
    corpus, index_dir = Path(sys.argv[1]), Path(sys.argv[2])
    models = load_models(ModelChoice(reranker=False, question_runtime="torch"))
    models.vectors.encode_passages(["warm up"])
    print("ready", flush=True)
    for line in sys.stdin:
        pids = []
        for _ in range(int(line)):
            pid = os.fork()
            if pid == 0:
                try:
                    build_index(corpus, IndexStore(index_dir), models)
                    os._exit(0)
                except BaseException as exc:
                    print(f"build failed: {exc!r}", file=sys.stderr, flush=True)
                    os._exit(1)
            pids.append(pid)
        print(" ".join(map(str, pids)), flush=True)
        statuses = [os.waitpid(pid, 0)[1] for pid in pids]
        print(" ".join(str(os.waitstatus_to_exitcode(s)) for s in statuses), flush=True)
    """
)

def document(n: int) -> str:
    return (f"---\ntitle: Ledger {n}\n---\nThe keeper of ledger number {n} recorded that the pigeon loft {n} "
            f"sent {n * 7} sealed letters.\n")


def test_two_builds_started_together_with_random_sigkills_leave_a_complete_unlocked_index(
        tmp_path: Path, models: Models) -> None:
    corpus, index_dir = make_corpus(tmp_path / "corpus"), tmp_path / "index"
    store = IndexStore(index_dir)
    server = subprocess.Popen([sys.executable, "-c", BUILD_SERVER, str(corpus), str(index_dir)], cwd=REPO,
                              env={**os.environ, "PYTHONPATH": str(REPO), "TOKENIZERS_PARALLELISM": "false"},
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert server.stdin is not None and server.stdout is not None
    chance = random.Random(15)
    kills = 0
    try:
        assert server.stdout.readline().strip() == "ready"
        for run in range(20):
            (corpus / f"ledger-{run}.md").write_text(document(run), encoding="utf-8")
            server.stdin.write("2\n")
            server.stdin.flush()
            pids = [int(p) for p in server.stdout.readline().split()]
            victims = chance.sample(pids, k=chance.choice([0, 1, 1, 2]))
            for pid in victims:
                time.sleep(chance.uniform(0.0, 0.4))  # a build here takes about a second: most land mid-build
                with contextlib.suppress(ProcessLookupError):  # it finished first
                    os.kill(pid, signal.SIGKILL)
            codes = [int(c) for c in server.stdout.readline().split()]
            for pid, code in zip(pids, codes):
                if pid not in victims:  # a victim may have finished before its signal came
                    assert code == 0, (run, codes)
            kills += sum(code == -signal.SIGKILL for code in codes)
            assert BuildLock(index_dir).holder() is None, f"run {run} left the lock held"
            if run > 0:
                store.load(models)  # the current build is whole after every run
    finally:
        server.kill()
        server.wait()
    assert kills >= 3, kills  # kills did land, mid-build (8 of about 20 sent, with this seed, here)

    report = build_index(corpus, store, models, wait=False)  # no lock left behind
    index = store.load(models)
    assert {d.doc_id for d in index.documents} == {"iran-fsb-telegram-2017.md"} | {
        f"ledger-{n}.md" for n in range(20)
    }
    assert report.documents == 21
    answer = searcher_for(index, models).search("How many sealed letters did pigeon loft 17 send?", 3)
    assert answer.answered and answer.passages[0].doc_id == "ledger-17.md"
    assert len([p for p in (index_dir / "builds").iterdir()]) <= store.keep


def test_a_second_build_waits_naming_the_holder_and_no_wait_exits_with_one_line(
    tmp_path: Path, cli_process
) -> None:  # noqa: ANN001
    make_corpus(tmp_path / "corpus")
    # killed at the end: the kernel frees the lock
    with build_lock_held_elsewhere(tmp_path / "index") as holder:
        refused = cli_process(tmp_path, "index", "build", "--no-wait")
        assert refused.returncode == 1
        assert refused.stderr.strip().splitlines() == [
            f"error: Another build is running on {tmp_path / 'index'} (process {holder.pid} (python -c) on "
            f"{os.uname().nodename}, since {refused.stderr.split('since ')[1].split(')')[0]}); "
            f"try again when it has finished."]
        assert not (tmp_path / "index" / "current").exists()

        command, env = cli_command(
            tmp_path, "index", "build", env={"MODEL_CACHE_DIR": str(REPO / "var" / "models")}
        )
        waiting = subprocess.Popen(
            command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert waiting.stderr is not None
        # past log lines
        line = next(text for text in iter(waiting.stderr.readline, "") if " INFO " not in text)
        assert line.startswith(f"waiting for the build by process {holder.pid} (python -c)"), line
        assert waiting.poll() is None
    out, err = waiting.communicate(timeout=300)
    assert waiting.returncode == 0, err
    assert "16 chunks" in out and (tmp_path / "index" / "current").is_symlink()
