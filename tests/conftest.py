"""Shared fixtures: the real embedding model, and real indexes built from real text.

The model loads once per session; ``casebot`` indexes the real article once per session;
``make_casebot`` builds a fresh corpus (the article plus extra documents) in a temporary folder.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from bot.evaluation import EvalReport  # noqa: E402
from bot.service import CaseBot  # noqa: E402
from bot.settings import Settings  # noqa: E402
from index.embed import Embedder, load_embedder  # noqa: E402
from index.retrieval_models import CrossEncoder  # noqa: E402
from index.search import SearchParams, Searcher  # noqa: E402
from index.store import LoadedIndex  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
ARTICLE = REPO / "corpus" / "iran-fsb-telegram-2017.md"
EVAL_FILE = REPO / "tests" / "eval" / "questions.jsonl"


@pytest.fixture(autouse=True)
def _no_dotenv_leak(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's own .env or environment must not change what tests see."""
    for key in list(os.environ):
        if key.startswith(("DISCORD_", "MATRIX_")) or key in {"CORPUS_DIR", "INDEX_DIR", "EMBEDDER", "TOP_K", "MIN_SCORE"}:
            monkeypatch.delenv(key, raising=False)


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real default model (all-MiniLM-L6-v2), loaded once."""
    return load_embedder("minilm")


@pytest.fixture(scope="session")
def reranker() -> CrossEncoder:
    """The real cross-encoder, loaded once."""
    return CrossEncoder()


def searcher_for(index: LoadedIndex, embedder: Embedder, reranker: CrossEncoder | None = None,
                 **params: object) -> Searcher:
    """A Searcher over ``index`` with the embedder's ColBERT pieces (and ``reranker`` when given)."""
    return Searcher(index, embedder, getattr(embedder, "pieces", None), reranker,
                    SearchParams(**params) if reranker is not None else SearchParams(rerank_depth=0, **params),
                    getattr(embedder, "multilingual", None))


def assert_floors(report: EvalReport, recall_at_1: float, recall_at_3: float, highlight: float,
                  off_topic_declined: int, on_topic_declined_at_most: int, **more: float) -> None:
    """The measured quality floors of an evaluation report (``more``: other report fields, e.g. mrr)."""
    summary = dict(report.rows())
    assert report.recall_at_1 >= recall_at_1, summary
    assert report.recall_at_3 >= recall_at_3, summary
    assert report.highlight_accuracy >= highlight, summary
    for field, floor in more.items():
        assert getattr(report, field) >= floor, (field, summary)
    assert round(report.off_topic_declined * report.off_topic) >= off_topic_declined, report.answered_off_topic
    assert report.on_topic_declined <= on_topic_declined_at_most, summary


@pytest.fixture(scope="session")
def article_text() -> str:
    return ARTICLE.read_text(encoding="utf-8")


def make_corpus(folder: Path, extra_docs: dict[str, str | bytes] | None = None, with_article: bool = True) -> Path:
    """A corpus folder holding the article (optional) and ``extra_docs`` (name -> text or bytes)."""
    folder.mkdir(parents=True, exist_ok=True)
    if with_article:
        shutil.copy(ARTICLE, folder / ARTICLE.name)
    for name, content in (extra_docs or {}).items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return folder


def settings_for(root: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "corpus_dir": root / "corpus",
        "index_dir": root / "index",
        "feedback_file": root / "feedback.jsonl",
        "matrix_store_dir": root / "matrix-store",
        "model_cache_dir": REPO / "var" / "models",  # the onnxruntime copy of the model: exported once
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def cli_command(root: Path, *args: str, env: dict[str, str] | None = None) -> tuple[list[str], dict[str, str]]:
    """``python -m bot ARGS`` and its environment, over ``root``/corpus and ``root``/index."""
    environment = {
        **os.environ, "PYTHONPATH": str(REPO), "CORPUS_DIR": str(root / "corpus"), "INDEX_DIR": str(root / "index"),
        **(env or {}),
    }
    return [sys.executable, "-m", "bot", *args], environment


def run_cli(root: Path, *args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the command line as a user does, in ``root`` (see ``cli_command``)."""
    command, environment = cli_command(root, *args, env=env)
    return subprocess.run(command, cwd=root, env=environment, input=stdin, capture_output=True, text=True, timeout=300)


def build_in_another_process(root: Path) -> str:
    """``python -m bot index build`` over ``root``/corpus and ``root``/index; returns its summary."""
    result = run_cli(root, "index", "build", env={"MODEL_CACHE_DIR": str(REPO / "var" / "models")})
    assert result.returncode == 0, result.stderr
    return result.stdout


HOLD_LOCK = "import sys, time; from index.lock import BuildLock\nwith BuildLock(sys.argv[1]).hold():\n    print('held', flush=True); time.sleep(600)"


@contextlib.contextmanager
def build_lock_held_elsewhere(index_dir: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holds the build lock of ``index_dir`` (as a running build would) for the block."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(index_dir)], cwd=REPO,
                              env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        yield holder
    finally:
        holder.kill()
        holder.wait()


def wait_until(condition: Callable[[], bool], seconds: float) -> float:
    """Poll ``condition`` until it holds (fails after ``seconds``); returns the seconds it took."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < seconds, f"not within {seconds} s"
        time.sleep(0.05)
    return time.monotonic() - started


@pytest.fixture(scope="session")
def casebot(embedder: Embedder, reranker: CrossEncoder, tmp_path_factory: pytest.TempPathFactory) -> CaseBot:
    """A CaseBot over the real article, index built once per session. Do not rebuild it in tests."""
    root = tmp_path_factory.mktemp("casebot")
    make_corpus(root / "corpus")
    bot = CaseBot(settings_for(root), embedder=embedder, reranker=reranker)
    bot.open(build_if_missing=True)
    return bot


@pytest.fixture
def make_casebot(embedder: Embedder, reranker: CrossEncoder, tmp_path: Path) -> Iterator[Callable[..., CaseBot]]:
    """Factory: ``make_casebot(extra_docs={"name.md": text}, with_article=True, **settings)``; their
    background threads (a bot that ran starts them) stop with the test."""
    counter = 0
    made: list[CaseBot] = []

    def factory(extra_docs: dict[str, str | bytes] | None = None, with_article: bool = True,
                **overrides: object) -> CaseBot:
        nonlocal counter
        counter += 1
        root = tmp_path / f"bot{counter}"
        make_corpus(root / "corpus", extra_docs, with_article)
        bot = CaseBot(settings_for(root, **overrides), embedder=embedder, reranker=reranker)
        bot.open(build_if_missing=True)
        made.append(bot)
        return bot

    yield factory
    for bot in made:
        bot.close()
