"""Schema 2: a v1 workspace is migrated in place; snapshots timed by the file are identified by their counts."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from postlens.pipeline.ingest import run_ingest
from postlens.store.schema import SCHEMA_VERSION
from postlens.store.workspace import DB_NAME, Workspace


def _columns(db: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [row[0] for row in db.execute(f"DESCRIBE {table}").fetchall()]


def test_v1_workspace_gains_the_new_columns(tmp_path: Path) -> None:
    with Workspace(tmp_path / "ws"):
        pass
    db = duckdb.connect(str(tmp_path / "ws" / DB_NAME))
    db.execute("ALTER TABLE quarantine DROP COLUMN post_kept")
    db.execute("ALTER TABLE import_runs DROP COLUMN flagged")
    db.execute("ALTER TABLE engagement DROP COLUMN observed_inferred")
    db.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    db.close()
    with Workspace(tmp_path / "ws") as ws:
        assert "post_kept" in _columns(ws.db, "quarantine")
        assert "flagged" in _columns(ws.db, "import_runs")
        assert "observed_inferred" in _columns(ws.db, "engagement")
        version = ws.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        assert version == (str(SCHEMA_VERSION),)


def _write(path: Path, likes: list[int], mtime: int, *, label: bool = False) -> None:
    extra = ",label" if label else ""
    lines = [f"id,text,likes{extra}"] + [f"{i},post number {i},{n}{',x' if label else ''}" for i, n in enumerate(likes)]
    path.write_text("\n".join(lines) + "\n")
    os.utime(path, (mtime, mtime))


def test_rewritten_file_adds_snapshots_only_for_changed_counts(tmp_path: Path) -> None:
    data, ws = tmp_path / "posts.csv", tmp_path / "ws"
    _write(data, [1, 2, 3], mtime=1_700_000_000)
    first = run_ingest([data], workspace=ws)
    # the same rows in a rewritten file (a label column added, say): a new mtime, the same counts
    _write(data, [1, 2, 3], mtime=1_700_100_000, label=True)
    second = run_ingest([data], workspace=ws)
    _write(data, [1, 2, 30], mtime=1_700_200_000)
    third = run_ingest([data], workspace=ws)
    assert (first.snapshots_added, second.snapshots_added, third.snapshots_added) == (3, 0, 1)
    with Workspace(ws, read_only=True) as opened:
        inferred = opened.db.execute("SELECT bool_and(observed_inferred), count(*) FROM engagement").fetchone()
    assert inferred == (True, 4)
