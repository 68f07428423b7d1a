"""Chunks and sentences keep exact offsets: every span is a slice of the document text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from index.ingest.chunk import MAX_SENTENCE_CHARS, chunk_document, paragraph_spans, sentence_spans
from index.ingest.documents import scan_corpus
from index.types import Document
from tests.support import ARTICLE


def doc(text: str) -> Document:
    return Document(doc_id="d.md", title="d", text=text, content_hash="x")


def assert_chunks_are_exact(document: Document, max_chars: int = 1500) -> None:
    chunks = chunk_document(document, max_chars=max_chars)
    previous_end = 0
    for chunk in chunks:
        assert chunk.text == document.text[chunk.start : chunk.end]
        assert chunk.text and not chunk.text[0].isspace() and not chunk.text[-1].isspace()
        assert chunk.start >= previous_end, "chunks overlap"
        previous_end = chunk.end
        assert chunk.end - chunk.start <= max(max_chars, MAX_SENTENCE_CHARS)
        assert chunk.sentences[0][0] == chunk.start and chunk.sentences[-1][1] == chunk.end
        for (s1, e1), (s2, _e2) in zip(chunk.sentences, chunk.sentences[1:]):
            assert e1 <= s2 and document.text[e1:s2].strip() == ""
    # Nothing but whitespace is left out.
    covered = "".join(document.text[c.start : c.end] for c in chunks)
    assert "".join(covered.split()) == "".join(document.text.split())


def test_article_paragraphs_become_chunks_with_exact_offsets() -> None:
    (document,) = [d for d in scan_corpus(ARTICLE.parent).documents if d.doc_id == ARTICLE.name]
    chunks = chunk_document(document)
    assert len(chunks) == len(paragraph_spans(document.text)) == 16
    assert [c.paragraph for c in chunks] == list(range(1, 17))
    assert chunks[0].text.startswith("On September 26 Iranian authorities")
    assert_chunks_are_exact(document)


def test_sentences_split_at_full_stops_but_not_inside_abbreviations() -> None:
    text = "Mr. Durov left. He said: “No.” Then the U.S. agency asked questions! Why? Fine."
    spans = sentence_spans(text, 0, len(text))
    assert [text[s:e] for s, e in spans] == [
        "Mr. Durov left.", "He said: “No.”", "Then the U.S. agency asked questions!", "Why?", "Fine.",
    ]


def test_long_paragraph_is_split_between_sentences() -> None:
    sentence = "Telegram was asked for its encryption keys by the security service. "
    document = doc(sentence * 60)
    chunks = chunk_document(document, max_chars=700)
    assert len(chunks) > 1
    assert all(c.paragraph == 1 for c in chunks)
    assert all(c.text.endswith("service.") for c in chunks)
    assert_chunks_are_exact(document, max_chars=700)


def test_text_without_punctuation_is_cut_at_spaces() -> None:
    document = doc(" ".join(["word"] * 3000))
    assert_chunks_are_exact(document)


@settings(max_examples=200, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("ab .!?\n\n\t“”’\u200b\u0301\u05d0Z1")) | st.characters(), max_size=3000
    )
)
def test_any_text_chunks_into_exact_non_overlapping_slices(text: str) -> None:
    assert_chunks_are_exact(doc(text), max_chars=600)
