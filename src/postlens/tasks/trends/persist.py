"""Reading and writing a stream's detector state and results in the workspace's trend tables."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import numpy as np
import pyarrow as pa

from postlens.tasks.trends.config import TrendSettings
from postlens.tasks.trends.detector import NO_ALERT, BinResult, StreamState

TS = pa.timestamp("us", tz="UTC")


def bin_time(index: int, settings: TrendSettings) -> datetime:
    return datetime.fromtimestamp(index * settings.bin_seconds, tz=UTC)


@dataclass
class StreamRow:
    frontier_bin: int | None


def load_stream(
    db: duckdb.DuckDBPyConnection, stream: str, settings: TrendSettings
) -> tuple[StreamRow, StreamState] | None:
    """The saved state of ``stream``, or None when it has none."""
    rows = db.execute(
        "SELECT CAST(epoch(frontier) AS BIGINT), CAST(epoch(first_bin) AS BIGINT), CAST(epoch(last_bin) AS BIGINT), volume "
        "FROM trend_streams WHERE stream = ?",
        [stream],
    ).fetchall()
    if not rows:
        return None
    row = rows[0]
    b = settings.bin_seconds
    state = StreamState.empty(settings)
    state.volume = np.array(row[3] or [0.0] * settings.n_slots, dtype=float)
    state.first_bin = None if row[1] is None else row[1] // b
    state.last_bin = None if row[2] is None else row[2] // b
    table = db.sql(
        "SELECT term, slot_counts, level, prev_level, expected_level, kleinberg_d, in_burst, "
        "CAST(epoch(last_burst_bin) AS BIGINT) AS last_alert FROM trend_state WHERE stream = ? ORDER BY term",
        params=[stream],
    ).to_arrow_table()
    n = table.num_rows
    if n:
        state.terms = table["term"].to_pylist()
        state.index = {t: i for i, t in enumerate(state.terms)}
        state.slot_counts = np.array(table["slot_counts"].to_pylist(), dtype=float).reshape(n, settings.n_slots)
        for name in ("level", "prev_level", "expected_level", "kleinberg_d"):
            setattr(state, name, table[name].to_numpy(zero_copy_only=False).astype(float))
        state.in_burst = table["in_burst"].to_numpy(zero_copy_only=False).astype(bool)
        alerts = table["last_alert"].to_pylist()
        state.last_alert = np.array([NO_ALERT if a is None else a // b for a in alerts], dtype=np.int64)
    frontier = None if row[0] is None else row[0] // b
    return StreamRow(frontier_bin=frontier), state


def forget_stream(db: duckdb.DuckDBPyConnection, stream: str) -> None:
    for table in ("trend_state", "trend_bins", "trend_series", "alerts", "trend_streams"):
        db.execute(f"DELETE FROM {table} WHERE stream = ?", [stream])


def save_state(
    db: duckdb.DuckDBPyConnection,
    stream: str,
    source: str,
    settings: TrendSettings,
    state: StreamState,
    frontier_bin: int,
) -> None:
    b = settings.bin_seconds

    def ts(index: int | None) -> datetime | None:
        return None if index is None else bin_time(index, settings)

    db.execute("DELETE FROM trend_streams WHERE stream = ?", [stream])
    db.execute(
        "INSERT INTO trend_streams VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            stream,
            source,
            b,
            json.dumps(settings.to_dict(), sort_keys=True),
            ts(frontier_bin),
            ts(state.first_bin),
            ts(state.last_bin),
            [float(v) for v in state.volume],
            datetime.now(UTC),
        ],
    )
    db.execute("DELETE FROM trend_state WHERE stream = ?", [stream])
    if not state.terms:
        return
    last_alert = [None if a == NO_ALERT else int(a) * b * 1_000_000 for a in state.last_alert]
    table = pa.table(
        {
            "stream": [stream] * len(state.terms),
            "term": state.terms,
            "slot_counts": pa.array(state.slot_counts.tolist(), type=pa.list_(pa.float64())),
            "level": state.level,
            "prev_level": state.prev_level,
            "expected_level": state.expected_level,
            "kleinberg_d": state.kleinberg_d,
            "in_burst": state.in_burst,
            "last_burst_bin": pa.array(last_alert, type=pa.int64()).cast(TS),
        }
    )
    _insert(db, "trend_state", table)


def save_results(
    db: duckdb.DuckDBPyConnection,
    stream: str,
    source: str,
    settings: TrendSettings,
    state: StreamState,
    results: list[BinResult],
    *,
    provisional: bool,
    fired_at: datetime | None = None,
) -> int:
    """Series rows and alerts of folded bins; returns the number of alerts written."""
    b = settings.bin_seconds
    series: dict[str, list[object]] = {
        k: [] for k in ("bin_start", "term", "count", "expected", "score", "growth", "state")
    }
    alerts: dict[str, list[object]] = {k: [] for k in ("bin_start", "term", "count", "expected", "score", "fired_at")}
    for result in results:
        start = result.bin_index * b * 1_000_000
        end = fired_at if fired_at is not None else bin_time(result.bin_index + 1, settings)
        terms = [state.terms[i] for i in result.rows]
        series["bin_start"].extend([start] * len(terms))
        series["term"].extend(terms)
        series["count"].extend(result.count.tolist())
        series["expected"].extend(result.expected.tolist())
        series["score"].extend(result.score.tolist())
        series["growth"].extend([None if np.isnan(g) else float(g) for g in result.growth])
        series["state"].extend(result.state)
        for k in np.flatnonzero(result.alert):
            alerts["bin_start"].append(start)
            alerts["term"].append(terms[k])
            alerts["count"].append(int(result.count[k]))
            alerts["expected"].append(float(result.expected[k]))
            alerts["score"].append(float(result.score[k]))
            alerts["fired_at"].append(end)
    n = len(series["term"])
    if n:
        _insert(
            db,
            "trend_series",
            pa.table(
                {
                    "stream": [stream] * n,
                    "bin_start": pa.array(series["bin_start"], type=pa.int64()).cast(TS),
                    "term": series["term"],
                    "count": pa.array(series["count"], type=pa.int64()),
                    "expected": pa.array(series["expected"], type=pa.float64()),
                    "score": pa.array(series["score"], type=pa.float64()),
                    "growth": pa.array(series["growth"], type=pa.float64()),
                    "state": series["state"],
                    "provisional": [provisional] * n,
                }
            ),
        )
    m = len(alerts["term"])
    if m:
        _insert(
            db,
            "alerts",
            pa.table(
                {
                    "stream": [stream] * m,
                    "source": [source] * m,
                    "term": alerts["term"],
                    "bin_start": pa.array(alerts["bin_start"], type=pa.int64()).cast(TS),
                    "fired_at": pa.array(alerts["fired_at"], type=TS),
                    "count": pa.array(alerts["count"], type=pa.int64()),
                    "expected": pa.array(alerts["expected"], type=pa.float64()),
                    "score": pa.array(alerts["score"], type=pa.float64()),
                    "provisional": [provisional] * m,
                }
            ),
        )
    return m


def _insert(db: duckdb.DuckDBPyConnection, table: str, rows: pa.Table) -> None:
    name = f"new_{table}_rows"
    db.register(name, rows)
    try:
        columns = ", ".join(rows.column_names)
        db.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {name}")
    finally:
        db.unregister(name)
