"""Fixtures of the command-line tests (in-process and in another process)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import make_corpus


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with ``corpus/`` holding the article, shared by one test module's commands."""
    tmp = tmp_path_factory.mktemp("cli")
    make_corpus(tmp / "corpus")
    return tmp
