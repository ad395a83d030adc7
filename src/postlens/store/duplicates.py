"""The ``duplicate_clusters`` table: which posts are copies of one another (``postlens dedupe``).

A run replaces the whole table in one transaction (clusters are recomputed over every post, so a
re-run gives the same rows and a killed run leaves the previous ones); posts themselves are never
touched. The run's report is kept as JSON in ``meta`` under ``dedupe_run``, so ``postlens dedupe
--last`` and the duplicate-aware split know whether (and when) clusters were computed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

import duckdb
import orjson
import pyarrow as pa

RUN_KEY = "dedupe_run"


class ClusterRow(NamedTuple):
    """One post of a cluster: the post it was linked to and why (None for the cluster's first post)."""

    post_id: str
    cluster_id: str
    reason: str | None
    linked_to: str | None
    similarity: float | None


def replace_clusters(
    db: duckdb.DuckDBPyConnection, rows: Sequence[ClusterRow], *, run_id: str, report: dict[str, Any]
) -> None:
    """Swap in this run's clusters and report, atomically."""
    now = datetime.now(UTC)
    table = pa.table(
        {
            "post_id": pa.array([r.post_id for r in rows], pa.string()),
            "cluster_id": pa.array([r.cluster_id for r in rows], pa.string()),
            "reason": pa.array([r.reason for r in rows], pa.string()),
            "linked_to": pa.array([r.linked_to for r in rows], pa.string()),
            "similarity": pa.array([r.similarity for r in rows], pa.float64()),
        }
    )
    db.execute("BEGIN TRANSACTION")
    try:
        db.execute("DELETE FROM duplicate_clusters")
        db.register("_dedupe_rows", table)
        db.execute(
            "INSERT INTO duplicate_clusters SELECT post_id, cluster_id, reason, linked_to, similarity, ?, ? "
            "FROM _dedupe_rows",
            [run_id, now],
        )
        db.unregister("_dedupe_rows")
        db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [RUN_KEY, orjson.dumps(report, default=str).decode()])
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def last_dedupe_report(db: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    """The report of the last completed ``postlens dedupe`` run; None if it never ran."""
    rows = db.execute("SELECT value FROM meta WHERE key = ?", [RUN_KEY]).fetchall()
    if not rows:
        return None
    report = orjson.loads(rows[0][0])
    return report if isinstance(report, dict) else None


def cluster_of(db: duckdb.DuckDBPyConnection, post_ids: Sequence[str] | None = None) -> dict[str, str]:
    """post id -> cluster id for posts in a cluster (of these ``post_ids``, or all); others are alone."""
    if post_ids is None:
        found = db.execute("SELECT post_id, cluster_id FROM duplicate_clusters").fetchall()
    else:
        found = db.execute(
            "SELECT post_id, cluster_id FROM duplicate_clusters WHERE post_id IN (SELECT unnest(?))",
            [list(post_ids)],
        ).fetchall()
    return {post_id: cluster for post_id, cluster in found}
