"""A workspace is a folder: ``postlens.duckdb``, ``media/`` (content-addressed) and ``features/``.

Chosen over a server database so that a data team can copy, archive or open it in any DuckDB
client; DuckDB's single-writer lock keeps two imports from interleaving.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType

import duckdb

from postlens.errors import WorkspaceError
from postlens.store.schema import DDL, MIGRATIONS, SCHEMA_VERSION

DEFAULT_WORKSPACE = "postlens-workspace"
DB_NAME = "postlens.duckdb"


def resolve_workspace_path(path: str | Path | None = None) -> Path:
    """``path`` if given, else ``$POSTLENS_WORKSPACE``, else ``./postlens-workspace``."""
    chosen = path or os.environ.get("POSTLENS_WORKSPACE") or DEFAULT_WORKSPACE
    return Path(chosen).expanduser().resolve()


class Workspace:
    """Open (creating if needed) a workspace folder. Use as a context manager to close the DB."""

    def __init__(self, path: str | Path | None = None, *, read_only: bool = False, create: bool = True) -> None:
        self.root = resolve_workspace_path(path)
        if not self.root.exists():
            if not create or read_only:
                raise WorkspaceError(
                    f"no workspace at {self.root}; run 'postlens ingest' first or pass --workspace"
                )
            self.root.mkdir(parents=True)
        elif not self.root.is_dir():
            raise WorkspaceError(f"{self.root} is a file, not a workspace folder")
        self.media_dir = self.root / "media"
        self.features_dir = self.root / "features"
        if not read_only:
            self.media_dir.mkdir(exist_ok=True)
            self.features_dir.mkdir(exist_ok=True)
        db_path = self.root / DB_NAME
        if read_only and not db_path.exists():
            raise WorkspaceError(f"{self.root} has no {DB_NAME}; run 'postlens ingest' first")
        try:
            self.db = duckdb.connect(str(db_path), read_only=read_only)
        except duckdb.IOException as exc:
            raise WorkspaceError(
                f"cannot open {db_path}: {exc}. Is another postlens command writing to it?"
            ) from exc
        if not read_only:
            self._migrate()

    def _migrate(self) -> None:
        found = self.db.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'meta'"
        ).fetchone()
        version = None
        if found and found[0]:
            row = self.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            version = int(row[0]) if row else None
        if version is not None and version > SCHEMA_VERSION:
            raise WorkspaceError(
                f"{self.root} was written by a newer postlens (schema {version}); upgrade postlens"
            )
        self.db.execute(DDL)  # new tables; existing ones keep their columns until migrated below
        for step in range(version or SCHEMA_VERSION, SCHEMA_VERSION):
            self.db.execute(MIGRATIONS[step + 1])
        self.db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])

    def mark_interrupted_runs(self) -> int:
        """Runs still 'running' when a new writer opens were killed midway: say so."""
        rows = self.db.execute(
            "UPDATE import_runs SET status = 'interrupted', finished_at = ? "
            "WHERE status = 'running' RETURNING run_id",
            [datetime.now(timezone.utc)],
        ).fetchall()
        return len(rows)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "Workspace":
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


@contextmanager
def open_briefly(path: str | Path, *, wait_seconds: float = 60.0, create: bool = False) -> Iterator[Workspace]:
    """A writable workspace held for one short read or write, waiting while another process holds the lock.

    Long jobs (featurize) open the database only through this, around their reads and writes, and
    close it while models run, so that ``stats``, ``quarantine`` and ``sql`` can open it meanwhile.
    A reader holding the lock at that moment makes this wait (up to ``wait_seconds``), not fail.
    """
    deadline = time.monotonic() + wait_seconds
    delay = 0.05
    while True:
        try:
            workspace = Workspace(path, create=create)
            break
        except duckdb.ConnectionException as exc:  # this process holds it read-only
            raise WorkspaceError(
                f"cannot open {path} for writing: this process has it open read-only. "
                "Close that Workspace or open it without read_only=True."
            ) from exc
        except WorkspaceError as exc:
            if not is_lock_conflict(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
    try:
        yield workspace
    finally:
        workspace.close()


def is_lock_conflict(exc: BaseException) -> bool:
    """True when opening failed only because another process holds the database file's lock."""
    cause = exc.__cause__ if isinstance(exc, WorkspaceError) else exc
    return isinstance(cause, duckdb.IOException) and "lock" in str(cause).lower()
