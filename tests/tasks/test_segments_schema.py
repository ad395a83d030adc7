"""Schema step 5: a workspace of schema 4 gains the segments tables when opened, and nothing else moves."""

from __future__ import annotations

from pathlib import Path

import duckdb

from postlens.store.schema import MIGRATIONS, SCHEMA_VERSION
from postlens.store.workspace import Workspace

SEGMENT_TABLES = {"topics", "post_topics", "topic_history"}


def tables(db: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in db.execute("SELECT table_name FROM information_schema.tables").fetchall()}


def test_a_schema_4_workspace_gets_the_segments_tables(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    Workspace(root).close()
    db = duckdb.connect(str(root / "postlens.duckdb"))
    for table in SEGMENT_TABLES:
        db.execute(f"DROP TABLE {table}")
    db.execute("UPDATE meta SET value = '4' WHERE key = 'schema_version'")
    db.execute(
        "INSERT INTO posts (id, source, native_id, platform, text, content_hash, run_id, first_seen, updated_at) "
        "VALUES ('x:1', 'x', '1', 'x', 'hello', 'h', 'r', now(), now())"
    )
    db.close()
    assert SCHEMA_VERSION >= 5 and 5 in MIGRATIONS
    with Workspace(root, read_only=True) as ws:  # a read-only open upgrades first, as every command does
        assert tables(ws.db) >= SEGMENT_TABLES
        assert ws.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (str(SCHEMA_VERSION),)
        assert ws.db.execute("SELECT count(*) FROM posts").fetchone() == (1,)
        columns = [r[0] for r in ws.db.execute("DESCRIBE post_topics").fetchall()]
    assert columns[:4] == ["segmentation", "post_id", "topic_id", "score"] and "created_at" in columns
