"""Text side of featurize: the ``text_fields`` table, and the capped texts text encoders read.

A post's text fields are its own text plus text read from its media (OCR, on-screen text,
transcripts). They are built inside DuckDB (``sha256`` there equals :func:`text_key`), so a huge
post is never copied into Python to be hashed; only the first ``TEXT_MAX_CHARS`` characters of a
text to encode ever leave the database, through a temporary Parquet file read in batches.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from postlens.encoders.identity import TEXT_FIELD_SOURCES, spec_cache_prefix
from postlens.encoders.registry import EncoderSpec, get_spec
from postlens.store.features import FeatureCache
from postlens.types import MEDIA_KINDS_OF

TEXT_MAX_CHARS = 10_000
"""The most characters of one text field any text encoder sees (the cache key stays the full text's hash).

Chosen from what the models read anyway: MiniLM reads 256 word pieces and E5 512 tokens (both cut
their input at 2,000 characters first), VADER cuts at 5,000. Twice the largest of those leaves room
for what preprocessing removes (URLs, mentions, spaces) and keeps a 50 MB post from being cleaned,
language-identified and tokenized whole. A text cut here gets ``info["truncated"] = True``.
"""

TEXT_FIELD_OF = {encoder: text_field for text_field, encoder in TEXT_FIELD_SOURCES.items()}
"""Media encoder -> the text field its text becomes (the inverse of ``TEXT_FIELD_SOURCES``)."""

_ITEMS_SCHEMA = pa.schema([("key", pa.string()), ("text", pa.string()), ("cut", pa.bool_()),
                           ("post_id", pa.string())])


def build_text_fields(db: duckdb.DuckDBPyConnection, cache: FeatureCache) -> int:
    """(Re)build ``text_fields`` in one transaction: each post's own text plus text read from its media.

    field is ``text`` | ``ocr`` | ``video_text`` | ``transcript``; ``key`` is the sha256 of the text,
    which is what text encoders' cache rows are keyed by. Returns the number of rows.
    """
    media_rows: list[tuple[str, str, str]] = []
    for name, field_name in TEXT_FIELD_OF.items():
        spec = get_spec(name)
        media_text = _cached_text(cache, spec)
        if not media_text:
            continue
        kinds = MEDIA_KINDS_OF[spec.modality]
        links = db.execute(
            f"SELECT post_id, sha256 FROM media WHERE status = 'stored' AND kind IN ({', '.join('?' for _ in kinds)}) "
            "ORDER BY post_id, position",
            list(kinds),
        ).fetchall()
        per_post: dict[str, list[str]] = {}
        for post_id, sha in links:
            text = media_text.get(sha)
            if text and text not in per_post.setdefault(post_id, []):
                per_post[post_id].append(text)
        media_rows.extend((pid, field_name, "\n".join(texts)) for pid, texts in per_post.items() if texts)
    table = pa.table({"post_id": [r[0] for r in media_rows], "field": [r[1] for r in media_rows],
                      "text": [r[2] for r in media_rows]},
                     schema=pa.schema([("post_id", pa.string()), ("field", pa.string()), ("text", pa.string())]))
    db.register("_media_text", table)
    try:
        db.execute("BEGIN")
        try:
            db.execute("CREATE OR REPLACE TABLE text_fields (post_id VARCHAR, field VARCHAR, text VARCHAR, key VARCHAR)")
            db.execute("INSERT INTO text_fields SELECT id, 'text', text, sha256(text) FROM posts "
                       "WHERE length(trim(text)) > 0")
            db.execute("INSERT INTO text_fields SELECT post_id, field, text, sha256(text) FROM _media_text")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
    finally:
        db.unregister("_media_text")
    ((count,),) = db.execute("SELECT count(*) FROM text_fields").fetchall()  # fetchone would leave the result open
    return int(count)


def _cached_text(cache: FeatureCache, spec: EncoderSpec) -> dict[str, str]:
    """Text an encoder read from media, from every cached version of it (newest part wins)."""
    out: dict[str, str] = {}
    for folder in sorted(cache.root.glob(f"{spec_cache_prefix(spec)}@*")):
        out.update((key, text.strip()) for key, text in cache.texts(folder.name).items() if text.strip())
    return out


@dataclass
class TextTodo:
    """What the text encoders lack: ``missing[encoder key]`` = text keys; ``items`` = distinct texts in scope."""

    items: int = 0
    missing: dict[str, set[str]] = field(default_factory=dict)


def export_text_items(db: duckdb.DuckDBPyConnection, out: Path, encoder_keys: Sequence[str], cache: FeatureCache,
                      post_ids: Sequence[str] | None, max_chars: int) -> TextTodo:
    """Write (key, first ``max_chars`` characters, cut?, one post id) of every text some encoder lacks to ``out``.

    Streams from DuckDB in record batches, so memory holds at most one batch of capped texts.
    """
    scope = ""
    if post_ids is not None:
        db.register("_only_ids", pa.table({"id": pa.array(list(post_ids), pa.string())}))
        scope = "WHERE post_id IN (SELECT id FROM _only_ids)"
    try:
        keys = [k for (k,) in db.execute(f"SELECT DISTINCT key FROM text_fields {scope} ORDER BY key").fetchall()]
        todo = TextTodo(len(keys), {enc: set(cache.missing(enc, keys)) for enc in encoder_keys})
        wanted = sorted(set().union(*todo.missing.values())) if todo.missing else []
        if not wanted:
            return todo
        db.register("_wanted", pa.table({"key": pa.array(wanted, pa.string())}))
        try:
            reader = db.sql(
                "SELECT key, left(any_value(text), $cap) AS text, any_value(length(text)) > $cap AS cut, "
                "min(post_id) AS post_id FROM text_fields WHERE key IN (SELECT key FROM _wanted) "
                "GROUP BY key ORDER BY key",
                params={"cap": max_chars},
            ).to_arrow_reader(1024)
            with pq.ParquetWriter(out, _ITEMS_SCHEMA) as writer:
                for batch in reader:
                    writer.write_batch(pa.RecordBatch.from_arrays(
                        [batch.column(i).cast(_ITEMS_SCHEMA.field(i).type) for i in range(4)], schema=_ITEMS_SCHEMA))
        finally:
            db.unregister("_wanted")
        return todo
    finally:
        if post_ids is not None:
            db.unregister("_only_ids")


def cut_at_space(text: str) -> str:
    """A text cut by the cap, shortened to its last space in the second half (no half word at the end)."""
    cut = text.rfind(" ", len(text) // 2)
    return text[:cut] if cut > 0 else text
