"""What the agent keeps of the workspace's tables, read in one short read-only visit and refreshed when
the database changes: topics (labels, words, how similar their own posts are), the newest saved trend
state of every term, and each post's signature for the neighbour index.

The agent never holds the database open between calls (a read-only DuckDB connection would keep
``postlens ingest`` out); answers come from this snapshot, so a call costs no database open.
"""

from __future__ import annotations

import bisect
import json
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from postlens.agent.index import META_SCHEMA, SNIPPET_CHARS, NewRows
from postlens.agent.segmenter import Segmenter
from postlens.store.workspace import DB_NAME, Workspace


@dataclass
class TopicRow:
    topic_id: int
    label: str | None
    name: str | None
    words: list[str]
    status: str
    scores: list[float] = field(default_factory=list)  # the similarity of each of its posts, sorted

    def confidence(self, similarity: float) -> float | None:
        """Share of the topic's own posts less similar to it than ``similarity``."""
        if not self.scores or not np.isfinite(similarity):
            return None
        return bisect.bisect_left(self.scores, similarity) / len(self.scores)


@dataclass
class TermState:
    state: str
    count: int
    expected: float | None
    growth: float | None
    bin_start: datetime | None
    last_alert: datetime | None


@dataclass
class TrendStream:
    source: str
    version: str
    stream: str
    bin_seconds: int
    terms: dict[str, TermState]


@dataclass
class Snapshot:
    stamp: tuple[Any, ...]
    kinds: dict[str, str] = field(default_factory=dict)  # segmentation -> kind
    topics: dict[int, TopicRow] = field(default_factory=dict)
    trends: dict[str, TrendStream] = field(default_factory=dict)  # source -> its newest stream
    posts: int = 0


def database_stamp(root: Path) -> tuple[Any, ...]:
    """Changes whenever the database (or its write-ahead log) is written."""
    out: list[Any] = []
    for name in (DB_NAME, f"{DB_NAME}.wal"):
        try:
            info = os.stat(root / name)
            out += [info.st_mtime_ns, info.st_size]
        except FileNotFoundError:
            out += [None, None]
    return tuple(out)


def read_snapshot(ws: Workspace, segmentation: str | None) -> Snapshot:
    db = ws.db
    db.execute("SELECT 1").fetchall()  # a fresh read-only open leaves its schema check's result pending
    snapshot = Snapshot(stamp=database_stamp(ws.root))
    snapshot.posts = int(db.execute("SELECT count(*) FROM posts").fetchall()[0][0])
    if _has(db, "topics"):
        snapshot.kinds = dict(db.execute("SELECT segmentation, any_value(kind) FROM topics GROUP BY 1").fetchall())
        if segmentation is not None and segmentation in snapshot.kinds:
            snapshot.topics = _topics(db, segmentation)
    if _has(db, "trend_streams"):
        snapshot.trends = _trends(db)
    return snapshot


def _has(db: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(db.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table]).fetchall()[0][0])


def _topics(db: duckdb.DuckDBPyConnection, segmentation: str) -> dict[int, TopicRow]:
    rows = db.execute("SELECT topic_id, label, name, words, status FROM topics WHERE segmentation = ?",
                      [segmentation]).fetchall()
    topics = {int(t): TopicRow(int(t), label, name, list(words or []), status) for t, label, name, words, status in rows}
    for topic_id, scores in db.execute(
            "SELECT topic_id, list_sort(list(score)) FROM post_topics WHERE segmentation = ? AND topic_id IS NOT NULL "
            "AND score IS NOT NULL AND isfinite(score) GROUP BY topic_id", [segmentation]).fetchall():
        if int(topic_id) in topics:
            topics[int(topic_id)].scores = [float(s) for s in scores]
    return topics


def _trends(db: duckdb.DuckDBPyConnection) -> dict[str, TrendStream]:
    """Per source, the most recently updated stream, and each of its terms' newest row."""
    out: dict[str, TrendStream] = {}
    for stream, source, bin_seconds in db.execute(
            "SELECT stream, source, bin_seconds FROM trend_streams ORDER BY updated_at DESC, stream").fetchall():
        if source in out:
            continue
        newest = db.execute("SELECT max(bin_start) FROM trend_series WHERE stream = ?", [stream]).fetchall()[0][0]
        alerts = dict(db.execute("SELECT term, max(fired_at) FROM alerts WHERE stream = ? GROUP BY term", [stream]).fetchall())
        terms: dict[str, TermState] = {}
        for term, state, count, expected, growth, at in db.execute(
                "SELECT term, arg_max(state, bin_start), arg_max(count, bin_start), arg_max(expected, bin_start), "
                "arg_max(growth, bin_start), max(bin_start) FROM trend_series WHERE stream = ? AND count > 0 "
                "GROUP BY term", [stream]).fetchall():
            current = at == newest
            terms[term] = TermState(state if current else "steady", int(count), expected, growth if current else None,
                                    at, alerts.get(term))
        version = stream.split("|", 1)[0].split("@", 1)[1] if "@" in stream.split("|", 1)[0] else ""
        out[source] = TrendStream(source, version, stream, int(bin_seconds), terms)
    return out


