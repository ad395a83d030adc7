"""A workspace is a folder: ``postlens.duckdb``, ``media/`` (content-addressed) and ``features/``.

Chosen over a server database so that a data team can copy, archive or open it in any DuckDB
client; DuckDB's single-writer lock keeps two imports from interleaving. Read-only opens wait a
little (``LOCK_WAIT_SECONDS``) while a writer holds that lock, then say which process holds it.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import duckdb

from postlens.errors import WorkspaceError
from postlens.store.schema import DDL, MIGRATIONS, SCHEMA_VERSION

DEFAULT_WORKSPACE = "postlens-workspace"
DB_NAME = "postlens.duckdb"
LOCK_WAIT_SECONDS = 10.0
"""How long a read-only open waits for a writer (an import, featurize) to release the database;
``$POSTLENS_LOCK_WAIT`` (seconds) overrides it."""
DuckDBSettings = Mapping[str, str | int | float | list[str]]
"""Settings for ``duckdb.connect(config=...)`` (bool is an int)."""
READ_ONLY_CONFIG: DuckDBSettings = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}
"""Every read-only open: never fetch or load an extension (DuckDB would try to for a SQLite file)."""


_DUCKDB_MAJOR = re.compile(r"v?(\d+)\.")


def _duckdb_major(version: object) -> int | None:
    """2 for "2.0.1" (or "v2.0.1-dev3"); None for anything else (a missing or garbled meta value)."""
    match = _DUCKDB_MAJOR.match(version) if isinstance(version, str) else None
    return int(match.group(1)) if match else None


def _refuse_newer_duckdb(db: duckdb.DuckDBPyConnection, root: Path) -> None:
    """A workspace last written by a newer DuckDB major may use a storage format or SQL this DuckDB
    misreads: refuse it before reading or writing anything (``meta.duckdb_written``, see ``_migrate``)."""
    row = _first_row(db.execute("SELECT value FROM meta WHERE key = 'duckdb_written'"))
    written = row[0] if row else None
    major, installed = _duckdb_major(written), _duckdb_major(duckdb.__version__)
    if major is not None and installed is not None and major > installed:
        raise WorkspaceError(
            f"{root} was written by DuckDB {written}, a newer major version than this one ({duckdb.__version__}); "
            f"open it with a postlens installed with DuckDB {major}.x, or upgrade postlens and DuckDB"
        )


def _first_row(cursor: duckdb.DuckDBPyConnection) -> tuple[Any, ...] | None:
    """The first row, with the result fetched to its end: DuckDB 2 keeps a result open after
    ``fetchone()``, and an open result makes the next ``register()`` on that connection fail."""
    rows = cursor.fetchall()
    return rows[0] if rows else None


def resolve_workspace_path(path: str | os.PathLike[str] | None = None) -> Path:
    """``path`` if given, else ``$POSTLENS_WORKSPACE``, else ``./postlens-workspace``."""
    chosen = path or os.environ.get("POSTLENS_WORKSPACE") or DEFAULT_WORKSPACE
    try:
        return Path(chosen).expanduser().resolve()
    except (OSError, ValueError, RuntimeError) as exc:  # NUL byte, ~unknownuser, symlink loop
        raise WorkspaceError(f"cannot use {str(chosen)!r} as a workspace path: {exc}") from exc


def lock_wait_seconds() -> float:
    """``$POSTLENS_LOCK_WAIT`` if set (seconds, >= 0), else ``LOCK_WAIT_SECONDS``."""
    raw = os.environ.get("POSTLENS_LOCK_WAIT")
    if raw is None or not raw.strip():
        return LOCK_WAIT_SECONDS
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < float("inf"):
        raise WorkspaceError(f"POSTLENS_LOCK_WAIT must be a number of seconds >= 0, got {raw!r}")
    return seconds


def _check_readable(root: Path, db_path: Path) -> None:
    """Refuse, with the reason, a workspace path a read-only command cannot use, before DuckDB sees it."""
    try:
        if not root.exists():
            raise WorkspaceError(f"no workspace at {root}; run 'postlens ingest' first or pass --workspace")
        if not root.is_dir():
            raise WorkspaceError(f"{root} is a file, not a workspace folder")
        if not os.access(root, os.R_OK | os.X_OK):
            raise WorkspaceError(f"no permission to read the workspace folder {root}")
        if not db_path.exists():
            raise WorkspaceError(
                f"{root} has no {DB_NAME}, so it is not a postlens workspace (yet); "
                "run 'postlens ingest' first or pass --workspace"
            )
        if not db_path.is_file():
            raise WorkspaceError(f"{db_path} is not a file, so {root} is not a postlens workspace")
    except OSError as exc:
        raise WorkspaceError(f"cannot read the workspace {root}: {exc.strerror or exc}") from exc
    if not os.access(db_path, os.R_OK):
        raise WorkspaceError(f"no permission to read {db_path}")


def _connect_read_only(
    db_path: Path, config: DuckDBSettings, wait: float, on_wait: Callable[[str], None] | None
) -> duckdb.DuckDBPyConnection:
    """Open read-only, retrying with backoff for ``wait`` seconds while another process holds the write lock."""
    deadline = time.monotonic() + wait
    delay = 0.05
    told = False
    while True:
        try:
            return duckdb.connect(str(db_path), read_only=True, config=dict(config))
        except duckdb.Error as exc:
            holder = _lock_holder(exc)
            remaining = deadline - time.monotonic()
            if holder is None:
                raise _open_error(db_path, exc) from exc
            if remaining <= 0:
                raise WorkspaceError(
                    f"{db_path.parent} is being written by {holder}, which holds the database lock; waited "
                    f"{wait:g} s. Run this again when that command finishes, or set POSTLENS_LOCK_WAIT "
                    "(seconds) to wait longer"
                ) from exc
            if on_wait is not None and not told:
                on_wait(f"{db_path.parent} is being written by {holder}; waiting up to {wait:g} s for it")
                told = True
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, 1.0)


_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.+?) \(PID (?P<pid>\d+)\)")


def _lock_holder(exc: BaseException) -> str | None:
    """Who holds the lock, from DuckDB's message ("another process" if it does not say); None if not a lock conflict."""
    message = str(exc)
    if not isinstance(exc, duckdb.IOException) or (
        "Could not set lock" not in message and "Conflicting lock" not in message
    ):
        return None
    found = _LOCK_HOLDER.search(message)
    return f"process {found['pid']} ({found['program']})" if found else "another process"


