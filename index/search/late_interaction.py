"""Stage 2 of a search: late interaction (ColBERT MaxSim) over the candidates.

Each question token's vector is matched with the most similar piece of a candidate; the mean of
those best cosines is the candidate's score, and the same computed per sentence picks highlights::

    match(question, span) = mean over question tokens q of  max over pieces p in span of  cos(q, p)

The model reads each chunk with its document's title in front (``context_of``): the title's pieces
count for the chunk's match, not for any sentence's. Over the held-out questions this lifted ColBERT's
recall@1 by 0.22, over the tuning set by 0.02 (bench/ablation.py, docs/evaluation.md).

The pieces come from the build (index.store.pieces, 8-bit) so a question costs one model pass for itself
and one matrix product for all its candidates; an index built without them has the model read the
candidates' texts instead (the last ``cache_size`` chunks are kept).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from index.models.encoded import PieceModel, ProgressCallback, TokenVectors
from index.store.base import SearchIndex
from index.types import Document

CONTEXT = -1  # the span (start and end) of a piece of a chunk's context, which is not in its text
BLOCK = 16_384  # pieces made float32 at once: bounds a question's memory when it scores every chunk



def context_of(document: Document) -> str:
    """What the piece model reads in front of each of the document's chunks."""
    return f"{document.title}. " if document.title else ""


def read_in_context(model: PieceModel, texts: list[str], contexts: list[str],
                    progress: ProgressCallback | None = None) -> list[TokenVectors]:
    """Each text's pieces read after its context; spans relative to the text, ``CONTEXT`` for the
    context's pieces (no ``pooled`` vector: it would have read the context too)."""
    read = model.encode_tokens([c + t for c, t in zip(contexts, texts)], progress)
    result = []
    for pieces, context in zip(read, contexts):
        spans = np.asarray(pieces.spans, dtype=np.int64).reshape(-1, 2) - len(context)
        spans[spans[:, 0] < 0] = CONTEXT
        result.append(TokenVectors(pieces.vectors, spans, pieces.pooled if not context else None))
    return result


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

    def __init__(self, index: SearchIndex, model: PieceModel, cache_size: int = 256) -> None:
        self.index = index
        self.model = model
        self._cache: OrderedDict[int, TokenVectors] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def question(self, question: str) -> np.ndarray:
        return self.model.encode_question(question)

    def match(self, chunks: list[int], question_vectors: np.ndarray) -> Matches:
        """Every chunk's and every sentence's match: one matrix product over all candidates' pieces,
        then a maximum per chunk (context included) and per sentence (pieces and sentences are both
        in order)."""
        if not chunks:
            return Matches(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32), ())
        vectors, scales, spans, owner = self._pieces(chunks)
        similarity = _similarity(question_vectors, vectors, scales)  # (question tokens, pieces)
        counts = np.bincount(owner, minlength=len(chunks))
        scores = np.full(len(chunks), -1.0, dtype=np.float32)
        if len(owner):
            has = counts > 0
            starts = (np.cumsum(counts) - counts)[has]
            scores[has] = np.maximum.reduceat(similarity, starts, axis=1).mean(axis=0)
        sentences = [self._sentences(c) for c in chunks]
        sentence_counts = np.array([len(s) for s in sentences], dtype=np.int64)
        all_sentences = np.concatenate(sentences)
        sentence_owner = np.repeat(np.arange(len(chunks)), sentence_counts)
        # Sentence k holds a piece when they share an owner and the piece lies inside it.
        key = np.int64(1) << 40  # larger than any character offset
        sentence_starts = sentence_owner * key + all_sentences[:, 0]
        k = np.searchsorted(sentence_starts, owner * key + spans[:, 0], side="right") - 1
        inside = (k >= 0) & (spans[:, 0] >= 0)
        inside[inside] &= ((sentence_owner[k[inside]] == owner[inside])
                           & (spans[inside, 1] <= all_sentences[k[inside], 1]))
        # per token, sentence
        best = np.full((len(question_vectors), len(all_sentences)), -1.0, dtype=np.float32)
        if inside.any():
            segment = k[inside]
            first = np.flatnonzero(np.r_[True, segment[1:] != segment[:-1]])
            best[:, segment[first]] = np.maximum.reduceat(similarity[:, inside], first, axis=1)
        has_pieces = (best > -1.0).any(axis=0)
        sentence_scores = np.where(has_pieces, best.mean(axis=0), -1.0).astype(np.float32)
        cuts = np.cumsum(sentence_counts)[:-1]
        return Matches(np.asarray(chunks, dtype=np.int64), scores, tuple(np.split(sentence_scores, cuts)))

    def _sentences(self, chunk_index: int) -> np.ndarray:
        return self.index.chunks.sentence_spans(chunk_index)

    def _pieces(self, chunks: list[int]) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray]:
        """The candidates' piece vectors (stored ones 8-bit, still to be multiplied by their scales),
        the scales (None: float vectors from the model), absolute spans (``CONTEXT`` for a context's
        pieces) and candidate positions, in order."""
        if not self.index.piece_count:
            tokens = self._read_by_model(chunks)
            vectors = np.concatenate([t.vectors for t in tokens]).astype(np.float32)
            relative = np.concatenate([t.spans.reshape(-1, 2) for t in tokens]).astype(np.int64)
            owner = np.repeat(np.arange(len(chunks)), [len(t.spans) for t in tokens])
            return vectors, None, _absolute(relative, self.index.chunks.starts(chunks), owner), owner
        stored = self.index.stored_pieces(chunks)
        owner = np.repeat(np.arange(len(chunks)), stored.counts)
        starts = self.index.chunks.starts(chunks)  # stored spans are relative to the chunk's text
        return stored.codes, stored.scales, _absolute(stored.spans, starts, owner), owner

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
            texts = [self.index.chunks[c].text for c in missing]
            contexts = [self._context(c) for c in missing]
            encoded = read_in_context(self.model, texts, contexts)
            encoded = [TokenVectors(t.vectors.astype(np.float16), t.spans) for t in encoded]
            found.update(zip(missing, encoded))
            with self._lock:
                for c, tokens in zip(missing, encoded):
                    self._cache[c] = tokens
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return [found[c] for c in chunks]

    def _context(self, chunk: int) -> str:
        return context_of(self.index.documents[int(self.index.chunks.document_index()[chunk])])


def _absolute(relative: np.ndarray, starts: np.ndarray, owner: np.ndarray) -> np.ndarray:
    """Spans relative to their chunk's text made absolute; a context's pieces keep ``CONTEXT``."""
    spans = relative + np.asarray(starts, dtype=np.int64)[owner][:, None]
    spans[relative[:, 0] < 0] = CONTEXT
    return spans


def _similarity(question: np.ndarray, vectors: np.ndarray, scales: np.ndarray | None) -> np.ndarray:
    """(question tokens, pieces) dot products; 8-bit pieces are made float32 a block at a time and
    their scales applied to the products (cheaper than to the vectors)."""
    if scales is None:
        return question @ vectors.T
    out = np.empty((len(question), len(vectors)), dtype=np.float32)
    for start in range(0, len(vectors), BLOCK):
        block = vectors[start : start + BLOCK].astype(np.float32)
        out[:, start : start + BLOCK] = (question @ block.T) * scales[start : start + BLOCK]
    return out
