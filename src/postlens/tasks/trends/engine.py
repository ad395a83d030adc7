"""Bring one stream's saved detector state up to date with the posts in the workspace.

Complete bins (ending at or before the horizon: the newest post, or now) are folded into the saved
state once; the newest, unfinished bin is evaluated on a copy and its rows are marked provisional
(replaced on the next run). Before continuing, the per-bin fingerprints of everything already
folded are checked against the posts as they are now: posts that arrived late, changed or
disappeared in those bins make the stream recompute from its start, said in the notes, so the
result always equals a full recompute.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import duckdb
import numpy as np

from postlens.tasks.trends.config import TrendSettings, format_duration
from postlens.tasks.trends.detector import DETECTOR_VERSION, BinResult, StreamState, fold_bin
from postlens.tasks.trends.persist import bin_time, forget_stream, load_stream, save_results, save_state
from postlens.tasks.trends.sources import TermSource


@dataclass
class StreamRun:
    stream: str
    source: str
    continued: bool
    bins_folded: int = 0
    alerts_new: int = 0
    notes: list[str] = field(default_factory=list)


def stream_key(source: TermSource, settings: TrendSettings) -> str:
    return (
        f"{source.name}@{source.version}|{format_duration(settings.bin_seconds)}|"
        f"{settings.detector}@{DETECTOR_VERSION}|{settings.fingerprint()}"
    )


def forget_stale_streams(db: duckdb.DuckDBPyConnection) -> list[str]:
    """Drop the saved streams of another detector version (their numbers came from other code)."""
    stale = [
        key
        for (key,) in db.execute("SELECT stream FROM trend_streams").fetchall()
        if len(key.split("|")) < 3 or not key.split("|")[2].endswith(f"@{DETECTOR_VERSION}")
    ]
    for key in stale:
        forget_stream(db, key)
    return stale


def _bin_sql(settings: TrendSettings, column: str) -> str:
    return f"CAST(floor(epoch_ms({column}) / {settings.bin_seconds * 1000.0}) AS BIGINT)"


def _prepare_views(db: duckdb.DuckDBPyConnection, source: TermSource, settings: TrendSettings) -> None:
    b = _bin_sql(settings, "p.created_at")
    db.execute(
        f"CREATE OR REPLACE TEMP VIEW trend_posts AS SELECT p.id AS post_id, {b} AS b, "
        "coalesce(p.author_id, p.id) AS author FROM posts p WHERE p.created_at IS NOT NULL"
    )
    db.execute(
        "CREATE OR REPLACE TEMP VIEW trend_pairs AS SELECT q.post_id, q.term, tp.b, tp.author "
        f"FROM ({source.pairs_sql()}) q JOIN trend_posts tp ON tp.post_id = q.post_id"
    )


def _changed_bins(db: duckdb.DuckDBPyConnection, stream: str, frontier: int, settings: TrendSettings) -> int | None:
    """The first folded bin whose posts or pairs differ from what was folded; None when none does."""
    row = db.execute(
        """
        WITH cur_posts AS (SELECT b, count(*) AS posts, sum(hash(post_id))::HUGEINT AS d FROM trend_posts WHERE b < ? GROUP BY b),
        cur_pairs AS (SELECT b, count(*) AS pairs, sum(hash(post_id || chr(31) || term))::HUGEINT AS d FROM trend_pairs
                      WHERE b < ? GROUP BY b),
        cur AS (SELECT cp.b, cp.posts, coalesce(pr.pairs, 0) AS pairs, cp.d + coalesce(pr.d, 0) AS digest
                FROM cur_posts cp LEFT JOIN cur_pairs pr USING (b)),
        saved AS (SELECT CAST(epoch(bin_start) AS BIGINT) // ? AS b, posts, pairs, digest FROM trend_bins WHERE stream = ?)
        SELECT min(coalesce(cur.b, saved.b)) FROM cur FULL OUTER JOIN saved ON cur.b = saved.b
        WHERE cur.b IS NULL OR saved.b IS NULL OR cur.posts <> saved.posts OR cur.pairs <> saved.pairs
              OR cur.digest <> saved.digest
        """,
        [frontier, frontier, settings.bin_seconds, stream],
    ).fetchall()[0]
    return None if row is None or row[0] is None else int(row[0])


def update_stream(
    db: duckdb.DuckDBPyConnection,
    source: TermSource,
    settings: TrendSettings,
    *,
    horizon: datetime,
    progress: Callable[[str], None] | None = None,
) -> StreamRun:
    """Fold every complete bin up to ``horizon`` into the stream's state; evaluate the unfinished one."""
    stream = stream_key(source, settings)
    _prepare_views(db, source, settings)
    frontier = math.floor(horizon.timestamp() / settings.bin_seconds)  # first bin not complete at the horizon
    saved = load_stream(db, stream, settings)
    run = StreamRun(stream=stream, source=source.name, continued=saved is not None)
    state = StreamState.empty(settings)
    start = None
    if saved is not None:
        row, state = saved
        old = row.frontier_bin if row.frontier_bin is not None else frontier
        changed = _changed_bins(db, stream, old, settings)
        if old > frontier:
            run.notes.append(
                f"{source.name}: the horizon moved back before the saved state "
                f"({bin_time(old, settings):%Y-%m-%d %H:%M}); recomputed from the start"
            )
        elif changed is not None:
            run.notes.append(
                f"{source.name}: posts changed or arrived late in the bin of "
                f"{bin_time(changed, settings):%Y-%m-%d %H:%M} UTC, before the saved state; recomputed from the start"
            )
        else:
            start = old
        if start is None:
            run.continued = False
            state = StreamState.empty(settings)
    db.execute("BEGIN TRANSACTION")
    try:
        if start is None:
            forget_stream(db, stream)
        db.execute("DELETE FROM trend_series WHERE stream = ? AND provisional", [stream])
        db.execute("DELETE FROM alerts WHERE stream = ? AND provisional", [stream])
        bins = _load_bins(db, start, frontier + 1)
        complete = [item for item in bins if item[0] < frontier]
        unfinished = [item for item in bins if item[0] >= frontier]
        results: list[BinResult] = []
        for i, (index, n_posts, terms, counts, authors) in enumerate(complete):
            results.append(fold_bin(state, settings, index, n_posts, terms, counts, authors))
            if progress is not None and (i + 1) % 500 == 0:
                progress(f"{source.name}: {i + 1:,}/{len(complete):,} bins")
        run.bins_folded = len(complete)
        run.alerts_new = save_results(db, stream, source.name, settings, state, results, provisional=False)
        _save_fingerprints(db, stream, start, frontier, settings)
        save_state(db, stream, source.name, settings, state, frontier)
        if unfinished:
            preview = state.copy()
            partial = [fold_bin(preview, settings, *item) for item in unfinished]
            run.alerts_new += save_results(
                db, stream, source.name, settings, preview, partial, provisional=True, fired_at=horizon
            )
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return run


def _load_bins(
    db: duckdb.DuckDBPyConnection, start: int | None, stop: int
) -> list[tuple[int, int, list[str], np.ndarray, np.ndarray]]:
    """(bin, posts, terms, counts, distinct authors) for every bin with posts in [start, stop), in time order."""
    low = -(2**62) if start is None else start
    volumes = dict(
        db.execute("SELECT b, count(*) FROM trend_posts WHERE b >= ? AND b < ? GROUP BY b", [low, stop]).fetchall()
    )
    table = db.sql(
        "SELECT b, term, count(*) AS n, count(DISTINCT author) AS a FROM trend_pairs WHERE b >= ? AND b < ? "
        "GROUP BY b, term ORDER BY b, term",
        params=[low, stop],
    ).to_arrow_table()
    by_bin: dict[int, tuple[list[str], list[int], list[int]]] = {}
    columns = (table[name].to_pylist() for name in ("b", "term", "n", "a"))
    for b, term, n, a in zip(*columns, strict=True):
        terms, counts, authors = by_bin.setdefault(b, ([], [], []))
        terms.append(term)
        counts.append(n)
        authors.append(a)
    out = []
    for b in sorted(volumes):
        terms, counts, authors = by_bin.get(b, ([], [], []))
        out.append(
            (int(b), int(volumes[b]), terms, np.array(counts, dtype=np.int64), np.array(authors, dtype=np.int64))
        )
    return out


def _save_fingerprints(
    db: duckdb.DuckDBPyConnection, stream: str, start: int | None, frontier: int, settings: TrendSettings
) -> None:
    low = -(2**62) if start is None else start
    db.execute(
        f"""
        INSERT INTO trend_bins
        WITH cur_posts AS (SELECT b, count(*) AS posts, sum(hash(post_id))::HUGEINT AS d FROM trend_posts
                           WHERE b >= ? AND b < ? GROUP BY b),
        cur_pairs AS (SELECT b, count(*) AS pairs, sum(hash(post_id || chr(31) || term))::HUGEINT AS d FROM trend_pairs
                      WHERE b >= ? AND b < ? GROUP BY b)
        SELECT ?, to_timestamp(cp.b * {settings.bin_seconds}), cp.posts, coalesce(pr.pairs, 0), cp.d + coalesce(pr.d, 0)
        FROM cur_posts cp LEFT JOIN cur_pairs pr USING (b)
        """,
        [low, frontier, low, frontier, stream],
    )
