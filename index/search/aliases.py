"""The names the corpus writes, as vectors: a name a question uses that no document writes is not
unknown when a name the corpus does write stands near it ("Moscow" and "Russia": cosine 0.83 with
MiniLM; "China" and "Russia": 0.75). Derived from the documents themselves, no list kept by hand;
the threshold is chosen on one evaluation set and reported on the others (bench/ablation.py,
docs/evaluation.md).
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Sequence

import numpy as np

from index.models.encoded import Embedder
from index.text.lexical import STOPWORDS
from index.types import Document

# A run of capitalised words inside a sentence (after a lower-case word or a comma): "Vladimir Putin".
NAME_RUN = re.compile(r"(?<=[a-z0-9,;:)’'\"”] )[A-Z][^\W_]*(?:[ -][A-Z][^\W_]*)*")
LIMIT = 5_000  # the most frequent names kept: bounds the first question's cost on a large corpus


def corpus_names(documents: Sequence[Document], limit: int = LIMIT) -> list[str]:
    """The names the documents write (runs and their single words), most frequent first."""
    counts: Counter[str] = Counter()
    for document in documents:
        for match in NAME_RUN.finditer(document.text):
            run = match.group()
            counts[run] += 1
            if " " in run:  # and its words ("The Baffler": "Baffler")
                counts.update(w for w in run.split() if w.lower() not in STOPWORDS)
    return [name for name, _ in counts.most_common(limit)]


class Aliases:
    """Tells whether a name stands near one the corpus writes; the corpus's names are read and
    embedded on first use (a second or two for a few thousand names). Thread-safe."""

    def __init__(self, documents: Sequence[Document], embedder: Embedder, threshold: float) -> None:
        self.documents = documents
        self.embedder = embedder
        self.threshold = threshold
        self._names: list[str] | None = None
        self._vectors: np.ndarray | None = None
        self._lock = threading.Lock()

    def nearest(self, name: str) -> tuple[str, float]:
        """The corpus's name nearest ``name`` and its cosine ("", -1.0 when none), leaving out the names
        ``name`` holds: "Telegram Premium" is not known for holding "Telegram"."""
        names, vectors = self._load()
        cosines = vectors @ self.embedder.encode_queries([name])[0] if names else np.zeros(0)
        words = set(name.lower().split())
        inside = np.array([set(n.lower().split()) <= words for n in names], dtype=bool)
        cosines = np.where(inside, -1.0, cosines)
        if not len(cosines) or cosines.max() < -0.5:
            return "", -1.0
        best = int(np.argmax(cosines))
        return names[best], float(cosines[best])

    def known(self, name: str) -> bool:
        return self.nearest(name)[1] >= self.threshold

    def _load(self) -> tuple[list[str], np.ndarray]:
        with self._lock:
            if self._names is None:
                self._names = corpus_names(self.documents)
                self._vectors = (self.embedder.encode_passages(self._names) if self._names
                                 else np.zeros((0, self.embedder.dimension), dtype=np.float32))
            assert self._vectors is not None
            return self._names, self._vectors
