"""What the tests share besides fixtures (tests/conftest.py): paths, corpora, settings, the command
line run as a user runs it, and small waiting and locking helpers. Test modules import from here
(and from its submodules: ``models``, the fast stand-ins for the models; ``documents``, real files
of every format; ``pdf_maker``; ``synapse_server``), never from each other or from a conftest."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

from bot.evaluation import EvalReport
from bot.settings import Settings
from index.models.models import Models
from index.models.encoded import Embedder
from index.search.searcher import SearchParams, Searcher
from index.store.files import LoadedIndex

REPO = Path(__file__).resolve().parents[2]
ARTICLE = REPO / "corpus" / "iran-fsb-telegram-2017.md"
EVAL_FILE = REPO / "tests" / "eval" / "questions.jsonl"
QUESTION = "Why did Iran open a criminal case against Pavel Durov?"
# A second document for incremental builds: a court fine, two paragraphs.
EXTRA = ("---\ntitle: Court fine\ndate: 2017-10-16\n---\nA Moscow court fined Telegram 800,000 rubles for "
         "refusing to hand over encryption keys.\n\nThe company said it would appeal.\n")


def searcher_for(index: LoadedIndex, models: Models, reranker=None, **params: object) -> Searcher:  # noqa: ANN001
    """A Searcher over ``index`` with ``models`` (and ``reranker`` when given; else none reads pairs)."""
    if reranker is None:
        return Searcher(index, models, SearchParams(rerank_depth=0, **params))  # type: ignore[arg-type]
    return Searcher(index, models.replace(reranker=reranker), SearchParams(**params))  # type: ignore[arg-type]


def assert_floors(report: EvalReport, recall_at_1: float, recall_at_3: float, highlight: float,
                  off_topic_declined: int, on_topic_declined_at_most: int, **more: float) -> None:
    """The measured quality floors of an evaluation report (``more``: other report fields, e.g. mrr)."""
    summary = dict(report.rows())
    assert report.recall_at_1 >= recall_at_1, summary
    assert report.recall_at_3 >= recall_at_3, summary
    assert report.highlight_accuracy >= highlight, summary
    for field, floor in more.items():
        assert getattr(report, field) >= floor, (field, summary)
    assert round(report.off_topic_declined * report.off_topic) >= off_topic_declined, (
        report.answered_off_topic
    )
    assert report.on_topic_declined <= on_topic_declined_at_most, summary


def make_corpus(
    folder: Path, extra_docs: dict[str, str | bytes] | None = None, with_article: bool = True
) -> Path:
    """A corpus folder holding the article (optional) and ``extra_docs`` (name -> text or bytes)."""
    folder.mkdir(parents=True, exist_ok=True)
    if with_article:
        shutil.copy(ARTICLE, folder / ARTICLE.name)
    for name, content in (extra_docs or {}).items():
        write_file(folder, name, content)
    return folder


def write_file(folder: Path, name: str, content: str | bytes) -> Path:
    """``folder / name`` holding ``content`` (text as UTF-8), its folders made."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


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


def assert_passages_are_document_slices(answer: dict, corpus: Path) -> None:
    """Every passage of an ``ask --json`` object is its document's text[start:end]; its highlight is in it."""
    from index.ingest.documents import scan_corpus

    documents = {d.doc_id: d for d in scan_corpus(corpus).documents}
    for p in answer["passages"]:
        assert p["text"] == documents[p["doc_id"]].text[p["start"] : p["end"]]
        assert p["highlight"] in p["text"]


class CountingEmbedder:
    """An embedder (the real model or a stand-in), counting every text it is asked to embed."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dimension = inner.dimension
        self.embedded: list[str] = []

    def encode_passages(self, texts: Sequence[str], progress=None) -> np.ndarray:  # noqa: ANN001
        self.embedded.extend(texts)
        return self.inner.encode_passages(texts, progress)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.encode_queries(texts)


class CountingPieces:
    """A pieces model (ColBERT's role), recording every text it reads in ``read``."""

    def __init__(self, inner, read: list[str] | None = None) -> None:  # noqa: ANN001
        self.inner = inner
        self.name = inner.name
        self.dimension = inner.dimension
        self.read: list[str] = read if read is not None else []

    def encode_tokens(self, texts: Sequence[str], progress=None) -> list:  # noqa: ANN001
        self.read.extend(texts)
        return self.inner.encode_tokens(texts, progress)

    def encode_question(self, question: str) -> np.ndarray:
        self.read.append(question)
        return self.inner.encode_question(question)


def counted(models: Models) -> tuple[Models, list[str]]:
    """``models`` whose vectors and pieces record every passage text they read, in the list returned."""
    vectors = CountingEmbedder(models.vectors)
    pieces = CountingPieces(models.pieces, vectors.embedded)
    return Models.of(vectors, pieces, models.multilingual, models.aligned, models.reranker), vectors.embedded


def renamed(models: Models, name: str, dimension: int | None = None) -> Models:
    """``models`` with vectors under another model's name (and, optionally, dimension)."""
    return Models.of(RenamedEmbedder(models.vectors, name, dimension), models.pieces)


class RenamedEmbedder(CountingEmbedder):
    """The same vectors under another model's name (and, optionally, dimension)."""

    def __init__(self, inner: Embedder, name: str, dimension: int | None = None) -> None:
        super().__init__(inner)
        self.name = name
        self.dimension = dimension or inner.dimension


# -- the command line in another process (real models: tests calling these are marked slow) --------

def cli_command(
    root: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[list[str], dict[str, str]]:
    """``python -m bot ARGS`` and its environment, over ``root``/corpus and ``root``/index."""
    environment = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "CORPUS_DIR": str(root / "corpus"),
        "INDEX_DIR": str(root / "index"),
        **(env or {}),
    }
    return [sys.executable, "-m", "bot", *args], environment


def run_cli(
    root: Path, *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the command line as a user does, in ``root`` (see ``cli_command``)."""
    command, environment = cli_command(root, *args, env=env)
    return subprocess.run(
        command, cwd=root, env=environment, input=stdin, capture_output=True, text=True, timeout=300
    )


def build_in_another_process(root: Path) -> str:
    """``python -m bot index build`` over ``root``/corpus and ``root``/index; returns its summary."""
    result = run_cli(root, "index", "build", env={"MODEL_CACHE_DIR": str(REPO / "var" / "models")})
    assert result.returncode == 0, result.stderr
    return result.stdout


HOLD_LOCK = ("import sys, time; from index.store.lock import BuildLock\n"
             "with BuildLock(sys.argv[1]).hold():\n    print('held', flush=True); time.sleep(600)")


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
