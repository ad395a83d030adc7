"""Trends: counts per time bin of hashtags, named entities and topics; bursts detected incrementally.

    from postlens.tasks.trends import trends
    report = trends("postlens-workspace", since="7d", bin="1h")   # TrendsReport
    report.alerts, report.terms

Bins are UTC, counted from the Unix epoch. ``since`` is measured back from the newest post in the
workspace (social datasets are historical) or from now (``relative_to_now=True``). Each run saves
the detector state in the workspace (tables ``trend_streams``, ``trend_state``, ``trend_bins``,
``trend_series``, ``alerts``, and ``entity_cache``), so the next run after an import only folds the new
bins; the result equals a full recompute. Term alerts are grouped into stories (``report.stories``):
a hashtag, its names and its topic bursting together are one story, and a later sub-story of a story
still going on joins it instead of raising a new alert.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from postlens.errors import ConfigError
from postlens.tasks.trends.config import DETECTORS, TrendSettings, format_duration, parse_duration
from postlens.tasks.trends.engine import StreamRun, forget_stale_streams, stream_key, update_stream
from postlens.tasks.trends.entities import EXTRACTORS, LightEntities, SpacyEntities
from postlens.tasks.trends.report import Alert, TermTrend, TrendsReport, window_report
from postlens.tasks.trends.sources import SOURCES, Entities, Hashtags, TermSource, Topics, make_sources
from postlens.tasks.trends.stories import Story, StoryMember, group_stories

MAX_WINDOW_BINS = 100_000
"""The report lists a count per bin of the window for each shown term: beyond this, ask for wider bins."""

__all__ = [
    "DETECTORS",
    "EXTRACTORS",
    "SOURCES",
    "Alert",
    "Entities",
    "Hashtags",
    "LightEntities",
    "SpacyEntities",
    "Story",
    "StoryMember",
    "StreamRun",
    "TermSource",
    "TermTrend",
    "Topics",
    "TrendSettings",
    "TrendsReport",
    "detect_trends",
    "format_duration",
    "group_stories",
    "make_sources",
    "parse_duration",
    "stream_key",
    "trends",
]


def detect_trends(
    db: duckdb.DuckDBPyConnection,
    *,
    since: str | timedelta = "7d",
    bin: str | int = "1h",
    sources: Sequence[str | TermSource] | None = None,
    settings: TrendSettings | None = None,
    relative_to_now: bool = False,
    now: datetime | None = None,
    top: int = 20,
    entity_extractor: str = "light",
    progress: Callable[[str], None] | None = None,
) -> TrendsReport:
    """Update every source's saved state on an open, writable workspace connection and report the window."""
    bin_seconds = bin if isinstance(bin, int) else parse_duration(bin, what="--bin")
    window = since if isinstance(since, timedelta) else timedelta(seconds=parse_duration(since, what="--since"))
    chosen = (settings or TrendSettings()).with_changes(bin_seconds=bin_seconds)
    if top < 1:
        raise ConfigError(f"top must be >= 1, got {top}")
    if window.total_seconds() / bin_seconds > MAX_WINDOW_BINS:
        raise ConfigError(
            f"--since {format_duration(int(window.total_seconds()))} holds more than {MAX_WINDOW_BINS:,} "
            f"bins of {format_duration(bin_seconds)}; use a wider --bin or a shorter --since"
        )
    named = [s for s in (sources or []) if isinstance(s, str)]
    made = make_sources(named, entity_extractor=entity_extractor) if named or not sources else []
    plugged = [s for s in (sources or []) if not isinstance(s, str)]
    all_sources: list[TermSource] = made + plugged
    newest_row = db.execute("SELECT max(created_at) FROM posts").fetchall()[0]
    newest = newest_row[0] if newest_row else None
    if relative_to_now:
        horizon = (now or datetime.now(UTC)).astimezone(UTC)
    elif newest is None:
        raise ConfigError(
            "no post in this workspace has a time, so there is nothing to bin; import posts with created_at"
        )
    else:
        horizon = newest.astimezone(UTC)
    notes: list[str] = []
    stale = forget_stale_streams(db)
    if stale:
        notes.append(f"dropped {len(stale)} saved trend state(s) of an older postlens (recomputed where asked)")
    streams: dict[str, str] = {}
    counted: list[tuple[TermSource, str]] = []
    for source in all_sources:
        note = source.prepare(db)
        if note:
            notes.append(note)
            continue
        run = update_stream(db, source, chosen, horizon=horizon, progress=progress)
        notes.extend(run.notes)
        streams[source.name] = run.stream
        counted.append((source, run.stream))
        if progress is not None:
            how = "continued from the saved state" if run.continued else "computed from the start"
            progress(f"{source.name}: {run.bins_folded:,} new complete bins folded ({how}); {run.alerts_new} alerts")
    report = window_report(db, streams, chosen, since=horizon - window, until=horizon, top=top)
    report.notes = notes + report.notes
    _attach_stories(report, group_stories(db, counted, chosen))
    if report.posts_without_time:
        report.notes.append(f"{report.posts_without_time:,} posts have no time and are not counted")
    if relative_to_now and newest is not None and newest < horizon - window:
        report.notes.append(
            f"the newest post ({newest:%Y-%m-%d %H:%M} UTC) is older than the window; "
            "leave out --now to measure the window back from the newest post"
        )
    return report


def _attach_stories(report: TrendsReport, stories: list[Story]) -> None:
    """The stories with an alert in the report's window, and each alert's story."""
    story_of = {(m.source, m.term, m.bin_start): s.key for s in stories for m in s.members}
    report.alerts = [replace(a, story=story_of.get((a.source, a.term, a.bin_start))) for a in report.alerts]
    report.stories = [
        s for s in stories if any(m.fired_at >= report.since and m.bin_start <= report.until for m in s.members)
    ]


def trends(workspace: str | Path | None = None, **options: object) -> TrendsReport:
    """``detect_trends`` on the workspace folder (opened for writing briefly: the state is saved there)."""
    from postlens.store.workspace import open_briefly, resolve_workspace_path

    with open_briefly(resolve_workspace_path(workspace)) as ws:
        return detect_trends(ws.db, **options)  # type: ignore[arg-type]