def post_signatures(ws: Workspace, segmentation: str | None) -> dict[str, str]:
    """post id -> md5 of what its fused vector and index record are made of (text fields and their
    cache keys, stored media, labels, topic): a changed post gets a new signature."""
    db = ws.db
    fields = ("(SELECT post_id, string_agg(field || ':' || key, ',' ORDER BY field, key) AS k FROM text_fields GROUP BY post_id)"
              if _has(db, "text_fields") else "(SELECT NULL::VARCHAR AS post_id, NULL::VARCHAR AS k WHERE false)")
    topics = ("(SELECT post_id, topic_id FROM post_topics WHERE segmentation = $seg)" if _has(db, "post_topics")
              else "(SELECT NULL::VARCHAR AS post_id, NULL::INTEGER AS topic_id WHERE false)")
    rows = db.execute(f"""
        WITH m AS (SELECT post_id, string_agg(kind || ':' || sha256, ',' ORDER BY position) AS s FROM media
                   WHERE status = 'stored' GROUP BY post_id)
        SELECT p.id, md5(coalesce(tf.k, md5(p.text)) || '#' || coalesce(m.s, '') || '#' ||
                         coalesce(CAST(t.topic_id AS VARCHAR), '-') || '#' || coalesce(CAST(p.labels AS VARCHAR), ''))
        FROM posts p LEFT JOIN {fields} tf ON tf.post_id = p.id LEFT JOIN m ON m.post_id = p.id
        LEFT JOIN {topics} t ON t.post_id = p.id ORDER BY p.id""", {"seg": segmentation or ""} if "$seg" in topics else {}).fetchall()
    return dict(rows)


def index_rows(ws: Workspace, ids: list[str], segmenter: Segmenter, signatures: dict[str, str]) -> NewRows:
    """Fused vectors and records of these posts, read from the tables and the feature cache."""
    from postlens.tasks.segments.load import load_parts

    parts = load_parts(ws, ids)
    vectors = segmenter.fuse(parts).astype(np.float32)
    ws.db.register("_agent_ids", pa.table({"id": pa.array(ids, pa.string())}))
    try:
        topic_sql = ("(SELECT post_id, topic_id FROM post_topics WHERE segmentation = ?)" if _has(ws.db, "post_topics")
                     else "(SELECT NULL::VARCHAR AS post_id, NULL::INTEGER AS topic_id WHERE ? IS NULL)")
        facts = {r[0]: r[1:] for r in ws.db.execute(
            f"SELECT p.id, p.created_at, p.media_kinds, CAST(to_json(p.labels) AS VARCHAR), t.topic_id FROM posts p "
            f"LEFT JOIN {topic_sql} t ON t.post_id = p.id WHERE p.id IN (SELECT id FROM _agent_ids)",
            [segmenter.name]).fetchall()}
    finally:
        ws.db.unregister("_agent_ids")
    meta = pa.table({
        "post_id": ids, "signature": [signatures.get(p, "") for p in ids],
        "text": [t[:SNIPPET_CHARS] for t in parts.texts],
        "created_at": [facts[p][0] for p in ids], "media_kinds": [list(facts[p][1] or []) for p in ids],
        "topic_id": [facts[p][3] for p in ids], "labels": [_labels_json(facts[p][2]) for p in ids],
        "has_vector": [bool(np.any(v)) for v in vectors],
    }, schema=META_SCHEMA)
    return NewRows(vectors, meta)


def _labels_json(value: Any) -> str:
    if value in (None, "null"):
        return "{}"
    parsed = json.loads(value)
    if isinstance(parsed, list):  # a MAP as a list of {key, value}
        parsed = {str(item["key"]): item["value"] for item in parsed}
    return json.dumps({str(k): str(v) for k, v in (parsed or {}).items()})
