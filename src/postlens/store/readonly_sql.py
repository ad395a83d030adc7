"""Read-only SQL over a workspace (``postlens sql``): one SELECT, nothing written, nothing outside read.

Three locks, each DuckDB's own rather than a pattern over the text:

1. the text must parse (``duckdb.extract_statements``) as exactly one statement of type SELECT, which
   covers SELECT, WITH, FROM-first, VALUES, TABLE, DESCRIBE, SHOW and SUMMARIZE. COPY, EXPORT, ATTACH,
   INSTALL/LOAD, SET, PRAGMA, CALL, CREATE/INSERT/UPDATE/DELETE/DROP, transactions, PREPARE and a second
   statement after ``;`` are refused before anything runs;
2. the database is opened read-only;
3. the connection is opened with ``enable_external_access = false`` and ``lock_configuration = true``,
   so file and URL readers (read_csv, read_text, glob, 'x.parquet', https://...) fail and no statement
   can switch them back on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from postlens.errors import QueryError
from postlens.store.workspace import DuckDBSettings, Workspace

ALLOWED_STATEMENTS = frozenset({duckdb.StatementType.SELECT})
SANDBOX_CONFIG: DuckDBSettings = {"enable_external_access": False, "lock_configuration": True}
COUNT_CAP = 10_000_000
MAX_LIMIT = 1_000_000_000
"""The total row count of a result stops here (a query may return billions of rows)."""
ALLOWED_HELP = "one SELECT (also WITH, FROM, VALUES, DESCRIBE, SHOW, SUMMARIZE)"
_SHOWN_KIND = {"LOAD": "INSTALL/LOAD", "VARIABLE_SET": "SET", "MULTI": "PIVOT (use it inside SELECT * FROM (...))"}


@dataclass(frozen=True)
class QueryResult:
    """``columns`` are unique: a repeated name gets the first free suffix ``_2``, ``_3``...
    ``total_rows`` is exact unless ``total_at_least`` (the count stopped at ``COUNT_CAP`` or failed)."""

    columns: list[str]
    rows: list[tuple[Any, ...]]
    total_rows: int
    total_at_least: bool = False

    @property
    def truncated(self) -> bool:
        return len(self.rows) < self.total_rows


def check_read_only_sql(query: str) -> duckdb.Statement:
    """The one SELECT statement in ``query``, or a ``QueryError`` saying why it is refused."""
    try:
        statements = duckdb.extract_statements(query)
    except duckdb.Error as exc:
        raise QueryError(f"invalid SQL: {one_line(exc)}") from exc
    if not statements:
        raise QueryError(f"no SQL statement given; postlens sql runs {ALLOWED_HELP}")
    kinds = [_SHOWN_KIND.get(s.type.name, s.type.name) for s in statements]
    if len(statements) > 1:
        raise QueryError(
            f"one statement at a time: found {len(statements)} ({', '.join(kinds)}); postlens sql runs {ALLOWED_HELP}"
        )
    if statements[0].type not in ALLOWED_STATEMENTS:
        raise QueryError(f"{kinds[0]} statements are not allowed: postlens sql is read-only and runs {ALLOWED_HELP}")
    return statements[0]


def run_read_only_sql(
    query: str,
    *,
    workspace: str | Path | None = None,
    limit: int = 50,
    lock_wait: float | None = None,
    on_lock_wait: Callable[[str], None] | None = None,
) -> QueryResult:
    """Run one SELECT on a locked-down read-only connection; the first ``limit`` rows and the total count."""
    if not 1 <= limit <= MAX_LIMIT:
        raise QueryError(f"limit must be between 1 and {MAX_LIMIT:,}, got {limit:,}")
    statement = check_read_only_sql(query)
    with Workspace(
        workspace, read_only=True, lock_wait=lock_wait, on_lock_wait=on_lock_wait, duckdb_config=SANDBOX_CONFIG
    ) as ws:
        _require_sandbox(ws.db)
        try:
            cursor = ws.db.execute(statement)
            columns = unique_column_names([d[0] for d in cursor.description or []])
            rows = cursor.fetchmany(limit)
            more = len(rows) == limit and cursor.fetchone() is not None
        except duckdb.Error as exc:
            raise _query_error(exc) from exc
        except RuntimeError as exc:  # DuckDB's answer to Ctrl-C during a query
            if "interrupted" in str(exc).lower():
                raise KeyboardInterrupt from exc
            raise
        if not more:
            return QueryResult(columns, rows, len(rows))
        total, at_least = _count_rows(ws.db, statement.query, len(rows))
    return QueryResult(columns, rows, total, at_least)


def unique_column_names(names: Sequence[str]) -> list[str]:
    """Keep every column: a name seen before gets the first suffix ``_2``, ``_3``... no other column has."""
    taken = set(names)
    seen: set[str] = set()
    unique: list[str] = []
    for name in names:
        if name in seen:
            n = 2
            while f"{name}_{n}" in taken:
                n += 1
            name = f"{name}_{n}"
            taken.add(name)
        seen.add(name)
        unique.append(name)
    return unique


def one_line(exc: BaseException) -> str:
    """DuckDB's message without its hints and caret lines ("LINE 1: ..."), on one line."""
    head = str(exc).strip().split("\n\n")[0]
    return " ".join(line.strip() for line in head.splitlines() if line.strip() and not line.startswith("LINE "))


def _require_sandbox(db: duckdb.DuckDBPyConnection) -> None:
    """Refuse to run anything if DuckDB handed back a connection without the sandbox settings."""
    row = db.execute(
        "SELECT current_setting('enable_external_access'), current_setting('lock_configuration')"
    ).fetchone()
    if row is None or tuple(row) != (False, True):
        raise QueryError(
            "the read-only connection could not be locked down (external access still on); "
            "close this process's other connections to the workspace and retry"
        )


def _query_error(exc: duckdb.Error) -> QueryError:
    if isinstance(exc, duckdb.PermissionException):
        return QueryError(
            f"postlens sql reads only the workspace's tables; files, URLs and extensions are refused ({one_line(exc)})"
        )
    return QueryError(one_line(exc))


def _count_rows(db: duckdb.DuckDBPyConnection, query: str, shown: int) -> tuple[int, bool]:
    """Count the result's rows (up to ``COUNT_CAP``) by running it again without its columns."""
    counting = f"SELECT count(*) FROM (SELECT 1 FROM (\n{_without_trailing_semicolons(query)}\n) LIMIT {COUNT_CAP + 1})"
    try:
        check_read_only_sql(counting)
        row = db.execute(counting).fetchone()
    except (duckdb.Error, QueryError):
        return shown + 1, True
    total = int(row[0]) if row else shown + 1
    return (COUNT_CAP, True) if total > COUNT_CAP else (total, False)


def _without_trailing_semicolons(sql: str) -> str:
    """``sql`` up to its last token that is not ``;`` or a comment (DuckDB's tokenizer; positions are bytes)."""
    raw = sql.encode()
    end = len(raw)
    for position, kind in reversed(duckdb.tokenize(sql)):
        if kind == duckdb.token_type.comment:
            continue
        if kind == duckdb.token_type.operator and raw[position:end].lstrip().startswith(b";"):
            end = position
            continue
        break
    return raw[:end].decode()
