"""The ``collect_cursors`` table: where each ``postlens collect`` source/query stopped.

The state is opaque JSON to the store (``sources/connectors/cursor.py`` gives it meaning), so a
connector can change what it remembers without a schema change. It is written only after the posts
of a page are committed: a run killed between the two re-fetches that page, which upserts the same
posts (nothing lost, nothing duplicated).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import duckdb
import orjson


def load_cursor(db: duckdb.DuckDBPyConnection, source: str, endpoint: str, query: str) -> dict[str, Any] | None:
    """The saved state of (source, endpoint, query), or None before its first committed page."""
    rows = db.execute(
        "SELECT state FROM collect_cursors WHERE source = ? AND endpoint = ? AND query = ?",
        [source, endpoint, query],
    ).fetchall()
    if not rows:
        return None
    state = orjson.loads(rows[0][0])
    return state if isinstance(state, dict) else None


def save_cursor(
    db: duckdb.DuckDBPyConnection, source: str, endpoint: str, query: str, state: dict[str, Any], *, pages: int = 1
) -> None:
    """Store ``state`` and add ``pages`` to the page count (one statement: atomic on its own)."""
    db.execute(
        "INSERT INTO collect_cursors VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (source, endpoint, query) DO UPDATE "
        "SET state = excluded.state, pages = collect_cursors.pages + excluded.pages, updated_at = excluded.updated_at",
        [source, endpoint, query, orjson.dumps(state).decode(), pages, datetime.now(UTC)],
    )


def delete_cursor(db: duckdb.DuckDBPyConnection, source: str, endpoint: str, query: str) -> bool:
    """Forget where (source, endpoint, query) stopped; the next collect starts from ``--since``."""
    rows = db.execute(
        "DELETE FROM collect_cursors WHERE source = ? AND endpoint = ? AND query = ? RETURNING 1",
        [source, endpoint, query],
    ).fetchall()
    return bool(rows)


def list_cursors(db: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Every saved cursor, most recently updated first (for ``postlens collect --list``)."""
    rows = db.execute(
        "SELECT source, endpoint, query, state, pages, updated_at FROM collect_cursors ORDER BY updated_at DESC"
    ).fetchall()
    return [
        {
            "source": r[0],
            "endpoint": r[1],
            "query": r[2],
            "state": orjson.loads(r[3]),
            "pages": r[4],
            "updated_at": r[5],
        }
        for r in rows
    ]


def stored_media_paths(db: duckdb.DuckDBPyConnection, urls: list[str]) -> dict[str, str]:
    """URL -> workspace-relative path of media already stored from that URL (a later pass need not download it)."""
    if not urls:
        return {}
    rows = db.execute(
        "SELECT url, any_value(path) FROM media WHERE status = 'stored' AND path IS NOT NULL "
        "AND url IN (SELECT unnest(?)) GROUP BY url",
        [sorted(set(urls))],
    ).fetchall()
    return {url: path for url, path in rows}