_DAMAGED = ("not a valid duckdb database", "could not read enough bytes", "checksum", "corrupt", "version number")
"""Words of DuckDB's messages for a file it cannot read as a database (the message itself is always shown)."""


def _open_error(db_path: Path, exc: duckdb.Error) -> WorkspaceError:
    """One line saying why DuckDB would not open the file, without DuckDB's multi-line hints."""
    message = " ".join(line.strip() for line in str(exc).split("\n\n")[0].splitlines() if line.strip())
    if "sqlite" in message.lower():
        return WorkspaceError(f"{db_path} is a SQLite database, not the DuckDB database of a postlens workspace")
    if _lock_holder(exc) is not None:
        return WorkspaceError(f"cannot open {db_path}: another process is using it ({message})")
    if isinstance(exc, (duckdb.SerializationException, duckdb.InternalException)) or any(
        sign in message.lower() for sign in _DAMAGED
    ):
        return WorkspaceError(
            f"{db_path} is not a DuckDB database this postlens can read (damaged, cut short, "
            f"written by a newer DuckDB, or another program's file): {message}"
        )
    if isinstance(exc, duckdb.ConnectionException):
        return WorkspaceError(
            f"cannot open {db_path}: {message}. Close this process's other connections to the workspace first"
        )
    return WorkspaceError(f"cannot open {db_path}: {message}")


