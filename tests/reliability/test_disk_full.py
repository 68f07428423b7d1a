"""A build that runs out of disk (a real 1 MB tmpfs): one line, its partial folder removed, the
previous index answering, and the shared word-piece file back to its size."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.service import CaseBot
from index.models.models import Models
from index.store.pieces import PIECES_FILE
from tests.support import make_corpus, run_cli, settings_for

pytestmark = pytest.mark.slow

QUESTION = "Why did Iran open a criminal case against Pavel Durov?"
LONG_DOCUMENT = "---\ntitle: Hearing transcript\n---\n" + "\n\n".join(
    f"Session {n}: "
    + " ".join(f"the court heard witness {n}-{w} on encryption keys and message delivery." for w in range(12))
    for n in range(30)
)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    if subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True
    ).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_build_that_fills_the_disk_leaves_the_previous_index_answering(
        tmp_path: Path, small_disk: Path, models: Models) -> None:
    settings = settings_for(tmp_path, index_dir=small_disk / "index")
    make_corpus(settings.corpus_dir)
    bot = CaseBot(settings, models)
    bot.open()
    before = bot.ask(QUESTION).to_json()
    [build] = list(bot.store.builds.iterdir())
    tokens_size = (build / PIECES_FILE).stat().st_size

    (settings.corpus_dir / "transcript.md").write_text(LONG_DOCUMENT, encoding="utf-8")
    result = run_cli(tmp_path, "index", "build", env={"INDEX_DIR": str(settings.index_dir),
                                                      "MODEL_CACHE_DIR": str(settings.model_cache_dir)})
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if " INFO " not in line]
    assert errors == [
        f"error: No space left on the disk of {settings.index_dir}: the unfinished build was removed "
        f"and the previous index keeps answering; free some space and run: python -m bot index build"
    ]
    assert list(bot.store.builds.iterdir()) == [build]  # no partial folder
    assert (build / PIECES_FILE).stat().st_size == tokens_size  # what the failed build appended is given back
    survivor = CaseBot(settings, models)
    survivor.open(build_if_missing=False)
    assert survivor.ask(QUESTION).to_json() == before
