"""What the cross-encoder reads (index.search.searcher): the cascade, and the window around the best
sentence."""

from __future__ import annotations

from collections.abc import Sequence
import numpy as np
import pytest

from index.build import build_index
from index.models.models import Models
from index.search.searcher import SearchParams, Searcher
from index.store.files import IndexStore, LoadedIndex
from tests.support import QUESTION, make_corpus
from tests.support.models import WordOverlap

QUESTIONS = (QUESTION, "How many people use Telegram in Iran?", "What did Durov say about encryption?",
             "Which Russian law requires storing users' messages?")


class Reading(WordOverlap):
    """The cross-encoder's stand-in, keeping every passage it was given."""

    def __init__(self) -> None:
        self.read: list[str] = []

    def scores(self, question: str, passages: Sequence[str]) -> np.ndarray:
        self.read.extend(passages)
        return super().scores(question, passages)


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> LoadedIndex:
    from tests.support.models import fast_models

    root = tmp_path_factory.mktemp("reads")
    store = IndexStore(root / "index")
    build_index(make_corpus(root / "corpus"), store, fast_models())
    return store.load()


def searching(index: LoadedIndex, fast_models: Models, **params: object) -> tuple[Searcher, Reading]:
    reading = Reading()
    params = {"every_chunk_pieces": 0, **params}
    return Searcher(index, fast_models.replace(reranker=reading), SearchParams(**params)), reading  # type: ignore[arg-type]


def test_a_decisive_lead_has_the_cross_encoder_read_one_pair_and_a_close_one_the_depth(
        index: LoadedIndex, fast_models: Models) -> None:
    for question in QUESTIONS:
        always, reading_all = searching(index, fast_models, decisive_margin=0.0, rerank_depth=5)
        always.rank(question)
        assert len(reading_all.read) == 5
        decisive, reading_one = searching(index, fast_models, decisive_margin=1e-9, rerank_depth=5)
        ranked = decisive.rank(question)
        lead = ranked[0].match - max(r.match for r in ranked[1:])
        assert len(reading_one.read) == (1 if lead >= 1e-9 else 5)


def test_the_window_is_a_slice_of_the_chunk_around_its_best_sentence_and_no_longer_than_asked(
        index: LoadedIndex, fast_models: Models) -> None:
    whole, whole_read = searching(index, fast_models, decisive_margin=0.0, rerank_depth=8)
    windowed, window_read = searching(index, fast_models, decisive_margin=0.0, rerank_depth=8,
                                      rerank_window=150)
    chunks = {c.text: c for c in index.chunks}
    rows = {c.text: i for i, c in enumerate(index.chunks)}
    shorter = 0
    for question in QUESTIONS:
        whole_read.read.clear()
        window_read.read.clear()
        whole.rank(question)
        windowed.rank(question)
        for full, part in zip(whole_read.read, window_read.read):
            body = next(t for t in chunks if full.endswith(t))
            prefix = full[: len(full) - len(body)]
            assert part.startswith(prefix)
            window = part[len(prefix):]
            assert window in body  # an exact slice of the chunk
            chunk = chunks[body]
            sentences = [chunk.text[s - chunk.start : e - chunk.start] for s, e in chunk.sentences]
            if len(body) <= 150 or len(sentences) < 2:
                assert window == body
            else:
                shorter += window != body
                # whole sentences only; more than 150 characters only when one sentence is
                assert any(window.startswith(s) for s in sentences)
                assert any(window.endswith(s) for s in sentences)
                assert len(window) <= 150 or window in sentences
                late = windowed.late
                assert late is not None
                scores = late.match([rows[body]], late.question(question)).sentences[0]
                assert sentences[int(np.argmax(scores))] in window  # the best-matched sentence is read
    assert shorter > 0  # the article's long paragraphs were cut
