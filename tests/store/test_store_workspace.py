"""Opening a workspace read-only: every unusable path is a clear WorkspaceError, nothing is created,
and a writer's lock held by another process is waited for, then named."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from postlens.errors import WorkspaceError
from postlens.store.queries import workspace_stats
from postlens.store.schema import SCHEMA_VERSION
from postlens.store.workspace import DB_NAME, LOCK_WAIT_SECONDS, Workspace, lock_wait_seconds


def make_workspace(root: Path) -> Path:
    Workspace(root).close()
    return root


def set_schema_version(root: Path, value: str) -> None:
    with duckdb.connect(str(root / DB_NAME)) as db:
        db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [value])


def foreign_duckdb(root: Path) -> None:
    with duckdb.connect(str(root / DB_NAME)) as db:
        db.execute("CREATE TABLE posts AS SELECT 1 AS id")


def sqlite_file(root: Path) -> None:
    with sqlite3.connect(root / DB_NAME) as db:
        db.execute("CREATE TABLE posts (id)")


def truncated_copy(root: Path) -> None:
    make_workspace(root)
    data = (root / DB_NAME).read_bytes()
    (root / DB_NAME).write_bytes(data[: len(data) // 2])


def half_made(root: Path) -> None:
    (root / "media").mkdir()
    (root / "features").mkdir()


# name -> (how to spoil a folder that exists, words the error must contain)
UNUSABLE: dict[str, tuple[Callable[[Path], None], str]] = {
    "empty folder": (lambda root: None, f"has no {DB_NAME}"),
    "media and features but no database": (half_made, f"has no {DB_NAME}"),
    "database path is a folder": (lambda root: (root / DB_NAME).mkdir(), "is not a file"),
    "zero-byte database": (lambda root: (root / DB_NAME).write_bytes(b""), "not a DuckDB database"),
    "random bytes": (lambda root: (root / DB_NAME).write_bytes(os.urandom(4096)), "not a DuckDB database"),
    "truncated DuckDB header": (
        lambda root: (root / DB_NAME).write_bytes(b"\0" * 8 + b"DUCK"),
        "not a DuckDB database",
    ),
    "half a real database (copy cut short)": (truncated_copy, "not a DuckDB database"),
    "SQLite file": (sqlite_file, "SQLite database"),
    "DuckDB file of another program": (foreign_duckdb, "not a postlens workspace"),
    "newer schema": (
        lambda root: (make_workspace(root), set_schema_version(root, str(SCHEMA_VERSION + 1))),
        "newer postlens",
    ),
    "unreadable schema version": (
        lambda root: (make_workspace(root), set_schema_version(root, "two")),
        "not a postlens workspace",
    ),
}


def listing(root: Path) -> list[tuple[str, int]]:
    return sorted((str(p.relative_to(root)), p.stat().st_size if p.is_file() else -1) for p in root.rglob("*"))


@pytest.mark.parametrize("case", list(UNUSABLE))
def test_unusable_folder_is_a_clear_error_and_nothing_is_created(tmp_path: Path, case: str) -> None:
    spoil, words = UNUSABLE[case]
    root = tmp_path / "ws"
    root.mkdir(exist_ok=True)
    spoil(root)
    before = listing(root)
    with pytest.raises(WorkspaceError, match=words) as caught:
        Workspace(root, read_only=True, lock_wait=0)
    assert str(root) in str(caught.value) and "\n" not in str(caught.value)
    assert listing(root) == before


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("missing/deeper", "no workspace at"),
        ("a-file", "is a file, not a workspace folder"),
        ("nul\0byte", "cannot use"),
    ],
)
def test_path_that_is_not_a_folder(tmp_path: Path, path: str, words: str) -> None:
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(WorkspaceError, match=words):
        Workspace(tmp_path / path, read_only=True)
    assert not (tmp_path / "missing").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="running as root: file permissions are not enforced")
@pytest.mark.parametrize("target", ["folder", "database"])
def test_no_permission(tmp_path: Path, target: str) -> None:
    root = make_workspace(tmp_path / "ws")
    locked = root if target == "folder" else root / DB_NAME
    locked.chmod(0)
    try:
        with pytest.raises(WorkspaceError, match="permission"):
            Workspace(root, read_only=True)
    finally:
        locked.chmod(0o700)


def test_an_older_schema_is_upgraded_then_read(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    set_schema_version(root, str(SCHEMA_VERSION - 1))
    with Workspace(root, read_only=True) as ws:
        version = ws.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
        assert int(version) == SCHEMA_VERSION
        assert workspace_stats(ws.db).posts == 0


def test_read_only_connection_never_fetches_extensions(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    with Workspace(root, read_only=True) as ws:
        settings = ws.db.execute(
            "SELECT current_setting('autoinstall_known_extensions'), current_setting('autoload_known_extensions')"
        ).fetchone()
    assert settings == (False, False)


def test_lock_held_by_another_process_names_it_after_the_wait(tmp_path: Path, hold_write_lock) -> None:
    root = make_workspace(tmp_path / "ws")
    holder = hold_write_lock(root / DB_NAME)
    told: list[str] = []
    with pytest.raises(WorkspaceError, match=f"process {holder.pid}") as caught:
        Workspace(root, read_only=True, lock_wait=0.3, on_lock_wait=told.append)
    assert "POSTLENS_LOCK_WAIT" in str(caught.value)
    assert len(told) == 1 and str(holder.pid) in told[0]


def test_lock_released_while_waiting_opens(tmp_path: Path, hold_write_lock) -> None:
    root = make_workspace(tmp_path / "ws")
    holder = hold_write_lock(root / DB_NAME)
    told: list[str] = []

    def release_when_told(message: str) -> None:
        told.append(message)
        holder.release()

    with Workspace(root, read_only=True, lock_wait=120, on_lock_wait=release_when_told) as ws:
        assert workspace_stats(ws.db).posts == 0
    assert len(told) == 1


def test_lock_wait_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POSTLENS_LOCK_WAIT", raising=False)
    assert lock_wait_seconds() == LOCK_WAIT_SECONDS
    monkeypatch.setenv("POSTLENS_LOCK_WAIT", "2.5")
    assert lock_wait_seconds() == 2.5
    for bad in ("soon", "-1", "inf", "nan"):
        monkeypatch.setenv("POSTLENS_LOCK_WAIT", bad)
        with pytest.raises(WorkspaceError, match="POSTLENS_LOCK_WAIT"):
            lock_wait_seconds()


def test_a_fresh_read_only_open_leaves_the_connection_free_for_register(tmp_path: Path) -> None:
    # DuckDB 2 keeps a result open after fetchone(); the open's own schema checks must not leave one behind
    import pyarrow as pa

    with Workspace(tmp_path / "ws"):
        pass
    with Workspace(tmp_path / "ws", read_only=True) as ws:
        ws.db.register("_ids", pa.table({"id": ["a"]}))
        assert ws.db.execute("SELECT count(*) FROM _ids").fetchall() == [(1,)]


def meta(root: Path) -> dict[str, str]:
    with duckdb.connect(str(root / DB_NAME), read_only=True) as db:
        return dict(db.execute("SELECT key, value FROM meta").fetchall())


def set_meta(root: Path, key: str, value: str | None) -> None:
    with duckdb.connect(str(root / DB_NAME)) as db:
        if value is None:
            db.execute("DELETE FROM meta WHERE key = ?", [key])
        else:
            db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, value])


def test_the_duckdb_version_that_made_and_last_wrote_the_workspace_is_recorded(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    assert meta(root)["duckdb_created"] == meta(root)["duckdb_written"] == duckdb.__version__
    set_meta(root, "duckdb_created", "1.2.0")  # made by an older DuckDB, written now by this one
    set_meta(root, "duckdb_written", "1.2.0")
    Workspace(root).close()
    assert (meta(root)["duckdb_created"], meta(root)["duckdb_written"]) == ("1.2.0", duckdb.__version__)


def test_a_workspace_from_before_the_record_gets_only_its_last_writer(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    set_meta(root, "duckdb_created", None)
    set_meta(root, "duckdb_written", None)
    with Workspace(root, read_only=True):  # reading writes nothing
        pass
    assert "duckdb_written" not in meta(root)
    Workspace(root).close()
    assert meta(root)["duckdb_written"] == duckdb.__version__ and "duckdb_created" not in meta(root)


@pytest.mark.parametrize("read_only", [False, True])
def test_a_workspace_written_by_a_newer_duckdb_major_is_refused(tmp_path: Path, read_only: bool) -> None:
    root = make_workspace(tmp_path / "ws")
    installed_major = int(duckdb.__version__.split(".")[0])
    newer = f"{installed_major + 1}.0.0"
    set_meta(root, "duckdb_written", newer)
    before = meta(root)
    with pytest.raises(WorkspaceError) as caught:
        Workspace(root, read_only=read_only)
    message = str(caught.value)
    assert f"DuckDB {newer}" in message and duckdb.__version__ in message and "newer major" in message
    assert meta(root) == before  # nothing was written, and the refused connection was closed


@pytest.mark.parametrize("written", ["{major}.9.9", "0.10.0", "garbled", ""])
def test_the_same_or_an_older_duckdb_major_or_an_unreadable_record_opens(tmp_path: Path, written: str) -> None:
    root = make_workspace(tmp_path / "ws")
    set_meta(root, "duckdb_written", written.format(major=duckdb.__version__.split(".")[0]))
    with Workspace(root, read_only=True) as ws:
        assert workspace_stats(ws.db).posts == 0
    Workspace(root).close()
    assert meta(root)["duckdb_written"] == duckdb.__version__
