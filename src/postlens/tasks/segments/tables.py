"""Read and write the segments tables (``topics``, ``post_topics``, ``topic_history``; schema in store/schema.py).

Every write of one run is one transaction, so a killed run leaves the tables as they were.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa

from postlens.store.workspace import Workspace
from postlens.tasks.segments.describe import TopicSummary
from postlens.tasks.segments.model import Change

_TS = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True)
class TopicRow:
    """A ``topics`` row as written: the summary plus what kind of segment it is."""

    summary: TopicSummary
    kind: str = "cluster"
    name: str | None = None
    status: str = "active"


def assignments(workspace: Workspace, segmentation: str) -> dict[str, int | None]:
    """post id -> topic id (None for outliers) of one segmentation."""
    return dict(
        workspace.db.execute(
            "SELECT post_id, topic_id FROM post_topics WHERE segmentation = ?", [segmentation]
        ).fetchall()
    )


def segmentations(workspace: Workspace) -> list[tuple[str, str, int, int]]:
    """(name, kind, topics, posts) of every segmentation in the workspace."""
    return workspace.db.execute(
        "SELECT t.segmentation, any_value(t.kind), count(*) FILTER (WHERE t.status = 'active'), "
        "(SELECT count(*) FROM post_topics p WHERE p.segmentation = t.segmentation) "
        "FROM topics t GROUP BY t.segmentation ORDER BY 1"
    ).fetchall()


def known_topics(workspace: Workspace, segmentation: str) -> dict[int, dict[str, Any]]:
    cursor = workspace.db.execute("SELECT * FROM topics WHERE segmentation = ? ORDER BY topic_id", [segmentation])
    columns = [d[0] for d in cursor.description]
    return {row[1]: dict(zip(columns, row)) for row in cursor.fetchall()}


def write_run(
    workspace: Workspace,
    segmentation: str,
    run_id: str,
    *,
    post_ids: Sequence[str],
    topics: Sequence[int | None],
    scores: np.ndarray,
    novel: np.ndarray,
    rows: Iterable[TopicRow],
    changes: Sequence[Change],
    replace_all: bool = False,
) -> None:
    """Assignments of ``post_ids`` (all of the segmentation's when ``replace_all``), topic rows, history."""
    now = datetime.now(UTC)
    db = workspace.db
    ids = pa.table({"id": pa.array(list(post_ids), pa.string())})
    db.execute("BEGIN TRANSACTION")
    try:
        db.register("_seg_ids", ids)
        if replace_all:
            db.execute("DELETE FROM post_topics WHERE segmentation = ?", [segmentation])
        else:
            db.execute(
                "DELETE FROM post_topics WHERE segmentation = ? AND post_id IN (SELECT id FROM _seg_ids)",
                [segmentation],
            )
        db.register(
            "_seg_assign",
            pa.table(
                {
                    "post_id": pa.array(list(post_ids), pa.string()),
                    "topic_id": pa.array([None if t is None else int(t) for t in topics], pa.int32()),
                    "score": pa.array(
                        [None if not np.isfinite(s) else float(s) for s in np.asarray(scores, float)], pa.float64()
                    ),
                    "novel": pa.array([bool(v) for v in novel], pa.bool_()),
                }
            ),
        )
        db.execute(
            "INSERT INTO post_topics SELECT ?, a.post_id, a.topic_id, a.score, a.novel, p.created_at, ?, ? "
            "FROM _seg_assign a JOIN posts p ON p.id = a.post_id",
            [segmentation, now, run_id],
        )
        _write_topics(db, segmentation, list(rows), now)
        db.execute(
            "UPDATE topics SET size = coalesce((SELECT count(*) FROM post_topics p WHERE p.segmentation = topics.segmentation "
            "AND p.topic_id = topics.topic_id), 0) WHERE segmentation = ?",
            [segmentation],
        )
        _write_history(db, segmentation, run_id, changes, now)
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    finally:
        for name in ("_seg_ids", "_seg_assign", "_seg_topics", "_seg_history"):
            try:
                db.unregister(name)
            except Exception:  # noqa: BLE001 - not registered when an earlier step failed
                pass


def _write_topics(db: Any, segmentation: str, rows: list[TopicRow], now: datetime) -> None:
    if not rows:
        return
    created = dict(
        db.execute("SELECT topic_id, created_at FROM topics WHERE segmentation = ?", [segmentation]).fetchall()
    )
    table = pa.table(
        {
            "segmentation": pa.array([segmentation] * len(rows), pa.string()),
            "topic_id": pa.array([r.summary.topic_id for r in rows], pa.int32()),
            "kind": pa.array([r.kind for r in rows], pa.string()),
            "name": pa.array([r.name for r in rows], pa.string()),
            "label": pa.array([r.name or r.summary.label for r in rows], pa.string()),
            "words": pa.array([[w for w, _ in r.summary.words] for r in rows], pa.list_(pa.string())),
            "word_scores": pa.array([[float(s) for _, s in r.summary.words] for r in rows], pa.list_(pa.float64())),
            "size": pa.array([r.summary.size for r in rows], pa.int64()),
            "representatives": pa.array([r.summary.representatives for r in rows], pa.list_(pa.string())),
            "status": pa.array([r.status for r in rows], pa.string()),
            "created_at": pa.array([created.get(r.summary.topic_id, now) for r in rows], _TS),
            "updated_at": pa.array([now] * len(rows), _TS),
        }
    )
    db.register("_seg_topics", table)
    db.execute("INSERT OR REPLACE INTO topics SELECT * FROM _seg_topics")


def _write_history(db: Any, segmentation: str, run_id: str, changes: Sequence[Change], now: datetime) -> None:
    if not changes:
        return
    db.register(
        "_seg_history",
        pa.table(
            {
                "segmentation": pa.array([segmentation] * len(changes), pa.string()),
                "run_id": pa.array([run_id] * len(changes), pa.string()),
                "happened_at": pa.array([now] * len(changes), _TS),
                "event": pa.array([c.event for c in changes], pa.string()),
                "topic_id": pa.array([c.topic_id for c in changes], pa.int32()),
                "other_topic_ids": pa.array([c.others for c in changes], pa.list_(pa.int32())),
                "posts": pa.array([c.posts for c in changes], pa.int64()),
                "detail": pa.array([c.detail for c in changes], pa.string()),
            }
        ),
    )
    db.execute("INSERT INTO topic_history SELECT * FROM _seg_history")
    for change in changes:
        if change.event in ("merged", "retired"):
            db.execute(
                "UPDATE topics SET status = ?, updated_at = ? WHERE segmentation = ? AND topic_id = ?",
                [change.event, now, segmentation, change.topic_id],
            )


def sizes_over_time(workspace: Workspace, segmentation: str, bin: str = "week") -> list[tuple[datetime, int, int]]:
    """(bin start, topic id, posts) for posts with a time; ``bin`` is a DuckDB date_trunc part."""
    allowed = ("hour", "day", "week", "month", "year")
    if bin not in allowed:
        from postlens.errors import unknown_name

        raise unknown_name("time bin", bin, allowed)
    return workspace.db.execute(
        f"SELECT date_trunc('{bin}', created_at) AS bin, topic_id, count(*) FROM post_topics "
        "WHERE segmentation = ? AND topic_id IS NOT NULL AND created_at IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2",
        [segmentation],
    ).fetchall()
