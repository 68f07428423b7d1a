"""Answer a question from one loaded index: the stages of a search, in order.

1. candidates (index.search.candidates): nearest sentence-transformers vectors in FAISS + best BM25 chunks;
2. late interaction (index.search.late_interaction): ColBERT MaxSim of the question with every candidate's
   stored pieces, mixed with the dense cosine, orders the candidates;
3. re-ranking (index.search.rerank): the cross-encoder reads the best ``rerank_depth`` with the question
   (title and date in front; a year the question names is preferred);
4. abstention (index.search.abstention): decline when the best passage's logit is below the threshold, or
   when the question names something (a name, a year) that no document contains;
5. passages (index.search.passages): one per paragraph, no three from one document while another answers,
   each with the sentence that matches best (late interaction) highlighted, preferring one that
   holds the kind of answer asked (index.search.answer_types); declined when no passage holds one.

Every stage can be switched off in ``SearchParams``; docs/evaluation.md has the ablation table.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from index.search import answer_language, crosslingual
from index.search.aliases import Aliases
from index.search.answer_types import asked_kind, holds
from index.search.abstention import THRESHOLD, confidence, nearest_titles, unknown_terms
from index.search.candidates import Candidate, find_candidates
from index.models.models import Models
from index.text.language import SERVED, question_language
from index.search.late_interaction import LateInteraction, Matches
from index.search.passages import highlight, make_passage, select
from index.search.rerank import rerank, with_year_bonus
from index.store.base import ALIGNED, MULTILINGUAL, SearchIndex
from index.text.transliteration import Skeletons
from index.types import Chunk, Document, Retrieval, Scored


@dataclass(frozen=True)
class _Ranked:
    """Every candidate scored, best first, with what highlights and cross-language picks need."""

    scored: list[Scored]
    matches: Matches | None  # late interaction of the English pairs
    vector: np.ndarray | None  # the question's multilingual vector
    aligned_vector: np.ndarray | None  # its USE-multilingual vector, when USE reads its language
    by_language: dict[str, crosslingual.LanguageMatches]
    aligned: dict[str, crosslingual.LanguageMatches]  # the same by USE (index.search.answer_language)


@dataclass(frozen=True)
class SearchParams:
    """Retrieval knobs; the defaults are what the evaluation chose (docs/evaluation.md)."""

    dense_depth: int = 40  # nearest vectors fetched from FAISS
    # Up to this many stored pieces (about 500 chunks), late interaction scores every chunk, not only
    # the candidates of stage 1, whose pool missed the answer for 6 % of the tuning questions; it then
    # costs a question less than the cross-encoder's pairs (bench/every_chunk.py, bench/ablation.py).
    every_chunk_pieces: int = 50_000
    lexical_depth: int = 10  # best BM25 chunks added to them
    per_language: int = crosslingual.PER_LANGUAGE  # nearest multilingual vectors of each language added
    dense_weight: float = 0.0  # share of the dense cosine beside the late-interaction match (stage 2)
    # Candidates the cross-encoder reads when the cascade does not decide (0: off). 8 instead of 12: a third
    # fewer pairs for recall@1 A -0.007, B +0.018, the article +0 (bench/ablation.py, docs/evaluation.md).
    rerank_depth: int = 8
    late_interaction: bool = True  # ColBERT's match orders the candidates (off: benches of the rest)
    # When late interaction's best match leads the next by this much, its order stands and the
    # cross-encoder reads the first passage only, for abstention (0: it always reads ``rerank_depth``).
    # Chosen on the tuning set (r@1 +0.007, half the questions read); bench/ablation.py.
    decisive_margin: float = 0.015
    # The cross-encoder reads this many characters of a longer chunk, around the sentence late interaction
    # matched best (0: the whole chunk, up to its 256 tokens); bench/ablation.py.
    rerank_window: int = 0
    late_weight: float = 0.5  # weight of the late-interaction match (standardised) beside the logit
    year_bonus: float = 2.0  # added to the logit of a chunk of a year the question names
    unknown_terms: bool = True  # decline a question naming what no document contains
    # A name no document writes is known when a name the corpus writes is this near (MiniLM cosine,
    # index.search.aliases; 0: off; the nearest off-topic name on the tuning set is at 0.75), or when written
    # after "the" (``descriptions``: one more off-topic answer there, "the Kremlin" no longer declined
    # on the article): bench/ablation.py, docs/evaluation.md.
    alias_cosine: float = 0.80
    descriptions: bool = True
    # Passages from one document while another document's passage answers (0: no limit). At 2 it cost
    # recall@3 on both evaluation sets (0.008 and 0.018), so it is off (bench/ablation.py).
    per_document: int = 0
    min_score: float | None = None  # None: the calibrated threshold (index.search.abstention)
    highlight_join_margin: float = 0.5  # join a neighbour sentence whose logit (or match / 20) is this close
    # Off: the cross-encoder picks the highlighted sentence barely better than ColBERT's MaxSim, for a
    # cross-encoder pass over each shown passage's sentences (docs/evaluation.md).
    highlight_by_pairs: bool = False
    # Across languages, USE (when it reads both) picks the highlighted sentence instead of e5: a question
    # 407 -> 84 ms on the languages set, but highlights 0.479 -> 0.396 there, so off (bench/ablation.py).
    highlight_by_use: bool = False
    answer_kinds: bool = True  # decline a "when"/"how much"/"who" question none of whose passages holds one
    kind_bonus: float = 0.05  # added to the match of a sentence holding the kind asked, for highlights

    def __post_init__(self) -> None:
        if self.dense_depth < 1:
            raise ValueError("dense_depth must be > 0")
        if self.every_chunk_pieces < 0:
            raise ValueError("every_chunk_pieces must be >= 0")
        if self.lexical_depth < 0 or self.rerank_depth < 0:
            raise ValueError("lexical_depth and rerank_depth must be >= 0")
        if not 0.0 <= self.dense_weight <= 1.0:
            raise ValueError("dense_weight must be between 0 and 1")
        if self.per_document < 0:
            raise ValueError("per_document must be >= 0")

    @property
    def threshold(self) -> float:
        if self.min_score is not None:
            return self.min_score
        return THRESHOLD["cross-encoder" if self.rerank_depth else "late-interaction"]


class Searcher:
    """Answers questions from one loaded index. Immutable after construction; thread-safe."""

    def __init__(self, index: SearchIndex, models: Models, params: SearchParams | None = None) -> None:
        self.index = index
        self.params = params or SearchParams()
        self.embedder = models.questions  # question vectors (stage 1)
        # Questions' multilingual vectors, when the index has the passages' (index.search.crosslingual).
        self.multilingual = models.multilingual if index.has(MULTILINGUAL) else None
        # Questions' USE-multilingual vectors, when the index has the passages'
        # (index.search.answer_language).
        self.aligned = models.aligned if index.has(ALIGNED) and self.multilingual is not None else None
        reranker = models.reranker if self.params.rerank_depth else None
        pieces = models.pieces if self.params.late_interaction else None
        embedder = self.embedder
        self.languages = None
        self._skeletons: Skeletons | None = None
        self.aliases = (Aliases(index.documents, embedder, self.params.alias_cosine)
                        if self.params.alias_cosine else None)
        if reranker is None and self.params.rerank_depth:  # no cross-encoder was chosen (RERANK_DEPTH=0)
            self.params = SearchParams(**{**self.params.__dict__, "rerank_depth": 0})
        self.reranker = reranker
        self.late = LateInteraction(index, pieces) if pieces is not None else None
        self.documents: tuple[Document, ...] = index.documents
        self._doc_by_id = {d.doc_id: d for d in index.documents}
        if self.multilingual is not None:
            self.languages = crosslingual.ChunkLanguages(index, self._doc_by_id)
        self._years = {d.date[:4] for d in index.documents if d.date}
        self._chunk_count: dict[str, int] = index.chunks.counts_by_document()
        self.every_chunk = (self.late is not None and 0 < index.piece_count <= self.params.every_chunk_pieces)

    def chunk_count(self, doc_id: str) -> int:
        return self._chunk_count.get(doc_id, 0)

    def rank(self, question: str) -> list[Scored]:
        """Every candidate, scored by each stage, best first."""
        return self._rank(question, question_language(question)).scored

    def unknown_terms(self, question: str, language: str | None = None) -> tuple[str, ...]:
        """The names and years of ``question`` (in ``language``, detected when not given) that no
        document contains (index.search.abstention)."""
        english = (language or question_language(question)) == "en"
        across = not english or any((d.language or "en") != "en" for d in self.documents)
        return unknown_terms(
            question, self.index.lexicon, self._years, self._other_scripts() if across else None, english,
            self.aliases.known if self.aliases is not None else None, self.params.descriptions,
        )

    def _other_scripts(self) -> Skeletons | None:
        """The corpus's words as skeletons, to match names across scripts (made on first use: a
        second or two at a million chunks)."""
        lexicon = self.index.lexicon
        if self._skeletons is None and lexicon is not None:
            self._skeletons = Skeletons(lexicon.vocab_dict)
        return self._skeletons

    def search(self, question: str, top_k: int) -> Retrieval:
        """The top ``top_k`` passages with highlights, or a decline naming the nearest documents; the
        best passage of another language first or among them when it answers
        (index.search.answer_language)."""
        language = question_language(question)
        if language not in SERVED:
            return Retrieval(question, False, language=language, unserved=True)
        found = self._rank(question, language)
        ranked, chunks = found.scored, self.index.chunks
        threshold = self.params.threshold
        unknown = self.unknown_terms(question, language) if self.params.unknown_terms else ()
        best = confidence(ranked, read=bool(self.params.rerank_depth))
        if unknown or best < threshold:
            return Retrieval(
                question, False, (), nearest_titles(ranked, chunks, self._doc_by_id), unknown, best, language
            )
        chosen = select(ranked, chunks, top_k, threshold, self.params.per_document)
        if self.languages is not None:
            best_of_language = answer_language.best_of_each(ranked, self.languages.of)
            named = answer_language.named_only_in(question, self.index.lexicon, self._other_scripts())
            choice = answer_language.choose(
                found.by_language, found.aligned, language,
                lambda other: other in best_of_language and _judged(best_of_language[other]) >= threshold,
                named)
            chosen = answer_language.arrange(chosen, best_of_language, choice, top_k)
        kind = asked_kind(question) if self.params.answer_kinds else None
        if kind and not any(self._holds(kind, s.chunk, question, language) for s in chosen):
            nearest = nearest_titles(ranked, chunks, self._doc_by_id)
            return Retrieval(question, False, (), nearest, (), best, language, missing=kind)
        passages = []
        for scored in chosen:
            chunk = chunks[scored.chunk]
            document = self._doc_by_id[chunk.doc_id]
            if crosslingual.english_pair(language, document):
                span = self._highlight(question, scored.chunk, found.matches, kind)
            else:
                span = self._highlight_across(question, scored.chunk, found, kind)
            passages.append(make_passage(scored, chunk, document, span))
        return Retrieval(question, True, tuple(passages), confidence=best, language=language)

    def _rank(self, question: str, language: str = "en") -> "_Ranked":
        p = self.params
        vector = self.embedder.encode_queries([question])[0]
        found = find_candidates(self.index, question, vector, p.dense_depth, p.lexical_depth,
                                self.every_chunk)
        across, by_language, aligned, use = None, {}, {}, None
        if self.multilingual is not None and self.languages is not None:
            across = self.multilingual.encode_queries([question])[0]
            by_language = self.languages.nearest(MULTILINGUAL, across, p.per_language)
            if self.aligned is not None and language in answer_language.USE_READS:
                use = self.aligned.encode_queries([question])[0]
                aligned = self.languages.nearest(ALIGNED, use, p.per_language)
            known = {c.chunk for c in found}
            for matches in by_language.values():
                found += [Candidate(c, -1.0, 0.0) for c in matches.chunks.tolist() if c not in known]
                known.update(matches.chunks.tolist())
        if not found:
            return _Ranked([], None, across, use, by_language, aligned)
        english: list[Candidate] = []
        other: list[Candidate] = []
        for candidate in found:
            pair_is_english = crosslingual.english_pair(language, self._document_of(candidate.chunk))
            (english if pair_is_english else other).append(candidate)
        if other and across is None:  # no multilingual vectors: the English-only models read them all
            english, other = found, []
        scored, matches = self._rank_english(question, english) if english else ([], None)
        scored += self._score_across(question, language, other, across) if other else []
        scored.sort(key=lambda s: (-s.score, s.chunk))
        return _Ranked(scored, matches, across, use, by_language, aligned)

    def _document_of(self, chunk: int) -> Document:
        return self._doc_by_id[self.index.chunks[chunk].doc_id]

    def _score_across(self, question: str, language: str, found: list[Candidate],
                      vector: np.ndarray | None) -> list[Scored]:
        """Pairs the English-only models cannot read: the multilingual cosine, on the logit scale."""
        ids = [c.chunk for c in found]
        cosine = crosslingual.cosines(self.index, ids, vector)
        within = np.array([(self._document_of(c).language or "en") == language for c in ids])
        # On the scale of what abstention judges: the cross-encoder's logit, or without it the match
        # (whose spread is a cosine's: slope 1, and the year bonus likewise scaled down).
        read = bool(self.params.rerank_depth)
        base = THRESHOLD["cross-encoder" if read else "late-interaction"]
        slope = crosslingual.SCALE if read else 1.0
        logits = crosslingual.as_logit(cosine, base, within, slope)
        chunks = [self.index.chunks[c] for c in ids]
        ranks = with_year_bonus(logits, question, chunks, [self._doc_by_id[c.doc_id] for c in chunks],
                                self.params.year_bonus * slope / crosslingual.SCALE)
        return [Scored(c.chunk, float(r), c.dense, c.words, float(m), float(logit))
                for c, r, m, logit in zip(found, ranks, cosine, logits)]

    def _rank_english(self, question: str, found: list[Candidate]) -> tuple[list[Scored], Matches | None]:
        p = self.params
        ids = [c.chunk for c in found]
        dense = np.array([c.dense for c in found], dtype=np.float32)
        matches = self.late.match(ids, self.late.question(question)) if self.late is not None else None
        match = matches.scores if matches is not None else dense
        mixed = (1 - p.dense_weight) * match + p.dense_weight * dense
        order = sorted(range(len(found)), key=lambda i: (-mixed[i], ids[i]))
        scored = [
            Scored(ids[i], float(mixed[i]), float(dense[i]), found[i].words, float(match[i])) for i in order
        ]
        if not p.rerank_depth or self.reranker is None:
            return scored, matches
        lead = scored[0].match - scored[1].match if matches is not None and len(scored) > 1 else 0.0
        depth = 1 if p.decisive_margin and lead >= p.decisive_margin else p.rerank_depth
        top, rest = scored[:depth], scored[depth:]
        chunks = [self._window(self.index.chunks[s.chunk], s.chunk, matches) for s in top]
        logits, judged = rerank(self.reranker, question, chunks, [self._doc_by_id[c.doc_id] for c in chunks],
                                p.year_bonus)
        ordering = judged
        if p.late_weight and len(top) > 1:
            spread = np.array([s.score for s in top])
            ordering = judged + p.late_weight * (spread - spread.mean()) / (spread.std() + 1e-6)
        read = [Scored(s.chunk, float(o), s.dense, s.words, s.match, float(logit))
                for s, o, logit in zip(top, ordering, logits)]
        read.sort(key=lambda s: (-s.score, s.chunk))
        # Chunks the cross-encoder did not read rank below those it did, in late interaction's order.
        floor = read[-1].score - 1.0
        return read + [Scored(s.chunk, floor - 1e-6 * i, s.dense, s.words, s.match)
                       for i, s in enumerate(rest)], matches

    def _window(self, chunk: Chunk, chunk_index: int, matches: Matches | None) -> Chunk:
        """What the cross-encoder reads of ``chunk``: its best-matched sentence and the better of its
        neighbours in turn, up to ``rerank_window`` characters (the whole chunk when shorter)."""
        size = self.params.rerank_window
        if not size or len(chunk.text) <= size or matches is None or len(chunk.sentences) < 2:
            return chunk
        scores = matches.of(chunk_index)[1]
        spans = chunk.sentences
        first = last = int(np.argmax(scores))
        while True:
            options = [i for i in (first - 1, last + 1) if 0 <= i < len(spans)]
            if not options:
                break
            take = max(options, key=lambda i: scores[i])
            low, high = min(first, take), max(last, take)
            if spans[high][1] - spans[low][0] > size:
                break
            first, last = low, high
        start, end = spans[first][0], spans[last][1]
        return replace(chunk, start=start, end=end, text=chunk.text[start - chunk.start : end - chunk.start],
                       sentences=spans[first : last + 1])

    def _holds(self, kind: str, chunk: int, question: str, language: str) -> bool:
        """Whether the chunk holds an answer of ``kind``; what the question counts or pays is matched by
        its words only in the question's own language (across languages, any figure will do)."""
        same = (self._document_of(chunk).language or "en") == language
        return holds(kind, self.index.chunks[chunk].text, question if same else "")

    def _with_kind(self, scores: np.ndarray, texts: list[str], kind: str | None, question: str,
                   scale: float = 1.0) -> np.ndarray:
        """Sentence scores with ``kind_bonus`` (times ``scale``) for each sentence holding the kind asked."""
        if not kind or not self.params.kind_bonus:
            return scores
        bonus = np.array([holds(kind, t, question) for t in texts], dtype=np.float32)
        bonus *= self.params.kind_bonus * scale
        return np.asarray(scores, dtype=np.float32) + bonus

    def _highlight_across(self, question: str, chunk_index: int, found: _Ranked,
                          kind: str | None = None) -> tuple[int, int]:
        """The sentence of a passage the English-only models cannot read that best answers, by e5 (about
        22 ms a sentence), or by USE with ``highlight_by_use`` when it reads both languages."""
        chunk = self.index.chunks[chunk_index]
        spans = list(chunk.sentences) or [(chunk.start, chunk.end)]
        sentences = np.asarray(spans, dtype=np.int64).reshape(-1, 2)
        model, vector = self.multilingual, found.vector
        written = self._doc_by_id[chunk.doc_id].language or "en"
        if (self.params.highlight_by_use and self.aligned is not None and found.aligned_vector is not None
                and written in answer_language.USE_READS):
            model, vector = self.aligned, found.aligned_vector
        if len(sentences) == 1 or vector is None or model is None:
            return int(sentences[0][0]), int(sentences[0][1])
        texts = [chunk.text[s - chunk.start : e - chunk.start] for s, e in sentences]
        scores = self._with_kind(crosslingual.sentence_scores(model, vector, texts), texts, kind, question)
        return highlight(sentences, scores.tolist(), self.params.highlight_join_margin / 20)

    def _highlight(self, question: str, chunk_index: int, matches: Matches | None,
                   kind: str | None = None) -> tuple[int, int]:
        chunk = self.index.chunks[chunk_index]
        spans = list(chunk.sentences) or [(chunk.start, chunk.end)]
        sentences = np.asarray(spans, dtype=np.int64).reshape(-1, 2)
        if len(sentences) == 1:
            return int(sentences[0][0]), int(sentences[0][1])
        margin = self.params.highlight_join_margin
        texts = [chunk.text[s - chunk.start : e - chunk.start] for s, e in sentences]
        if self.params.highlight_by_pairs and self.reranker is not None:
            document = self._doc_by_id[chunk.doc_id]
            logits = self.reranker.scores(question, [f"{document.title}. {t}" for t in texts])
            return highlight(sentences, self._with_kind(logits, texts, kind, question, 20).tolist(), margin)
        if matches is not None and chunk_index in set(matches.chunks.tolist()):
            scores = self._with_kind(matches.of(chunk_index)[1], texts, kind, question)
            return highlight(sentences, scores.tolist(), margin / 20)
        return int(sentences[0][0]), int(sentences[0][1])


def _judged(scored: Scored) -> float:
    """What abstention would judge of one passage: its logit, or its ranking score without one."""
    return scored.score if scored.logit is None else scored.logit
