"""``--where``: a user's SQL condition over ``posts`` that picks posts, and nothing else.

The text is a boolean expression, not a statement: it is spliced into
``SELECT id FROM posts WHERE (<expr>)`` only after DuckDB's own tokenizer shows that it cannot leave
those parentheses (no ``;``, no comment, balanced brackets, no statement keyword) and DuckDB's
parser shows one plain SELECT that reads workspace tables only (no ``read_csv``-style table
functions, so no file is opened). It then runs in a transaction that is rolled back.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import duckdb
import pyarrow as pa

from postlens.errors import ConfigError

MAX_CHARS = 10_000
STATEMENT_KEYWORDS = frozenset(
    {
        "ALTER",
        "ATTACH",
        "BEGIN",
        "CALL",
        "CHECKPOINT",
        "COMMIT",
        "COPY",
        "CREATE",
        "DELETE",
        "DETACH",
        "DROP",
        "EXPORT",
        "FORCE",
        "GRANT",
        "IMPORT",
        "INSERT",
        "INSTALL",
        "LOAD",
        "PRAGMA",
        "RESET",
        "REVOKE",
        "ROLLBACK",
        "SET",
        "TRUNCATE",
        "UPDATE",
        "USE",
        "VACUUM",
    }
)
_HINT = "--where takes a condition over posts, e.g. \"labels['split'] = 'val'\" or \"created_at >= '2024-01-01'\""


def check_where(expr: str) -> str:
    """The condition, stripped, or a ConfigError saying what makes it more than a condition."""
    if not isinstance(expr, str) or not expr.strip():
        raise ConfigError(f"the --where condition is empty; {_HINT}")
    expr = expr.strip()
    if len(expr) > MAX_CHARS:
        raise ConfigError(f"the --where condition has {len(expr):,} characters (at most {MAX_CHARS:,})")
    if "\x00" in expr:
        raise ConfigError("the --where condition contains a NUL byte")
    depth = 0
    for kind, text in _tokens(expr):
        if kind == duckdb.token_type.comment:
            raise ConfigError(f"the --where condition may not contain a comment ({text.strip()[:20]!r}); {_HINT}")
        if kind == duckdb.token_type.string_const or (kind == duckdb.token_type.identifier and text.startswith('"')):
            continue  # quoted: brackets and semicolons inside are data
        if ";" in text:
            raise ConfigError(
                f"the --where condition may not contain ';': it is one condition, not statements; {_HINT}"
            )
        if kind == duckdb.token_type.keyword and text.strip().upper() in STATEMENT_KEYWORDS:
            raise ConfigError(f"the --where condition may not contain {text.strip().upper()}: it is read-only; {_HINT}")
        for char in text:
            depth += {"(": 1, ")": -1}.get(char, 0)
            if depth < 0:
                raise ConfigError(f"the --where condition closes a bracket it did not open; {_HINT}")
    if depth != 0:
        raise ConfigError(f"the --where condition leaves {depth} bracket(s) open; {_HINT}")
    return expr


def select_post_ids(db: duckdb.DuckDBPyConnection, where: str, *, within: Sequence[str] | None = None) -> list[str]:
    """Ids of posts matching ``where`` (of ``within`` only, if given), in id order; nothing is written."""
    expr = check_where(where)
    query = f"SELECT id FROM posts WHERE (\n{expr}\n)"
    _check_tree(db, query)
    if within is not None:
        db.register("_within_ids", pa.table({"id": pa.array(list(within), pa.string())}))
        query = f"SELECT id FROM ({query}) WHERE id IN (SELECT id FROM _within_ids)"
    failure: duckdb.Error | None = None
    db.execute("BEGIN TRANSACTION")
    try:
        rows = db.execute(query + " ORDER BY id").fetchall()
    except duckdb.Error as exc:
        failure, rows = exc, []
    finally:
        db.execute("ROLLBACK")
        if within is not None:
            db.unregister("_within_ids")
    if failure is not None:
        raise ConfigError(f"--where {expr!r} failed: {_first_line(failure)}; posts has columns: {_post_columns(db)}")
    return [r[0] for r in rows]


def _tokens(expr: str) -> Iterator[tuple[Any, str]]:
    try:
        tokens = duckdb.tokenize(expr)
    except duckdb.Error as exc:
        raise ConfigError(f"--where {expr!r} cannot be read as SQL: {_first_line(exc)}") from None
    for index, (start, kind) in enumerate(tokens):
        end = tokens[index + 1][0] if index + 1 < len(tokens) else len(expr)
        yield kind, expr[start:end]


def _check_tree(db: duckdb.DuckDBPyConnection, query: str) -> None:
    """One SELECT over workspace tables (and its own CTEs); table functions would read files: refused."""
    tree: dict[str, Any]
    try:
        row = db.execute("SELECT json_serialize_sql(?)", [query]).fetchone()
        tree = json.loads(row[0]) if row else {"error": True, "error_message": "no parse"}
    except (duckdb.Error, json.JSONDecodeError, RecursionError) as exc:
        tree = {"error": True, "error_message": _first_line(exc)}
    if tree.get("error"):
        raise ConfigError(f"--where is not a valid condition: {tree.get('error_message', 'parse error')}; {_HINT}")
    statements = tree.get("statements", [])
    node = statements[0].get("node", {}) if len(statements) == 1 else {}
    if (
        node.get("type") != "SELECT_NODE"
        or node.get("modifiers")
        or (node.get("from_table") or {}).get("table_name") != "posts"
    ):
        raise ConfigError(f"--where must be a single condition over posts; {_HINT}")
    tables = {
        r[0]
        for r in db.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()
    }
    allowed = tables | set(_cte_names(tree))
    for ref in _walk(tree):
        if ref.get("type") == "TABLE_FUNCTION":
            name = (ref.get("function") or {}).get("function_name", "?")
            raise ConfigError(
                f"--where may not call the table function {name}(): it reads workspace tables only "
                f"({', '.join(sorted(tables))})"
            )
        if ref.get("type") == "BASE_TABLE" and (
            ref.get("table_name") not in allowed or ref.get("catalog_name") not in ("", None)
        ):
            raise ConfigError(
                f"--where may read the workspace tables only ({', '.join(sorted(tables))}), "
                f"not {ref.get('table_name')!r}"
            )


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _cte_names(tree: Any) -> Iterator[str]:
    for node in _walk(tree):
        for entry in (node.get("cte_map") or {}).get("map", []) if isinstance(node.get("cte_map"), dict) else []:
            if isinstance(entry, dict) and isinstance(entry.get("key"), str):
                yield entry["key"]


def _post_columns(db: duckdb.DuckDBPyConnection) -> str:
    rows = db.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'posts' ORDER BY ordinal_position"
    ).fetchall()
    return ", ".join(r[0] for r in rows)


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
