"""Batch writes into the workspace tables through Arrow (row-by-row inserts are ~100x slower in DuckDB)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

from postlens.store.post_hash import content_hash

_TS = pa.timestamp("us", tz="UTC")
_STR_LIST = pa.list_(pa.string())

POSTS_SCHEMA = pa.schema(
    [
        ("id", pa.string()), ("source", pa.string()), ("native_id", pa.string()), ("platform", pa.string()),
        ("created_at", _TS), ("text", pa.string()), ("language", pa.string()), ("author_id", pa.string()),
        ("author_handle", pa.string()), ("author_followers", pa.int64()), ("author_verified", pa.bool_()),
        ("hashtags", _STR_LIST), ("mentions", _STR_LIST), ("urls", _STR_LIST),
        ("labels", pa.map_(pa.string(), pa.string())), ("media_kinds", _STR_LIST), ("raw", pa.string()),
        ("content_hash", pa.string()), ("run_id", pa.string()), ("origin_file", pa.string()),
        ("origin_line", pa.int64()), ("first_seen", _TS), ("updated_at", _TS),
    ]
)
MEDIA_SCHEMA = pa.schema(
    [
        ("post_id", pa.string()), ("position", pa.int32()), ("kind", pa.string()), ("status", pa.string()),
        ("path", pa.string()), ("url", pa.string()), ("sha256", pa.string()), ("mime", pa.string()),
        ("bytes", pa.int64()), ("width", pa.int32()), ("height", pa.int32()), ("duration_s", pa.float64()),
        ("source_path", pa.string()),
    ]
)
ENGAGEMENT_SCHEMA = pa.schema(
    [
        ("post_id", pa.string()), ("observed_at", _TS), ("likes", pa.int64()), ("shares", pa.int64()),
        ("comments", pa.int64()), ("views", pa.int64()), ("run_id", pa.string()),
        ("observed_inferred", pa.bool_()),
    ]
)
QUARANTINE_SCHEMA = pa.schema(
    [
        ("file", pa.string()), ("line", pa.int64()), ("code", pa.string()), ("post_id", pa.string()),
        ("reason", pa.string()), ("raw", pa.string()), ("run_id", pa.string()), ("quarantined_at", _TS),
        ("post_kept", pa.bool_()),
    ]
)


@dataclass(frozen=True)
class BatchCounts:
    new: int
    changed: int
    unchanged: int
    snapshots_added: int


def _table(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    columns = {name: [row[name] for row in rows] for name in schema.names}
    if "labels" in columns:
        columns["labels"] = [list(labels.items()) for labels in columns["labels"]]
    return pa.table(columns, schema=schema)


def write_batch(
    db: duckdb.DuckDBPyConnection,
    posts: list[dict[str, Any]],
    media: list[dict[str, Any]],
    engagement: list[dict[str, Any]],
    quarantine: list[dict[str, Any]],
) -> BatchCounts:
    """Write one batch atomically; posts whose content did not change are left as they are."""
    new = changed = unchanged = added = 0
    db.execute("BEGIN TRANSACTION")
    try:
        if posts:
            ids = pa.table({"id": [p["id"] for p in posts]})
            db.register("_batch_ids", ids)
            existing = {
                row[0]: (row[1], row[2], dict(zip(row[3] or [], row[4] or [])))
                for row in db.execute(
                    "SELECT p.id, p.content_hash, p.first_seen, map_keys(p.labels), map_values(p.labels) "
                    "FROM posts p JOIN _batch_ids b USING (id)"
                ).fetchall()
            }
            db.unregister("_batch_ids")
            media_of: dict[str, list[dict[str, Any]]] = {}
            for part in media:
                media_of.setdefault(part["post_id"], []).append(part)
            to_write = []
            for post in posts:
                before = existing.get(post["id"])
                if before is not None:
                    _keep_stored_labels(post, before[2], media_of.get(post["id"], []))
                if before is None:
                    new += 1
                elif before[0] == post["content_hash"]:
                    unchanged += 1
                    continue
                else:
                    changed += 1
                    post["first_seen"] = before[1]
                to_write.append(post)
            if to_write:
                written = {p["id"] for p in to_write}
                db.register("_posts", _table(to_write, POSTS_SCHEMA))
                db.execute("INSERT OR REPLACE INTO posts SELECT * FROM _posts")
                db.unregister("_posts")
                db.register("_ids", pa.table({"id": list(written)}))
                db.execute("DELETE FROM media WHERE post_id IN (SELECT id FROM _ids)")
                db.unregister("_ids")
                rows = [m for m in media if m["post_id"] in written]
                if rows:
                    db.register("_media", _table(rows, MEDIA_SCHEMA))
                    db.execute("INSERT INTO media SELECT * FROM _media")
                    db.unregister("_media")
        if engagement:
            db.register("_eng", _table(engagement, ENGAGEMENT_SCHEMA))
            added = len(db.execute(_INSERT_SNAPSHOTS).fetchall())
            db.unregister("_eng")
        if quarantine:
            db.register("_q", _table(_unique_quarantine(quarantine), QUARANTINE_SCHEMA))
            db.execute("INSERT OR REPLACE INTO quarantine SELECT * FROM _q")
            db.unregister("_q")
        db.execute("COMMIT")
    except BaseException:
        try:
            db.execute("ROLLBACK")
        except duckdb.Error:
            pass  # no transaction left to roll back (BEGIN or COMMIT itself failed): report the first error
        for name in ("_batch_ids", "_posts", "_ids", "_media", "_eng", "_q"):
            try:
                db.unregister(name)
            except duckdb.Error:
                pass
        raise
    return BatchCounts(new, changed, unchanged, added)


_INSERT_SNAPSHOTS = """
INSERT OR IGNORE INTO engagement
SELECT e.* FROM _eng e
WHERE NOT (e.observed_inferred AND EXISTS (
    SELECT 1 FROM engagement x
    WHERE x.post_id = e.post_id AND x.likes IS NOT DISTINCT FROM e.likes
      AND x.shares IS NOT DISTINCT FROM e.shares AND x.comments IS NOT DISTINCT FROM e.comments
      AND x.views IS NOT DISTINCT FROM e.views))
RETURNING post_id
"""
"""A snapshot timed by the file (not the data) is new only when its counts are: rewriting a file
changes its mtime, not what was observed."""


def _keep_stored_labels(post: dict[str, Any], stored: dict[str, str], media_rows: list[dict[str, Any]]) -> None:
    """A re-import keeps labels the file does not carry (added by ``postlens label import``); the file's
    value wins for a label it does carry. A label is never deleted by importing a file without it."""
    merged = {**stored, **post["labels"]}
    if merged != post["labels"]:
        post["labels"] = merged
        post["content_hash"] = content_hash(post, media_rows)


def _unique_quarantine(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per key within a batch (INSERT OR REPLACE refuses duplicate keys in one statement)."""
    unique: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        unique[(row["file"], row["line"], row["code"], row["post_id"])] = row
    return list(unique.values())
