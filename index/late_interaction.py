"""Stage 2 of a search: late interaction (ColBERT MaxSim) over the candidates.

Each question token's vector is matched with the most similar piece of a candidate; the mean of
those best cosines is the candidate's score, and the same computed per sentence picks highlights::

    match(question, span) = mean over question tokens q of  max over pieces p in span of  cos(q, p)

The pieces come from the build (index.pieces, 8-bit) so a question costs one model pass for itself
and one matrix product for all its candidates; an index built without them has the model read the
candidates' texts instead (the last ``cache_size`` chunks are kept).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from index.embed import TokenVectors
from index.store import LoadedIndex
from index.tables import read_ranges


class PieceModel(Protocol):
    """What reads pieces: index.retrieval_models.ColbertPieces."""

    def encode_tokens(self, texts: list[str]) -> list[TokenVectors]: ...

    def encode_question(self, question: str) -> np.ndarray: ...


@dataclass(frozen=True)
class Matches:
    """The late-interaction scores of some candidate chunks for one question."""

    chunks: np.ndarray  # (n,) the chunk indices, in the order asked
    scores: np.ndarray  # (n,) each chunk's match
    sentences: tuple[np.ndarray, ...]  # per chunk: each sentence's match (-1: a sentence without a piece)

    def of(self, chunk: int) -> tuple[float, np.ndarray]:
        at = int(np.flatnonzero(self.chunks == chunk)[0])
        return float(self.scores[at]), self.sentences[at]


class LateInteraction:
    """Scores candidates of one loaded index with a piece model. Thread-safe."""

    def __init__(self, index: LoadedIndex, model: PieceModel, cache_size: int = 256) -> None:
        self.index = index
        self.model = model
        self._cache: OrderedDict[int, TokenVectors] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def question(self, question: str) -> np.ndarray:
        return self.model.encode_question(question)

    def match(self, chunks: list[int], question_vectors: np.ndarray) -> Matches:
        """Every chunk's and every sentence's match: one matrix product over all candidates' pieces,
        then a maximum per sentence (pieces and sentences are both in order)."""
        if not chunks:
            return Matches(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32), ())
        vectors, scales, spans, owner = self._pieces(chunks)
        sentences = [self._sentences(c) for c in chunks]
        counts = np.array([len(s) for s in sentences], dtype=np.int64)
        all_sentences = np.concatenate(sentences)
        sentence_owner = np.repeat(np.arange(len(chunks)), counts)
        # Sentence k holds a piece when they share an owner and the piece lies inside it.
        key = np.int64(1) << 40  # larger than any character offset
        sentence_starts = sentence_owner * key + all_sentences[:, 0]
        k = np.searchsorted(sentence_starts, owner * key + spans[:, 0], side="right") - 1
        inside = k >= 0
        inside[inside] &= ((sentence_owner[k[inside]] == owner[inside])
                           & (spans[inside, 1] <= all_sentences[k[inside], 1]))
        # per token, sentence
        best = np.full((len(question_vectors), len(all_sentences)), -1.0, dtype=np.float32)
        if inside.any():
            segment = k[inside]
            similarity = question_vectors @ vectors[inside].T  # (question tokens, candidate pieces)
            if scales is not None:  # stored 8-bit: scale the products, not the vectors (cheaper)
                similarity *= scales[inside]
            first = np.flatnonzero(np.r_[True, segment[1:] != segment[:-1]])
            best[:, segment[first]] = np.maximum.reduceat(similarity, first, axis=1)
        has_pieces = (best > -1.0).any(axis=0)
        sentence_scores = np.where(has_pieces, best.mean(axis=0), -1.0).astype(np.float32)
        cuts = np.cumsum(counts)[:-1]
        per_chunk = np.split(best, cuts, axis=1)
        scores = np.array(
            [block.max(axis=1).mean() if block.size else -1.0 for block in per_chunk], dtype=np.float32
        )
        return Matches(np.asarray(chunks, dtype=np.int64), scores, tuple(np.split(sentence_scores, cuts)))

    def _sentences(self, chunk_index: int) -> np.ndarray:
        return self.index.chunks.sentence_spans(chunk_index)

    def _pieces(self, chunks: list[int]) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray]:
        """The candidates' piece vectors (float32; stored ones still to be multiplied by their scales),
        the scales (None: vectors from the model), absolute spans and candidate positions, in order."""
        table = self.index.pieces
        if table is None:
            tokens = self._read_by_model(chunks)
            starts = [self.index.chunks[c].start for c in chunks]
            vectors = np.concatenate([t.vectors for t in tokens]).astype(np.float32)
            spans = np.concatenate([t.spans.reshape(-1, 2) + s for t, s in zip(tokens, starts)])
            owner = np.repeat(np.arange(len(chunks)), [len(t.spans) for t in tokens])
            return vectors, None, spans.astype(np.int64), owner
        first, count = table.chunks[chunks, 0], table.chunks[chunks, 1]
        records = read_ranges(table.records, first.tolist(), count.tolist())
        vectors = records["code"].astype(np.float32)
        starts = self.index.chunks.starts(chunks)  # stored spans are relative to the chunk's text
        spans = (
            np.stack([records["start"], records["end"]], axis=1).astype(np.int64)
            + np.repeat(starts, count)[:, None]
        )
        return vectors, np.asarray(records["scale"]), spans, np.repeat(np.arange(len(chunks)), count)

    def _read_by_model(self, chunks: list[int]) -> list[TokenVectors]:
        """Each chunk's piece vectors from the model (an index without stored pieces), spans relative
        to the chunk; the last ``cache_size`` chunks are kept."""
        found: dict[int, TokenVectors] = {}
        with self._lock:
            for c in chunks:
                if c in self._cache:
                    self._cache.move_to_end(c)
                    found[c] = self._cache[c]
        missing = [c for c in chunks if c not in found]
        if missing:
            encoded = self.model.encode_tokens([self.index.chunks[c].text for c in missing])
            encoded = [TokenVectors(t.vectors.astype(np.float16), t.spans) for t in encoded]
            found.update(zip(missing, encoded))
            with self._lock:
                for c, tokens in zip(missing, encoded):
                    self._cache[c] = tokens
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return [found[c] for c in chunks]
