"""What ``postlens trends`` answers for a window: terms with their counts per bin, state and growth, and alerts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import duckdb

from postlens.tasks.trends.config import TrendSettings
from postlens.tasks.trends.stories import Story


@dataclass(frozen=True, slots=True)
class TermTrend:
    source: str
    term: str
    total: int
    counts: list[int]  # per bin of the window, oldest first
    state: str  # at the newest bin: emerging | peaking | declining | steady
    growth: (
        float | None
    )  # at the newest bin: change of the short average / max(previous, 1 post); None: not counted there, or new
    expected: float  # baseline count at the newest bin where the term was counted
    last_alert: datetime | None


@dataclass(frozen=True, slots=True)
class Alert:
    source: str
    term: str
    bin_start: datetime
    fired_at: datetime
    count: int
    expected: float
    score: float
    provisional: bool
    story: str | None = None
    """Key of the story this alert belongs to (``TrendsReport.stories``); only a story's first bin is news."""


@dataclass
class TrendsReport:
    since: datetime
    until: datetime
    bin_seconds: int
    detector: str
    bins: list[datetime] = field(default_factory=list)
    terms: list[TermTrend] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    stories: list[Story] = field(default_factory=list)
    """Alerts grouped into stories (one story, one alert), each with the time it fired; those with an
    alert in the window, oldest first."""
    notes: list[str] = field(default_factory=list)
    posts_in_window: int = 0
    posts_without_time: int = 0


_ORDER = {"emerging": 0, "peaking": 1, "declining": 2, "steady": 3}


def window_report(
    db: duckdb.DuckDBPyConnection,
    streams: dict[str, str],
    settings: TrendSettings,
    *,
    since: datetime,
    until: datetime,
    top: int,
) -> TrendsReport:
    """``streams`` maps source name -> stream key. Terms are ranked by state (emerging first), then count."""
    b = settings.bin_seconds
    first = int(since.timestamp() // b)
    last = int(until.timestamp() // b)
    report = TrendsReport(since=since, until=until, bin_seconds=b, detector=settings.detector)
    report.bins = [datetime.fromtimestamp(i * b, tz=since.tzinfo) for i in range(first, last + 1)]
    row = db.execute(
        "SELECT count(*) FILTER (WHERE created_at >= ? AND created_at <= ?), count(*) FILTER (WHERE created_at IS NULL) "
        "FROM posts",
        [since, until],
    ).fetchall()[0]
    report.posts_in_window, report.posts_without_time = (int(row[0]), int(row[1])) if row else (0, 0)
    for source, stream in streams.items():
        rows = db.execute(
            """
            WITH w AS (SELECT * FROM trend_series WHERE stream = $stream AND bin_start >= $lo AND bin_start <= $hi),
            latest AS (SELECT term, arg_max(state, bin_start) AS state, arg_max(growth, bin_start) AS growth,
                              max(bin_start) AS at, max(score) AS best FROM w GROUP BY term),
            counted AS (SELECT term, sum(count) AS total, list(struct_pack(b := CAST(epoch(bin_start) AS BIGINT), n := count))
                               AS cells, arg_max(expected, bin_start) FILTER (WHERE count > 0) AS expected
                        FROM w GROUP BY term),
            alerted AS (SELECT term, max(fired_at) AS fired FROM alerts WHERE stream = $stream GROUP BY term)
            SELECT l.term, c.total, c.cells, CASE WHEN l.at = (SELECT max(bin_start) FROM w) THEN l.state ELSE 'steady' END AS state,
                   CASE WHEN l.at = (SELECT max(bin_start) FROM w) THEN l.growth END, coalesce(c.expected, 0), a.fired
            FROM latest l JOIN counted c USING (term) LEFT JOIN alerted a USING (term)
            WHERE c.total > 0
            """,
            {"stream": stream, "lo": report.bins[0], "hi": report.bins[-1]},
        ).fetchall()
        rows.sort(key=lambda r: (_ORDER[r[3]], -int(r[1]), r[0]))
        for term, total, cells, state, growth, expected, fired in rows[:top]:
            counts = [0] * len(report.bins)
            for cell in cells:
                counts[cell["b"] // b - first] += int(cell["n"])
            report.terms.append(TermTrend(source, term, int(total), counts, state, growth, float(expected), fired))
        for values in db.execute(
            "SELECT term, bin_start, fired_at, count, expected, score, provisional FROM alerts "
            "WHERE stream = ? AND fired_at >= ? AND bin_start <= ? ORDER BY fired_at, term",
            [stream, since, until],
        ).fetchall():
            report.alerts.append(
                Alert(
                    source,
                    values[0],
                    values[1],
                    values[2],
                    int(values[3]),
                    float(values[4]),
                    float(values[5]),
                    bool(values[6]),
                )
            )
    report.alerts.sort(key=lambda a: (a.fired_at, a.source, a.term))
    return report