class Workspace:
    """Open (creating if needed) a workspace folder. Use as a context manager to close the DB."""

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        read_only: bool = False,
        create: bool = True,
        lock_wait: float | None = None,
        on_lock_wait: Callable[[str], None] | None = None,
        duckdb_config: DuckDBSettings | None = None,
    ) -> None:
        """``read_only``: never create anything; wait up to ``lock_wait`` seconds (default
        ``lock_wait_seconds()``) while another process writes, calling ``on_lock_wait`` once with a
        message to show; ``duckdb_config`` adds DuckDB settings to the read-only connection. A
        workspace of an older schema is upgraded first (the additive ``MIGRATIONS``), as any
        writing command would; one of a newer schema or a foreign database is refused."""
        self.root = resolve_workspace_path(path)
        self.media_dir = self.root / "media"
        self.features_dir = self.root / "features"
        db_path = self.root / DB_NAME
        if read_only:
            _check_readable(self.root, db_path)
            config = {**READ_ONLY_CONFIG, **(duckdb_config or {})}
            wait = lock_wait_seconds() if lock_wait is None else lock_wait
            self.db = _connect_read_only(db_path, config, wait, on_lock_wait)
            if self._schema_version_read_only(db_path) < SCHEMA_VERSION:
                self.db.close()
                Workspace(self.root, create=False).close()  # the writable open migrates
                self.db = _connect_read_only(db_path, config, wait, on_lock_wait)
            return
        if not self.root.exists():
            if not create:
                raise WorkspaceError(f"no workspace at {self.root}; run 'postlens ingest' first or pass --workspace")
            self.root.mkdir(parents=True)
        elif not self.root.is_dir():
            raise WorkspaceError(f"{self.root} is a file, not a workspace folder")
        self.media_dir.mkdir(exist_ok=True)
        self.features_dir.mkdir(exist_ok=True)
        try:
            self.db = duckdb.connect(str(db_path))
        except duckdb.Error as exc:
            raise _open_error(db_path, exc) from exc
        self._migrate()

    def _schema_version_read_only(self, db_path: Path) -> int:
        """The stored schema version; refuses a DuckDB file that is not a postlens workspace or is newer."""
        try:
            has_meta = _first_row(
                self.db.execute(
                    "SELECT count(*) FROM information_schema.tables WHERE table_name = 'meta' AND table_schema = 'main'"
                )
            )
            row = (
                _first_row(self.db.execute("SELECT value FROM meta WHERE key = 'schema_version'"))
                if has_meta and has_meta[0]
                else None
            )
            version = int(row[0]) if row and row[0] is not None else None
        except (duckdb.ProgrammingError, ValueError) as exc:  # a meta table, but not postlens's
            self.db.close()
            raise WorkspaceError(
                f"{db_path} is not a postlens workspace: its schema version cannot be read ({exc})"
            ) from exc
        except duckdb.Error as exc:  # damaged pages
            self.db.close()
            raise _open_error(db_path, exc) from exc
        if version is None:
            self.db.close()
            raise WorkspaceError(
                f"{db_path} is a DuckDB database but not a postlens workspace (no schema version in a "
                "meta table); pass the folder 'postlens ingest' created"
            )
        if version > SCHEMA_VERSION:
            self.db.close()
            raise WorkspaceError(
                f"{self.root} was written by a newer postlens (schema {version}; this one reads up to "
                f"{SCHEMA_VERSION}); upgrade postlens"
            )
        try:
            _refuse_newer_duckdb(self.db, self.root)
        except WorkspaceError:
            self.db.close()
            raise
        return version

    def _migrate(self) -> None:
        found = _first_row(self.db.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'meta'"))
        version = None
        if found and found[0]:
            row = _first_row(self.db.execute("SELECT value FROM meta WHERE key = 'schema_version'"))
            version = int(row[0]) if row else None
        if version is not None and version > SCHEMA_VERSION:
            self.db.close()
            raise WorkspaceError(f"{self.root} was written by a newer postlens (schema {version}); upgrade postlens")
        if found and found[0]:
            try:
                _refuse_newer_duckdb(self.db, self.root)
            except WorkspaceError:
                self.db.close()
                raise
        self.db.execute(DDL)  # new tables; existing ones keep their columns until migrated below
        for step in range(version or SCHEMA_VERSION, SCHEMA_VERSION):
            self.db.execute(MIGRATIONS[step + 1])
        # meta rows, not columns: no schema change. duckdb_created is known only for workspaces made
        # since it is recorded; duckdb_written follows every writable open (what _refuse_newer_duckdb reads).
        self.db.execute(
            "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?), ('duckdb_written', ?)",
            [str(SCHEMA_VERSION), duckdb.__version__],
        )
        if version is None:
            self.db.execute("INSERT OR IGNORE INTO meta VALUES ('duckdb_created', ?)", [duckdb.__version__])

    def mark_interrupted_runs(self) -> int:
        """Runs still 'running' when a new writer opens were killed midway: say so."""
        rows = self.db.execute(
            "UPDATE import_runs SET status = 'interrupted', finished_at = ? WHERE status = 'running' RETURNING run_id",
            [datetime.now(UTC)],
        ).fetchall()
        return len(rows)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Workspace:
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
        except (duckdb.ConnectionException, WorkspaceError) as exc:
            cause = exc.__cause__ if isinstance(exc, WorkspaceError) else exc
            if isinstance(cause, duckdb.ConnectionException):  # this process holds it read-only
                raise WorkspaceError(
                    f"cannot open {path} for writing: this process has it open read-only. "
                    "Close that Workspace or open it without read_only=True."
                ) from exc
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
    return cause is not None and _lock_holder(cause) is not None
