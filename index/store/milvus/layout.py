"""How a build is laid out in Milvus: one collection per build, one row per chunk.

    row          INT64 primary key: the chunk's row (row i is chunk i, as in the files store)
    lang         the chunk's document language (filters the multilingual candidates per language)
    text_en      the chunk's text when its document is English: BM25 by Milvus's English analyzer
    text_ru      ... Russian: BM25 by the standard tokenizer, lowercase and the Russian Snowball stemmer
    text_fa      any other language (Persian): casebot's own terms (index.text.lexical) joined by
                 spaces, BM25 over a whitespace tokenizer. Milvus has no Persian analyzer: its standard
                 tokenizer would keep «هات‌گرام» (ZWNJ) and «هاتگرام», an Arabic keyboard's ي and ی, or ۳۰
                 and 30 apart, which casebot's normalisation joins; Snowball's Persian stemmer cuts names
    sp_en/ru/fa  the BM25 functions' sparse vectors
    vectors      FLOAT_VECTOR: MiniLM; multilingual / aligned: e5 and USE-multilingual, when built

The word pieces live beside, in one collection ``<name>_pieces`` that builds share, keyed by the chunk's
content hash (as the files store's tokens.bin is shared): an incremental build inserts the pieces of its
new chunks only. A row: ``key`` (the hash, hex), ``build`` (the build that inserted it: pruning removes
what a killed build left), ``pieces`` (ARRAY<VARCHAR>: the chunk's 8-bit records, index.store.pieces, in
base64 blocks of at most 49,000 bytes; one block for a typical chunk of 85 pieces).

Per chunk rather than one row per piece: fetching 50 chunks' pieces took 24 ms this way and 693 ms as
one FLOAT16 row per piece (milvus-lite 2.5.1, docs/milvus.md). Multi-vector MaxSim fields need Milvus
2.6.4 or later (not in milvus-lite 2.5.1), so the pieces are scored in Python as with the files store.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

import numpy as np

from index.store.base import ALIGNED, MULTILINGUAL, VECTORS
from index.store.pieces import record_dtype
from index.text.lexical import terms_of

BLOCK_BYTES = 49_000  # base64 of it fits a VARCHAR (at most 65,535 bytes)
MAX_BLOCKS = 64  # pieces of one chunk: 3.1 MB, about 7,900 pieces
TEXT_BYTES = 65_535
BM25_FIELDS = {"en": "text_en", "ru": "text_ru", "fa": "text_fa"}  # any other language: text_fa
ANALYZERS: dict[str, dict[str, Any]] = {
    "text_en": {"type": "english"},
    "text_ru": {"tokenizer": "standard", "filter": ["lowercase", {"type": "stemmer", "language": "russian"}]},
    "text_fa": {"tokenizer": "whitespace"},
}
OWN_TERMS = "text_fa"  # the field holding casebot's terms, not the text
EXACT_LIMIT = 100_000  # below this many chunks: FLAT (exact), as the files store (index.store.vectors)


def sparse_field(text_field: str) -> str:
    return "sp_" + text_field.split("_")[1]


def bm25_field(language: str) -> str:
    return BM25_FIELDS.get(language, OWN_TERMS)


def bm25_text(text_field: str, text: str) -> str:
    """What goes into ``text_field`` for a chunk (or a question): the text, or casebot's terms."""
    if text_field == OWN_TERMS:
        text = " ".join(terms_of(text))
    return _fit(text)


def _fit(text: str) -> str:
    data = text.encode("utf-8", "replace")
    if len(data) <= TEXT_BYTES:
        return text.encode("utf-8", "replace").decode("utf-8")
    return data[:TEXT_BYTES].decode("utf-8", "ignore")


def chunk_schema(client: Any, dimensions: dict[str, int]) -> Any:
    """The schema of a build's collection; ``dimensions``: each vector space's, 0 for none."""
    from pymilvus import DataType, Function, FunctionType

    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("row", DataType.INT64, is_primary=True)
    schema.add_field("lang", DataType.VARCHAR, max_length=16)
    for field, analyzer in ANALYZERS.items():
        schema.add_field(field, DataType.VARCHAR, max_length=TEXT_BYTES, enable_analyzer=True,
                         analyzer_params=analyzer)
        schema.add_field(sparse_field(field), DataType.SPARSE_FLOAT_VECTOR)
        schema.add_function(Function(name=f"bm25_{field}", function_type=FunctionType.BM25,
                                     input_field_names=[field], output_field_names=[sparse_field(field)]))
    for space in (VECTORS, MULTILINGUAL, ALIGNED):
        if dimensions.get(space):
            schema.add_field(space, DataType.FLOAT_VECTOR, dim=dimensions[space])
    return schema


def pieces_schema(client: Any) -> Any:
    """The schema of the collection of word pieces that builds share (keyed by content hash)."""
    from pymilvus import DataType

    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("key", DataType.VARCHAR, max_length=32, is_primary=True)
    schema.add_field("build", DataType.VARCHAR, max_length=255)
    schema.add_field("pieces", DataType.ARRAY, element_type=DataType.VARCHAR, max_capacity=MAX_BLOCKS,
                     max_length=TEXT_BYTES)
    schema.add_field("unused", DataType.FLOAT_VECTOR, dim=2)  # Milvus wants a vector field
    return schema


def index_params(client: Any, dimensions: dict[str, int], chunks: int) -> Any:
    """Exact search (FLAT) below ``EXACT_LIMIT`` chunks, as the files store; above, the server's
    AUTOINDEX (HNSW on a Milvus server; milvus-lite offers only FLAT, IVF_FLAT and AUTOINDEX)."""
    params = client.prepare_index_params()
    kind = "FLAT" if chunks < EXACT_LIMIT else "AUTOINDEX"
    for space in (VECTORS, MULTILINGUAL, ALIGNED):
        if dimensions.get(space):
            params.add_index(space, index_type=kind, metric_type="IP")
    for field in ANALYZERS:
        params.add_index(sparse_field(field), index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
    return params


def encode_pieces(records: np.ndarray) -> list[str]:
    """A chunk's piece records as base64 blocks (one empty block for a chunk without pieces)."""
    raw = np.ascontiguousarray(records).tobytes()
    blocks = [base64.b64encode(raw[i : i + BLOCK_BYTES]).decode("ascii")
              for i in range(0, len(raw), BLOCK_BYTES)]
    if len(blocks) > MAX_BLOCKS:
        raise ValueError(f"a chunk of {len(records)} word pieces does not fit a Milvus row")
    return blocks or [""]


def decode_pieces(blocks: Sequence[str], dimension: int) -> np.ndarray:
    raw = b"".join(base64.b64decode(b) for b in blocks)
    return np.frombuffer(raw, dtype=record_dtype(dimension))
