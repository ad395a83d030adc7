"""Trend alerts on PHEME and MediaEval 2016: how soon each event is alerted, and how many false alarms.

    PYTHONPATH=src python bench/trends.py [--pheme WS] [--mediaeval WS] [--bins 1h,1d]
        [--detectors poisson,kleinberg] [--entities light,spacy]

A workspace given is copied to a scratch folder first (the bench writes trend tables); without one
the dataset in ../shared/datasets is imported there. Sources counted: hashtags and entities.

Definitions (fixed before measuring):
- event: the post label ``event``; its **onset** is the time of its first post in the workspace.
- an alert's **event**: the event most posts carrying the alerted term in the alert's bin belong to
  ("mixed" on a tie).
- **detection** of event E: the first alert whose event is E, fired at or after E's onset. Delay =
  fired_at - onset (fired_at is the end of the alert's bin, the moment a per-bin detector knows),
  and in bins: alert bin - onset bin (goal: <= 1, "alerted within one bin of onset"). Posts-before
  = E's posts up to the end of the alert bin (the first of which may be a lone early tweet).
- **onset period** of E: [onset, onset + 24 h). **Quiet period**: every bin that holds at least one
  post and lies in no event's onset period (the events' later days and chatter between events).
  Bins without any post are not counted as time: these datasets were collected around events, and
  counting empty months would flatter the rate.
- **false alarm**: an alert in a quiet period (whatever its term: a sub-story of an ongoing event
  counts too, so this is strict). Rate = false alarms / quiet time in weeks (goal <= 1).
- Also shown: the rate when an event's start runs from its first post to 24 h after its first
  busy bin. An event whose first post is a lone early tweet (MediaEval's Sandy: 3 days before its
  first busy hour) otherwise has its whole main burst counted as "quiet".
- Also shown, as context for the one-bin goal: how many events have >= ``min_count`` posts in their
  onset bin or the next (a rate test needs that many; most MediaEval events open with a lone post
  and trickle for days), and how many of those were alerted within one bin.
- Also shown, as context for slow starts: the **busy bin** of E, its first bin holding at least
  ``min_count`` of its posts (the least a burst needs), and the alert's delay from it.
- Each setting is scored twice, with the same definitions: **term alerts** (every alert of every
  stream, as before) and **stories** (``group_stories``: alerts of the same posts grouped, one alert
  per story, fired with its first bin; a later alert that joins an earlier story is no alert). A
  story's event is the event most posts of its first bin belong to. A story alert in a quiet period
  is a false alarm; an event is detected by the first story alert of its event.
- ``--set novelty_min_authors=3`` (or 5) measures the novelty signal (off by default: see
  ``TrendSettings.novelty_min_authors``); ``--set story_gap_seconds=...`` etc. the grouping.
- The first event of each dataset starts the stream: it falls in the detector's two-day warm-up
  (no baseline yet), so it cannot be alerted at onset; it is listed with "warm-up".
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import statistics
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from postlens.errors import MissingDependency
from postlens.pipeline.ingest import run_ingest
from postlens.store.workspace import Workspace
from postlens.tasks.trends import TrendSettings, make_sources, parse_duration, stream_key
from postlens.tasks.trends.engine import update_stream
from postlens.tasks.trends.entities import fill_entity_cache
from postlens.tasks.trends.persist import forget_stream
from postlens.tasks.trends.stories import group_stories

ROOT = Path(__file__).resolve().parents[1]
DATASETS = Path(os.environ.get("POSTLENS_SHARED_DATASETS", ROOT.parent / "shared" / "datasets"))
if not DATASETS.exists():
    DATASETS = Path("/work/shared/datasets")
RECIPES = {"pheme": ("pheme", "pheme"), "mediaeval": ("mediaeval2016", "mediaeval2016")}
ONSET_PERIOD = timedelta(hours=24)


@dataclass
class Outcome:
    label: str
    per_event: list[tuple[str, datetime, int, str, int | None, float | None, int, bool, int | None]]
    detected_in_one_bin: int
    events_scored: int
    false_alarms: int
    quiet_weeks: float
    false_alarms_started: int
    quiet_weeks_started: float
    alerts: int
    top_false: list[tuple[str, int]]
    false_by_event: list[tuple[str, int]]
    seconds_full: float
    seconds_rerun: float
    reachable: int = 0
    """Scored events with >= min_count posts in their onset bin or the next: the only ones a rate
    test can alert within one bin of onset (context, not a change of the goal)."""
    reachable_within: int = 0


def workspace_for(name: str, given: Path | None, scratch: Path) -> Path | None:
    target = scratch / name
    if given is not None:
        if not (given / "postlens.duckdb").exists():
            print(f"{name}: {given} is not a workspace; skipped")
            return None
        shutil.copytree(given, target, ignore=shutil.ignore_patterns("media", "features", "models"))
        return target
    recipe, folder = RECIPES[name]
    if not (DATASETS / folder).exists():
        print(f"{name}: {DATASETS / folder} absent; skipped")
        return None
    run_ingest([DATASETS / folder], importer_name=recipe, workspace=target)
    return target


def evaluate(
    path: Path, *, bin_text: str, detector: str, extractor: str, changes: dict[str, float]
) -> tuple[Outcome, Outcome]:
    """The figures of the term alerts, and of the stories they are grouped into (one story, one alert)."""
    settings = TrendSettings(detector=detector, bin_seconds=parse_duration(bin_text)).with_changes(**changes)
    sources = make_sources(["hashtags", "entities"], entity_extractor=extractor)
    with Workspace(path) as ws:
        db = ws.db
        for source in sources:
            source.prepare(db)  # entity extraction is cached; the bench times the detector
            forget_stream(db, stream_key(source, settings))
        horizon = db.execute("SELECT max(created_at) FROM posts").fetchall()[0][0]
        started = time.perf_counter()
        for source in sources:
            update_stream(db, source, settings, horizon=horizon)
        seconds_full = time.perf_counter() - started
        started = time.perf_counter()
        for source in sources:
            update_stream(db, source, settings, horizon=horizon)
        seconds_rerun = time.perf_counter() - started
        b = settings.bin_seconds
        events = db.execute(
            "SELECT labels['event'], min(created_at) FROM posts WHERE labels['event'] IS NOT NULL "
            "AND created_at IS NOT NULL GROUP BY 1 ORDER BY 2"
        ).fetchall()
        post_bins = {
            r[0]
            for r in db.execute(
                f"SELECT DISTINCT CAST(floor(epoch_ms(created_at) / {b * 1000.0}) AS BIGINT) FROM posts "
                "WHERE created_at IS NOT NULL"
            ).fetchall()
        }
        attributed: list[tuple[str, datetime, datetime, str]] = []
        for source in sources:
            rows = db.execute(
                f"""
                WITH pairs AS ({source.pairs_sql()}),
                a AS (SELECT term, bin_start, fired_at FROM alerts WHERE stream = ?)
                SELECT a.term, a.bin_start, a.fired_at, p.labels['event'] AS ev, count(*) AS n
                FROM a JOIN pairs q ON q.term = a.term JOIN posts p ON p.id = q.post_id
                 AND p.created_at >= a.bin_start AND p.created_at < a.bin_start + to_seconds({b})
                GROUP BY ALL
                """,
                [stream_key(source, settings)],
            ).fetchall()
            votes: dict[tuple[str, datetime, datetime], Counter[str]] = defaultdict(Counter)
            for term, start, fired, event, n in rows:
                votes[(term, start, fired)][event or "none"] += n
            for (term, start, fired), counter in votes.items():
                attributed.append((f"{source.name}:{term}", start, fired, _winner(counter)))
        stories = group_stories(db, [(s, stream_key(s, settings)) for s in sources], settings)
        event_of = dict(db.execute("SELECT id, labels['event'] FROM posts").fetchall())
        story_units = [
            (
                story.lead,
                story.bin_start,
                story.fired_at,
                _winner(Counter(event_of.get(p) or "none" for p in story.first_posts)),
            )
            for story in stories
        ]
        event_posts = {
            e: [
                r[0]
                for r in db.execute(
                    "SELECT created_at FROM posts WHERE labels['event'] = ? ORDER BY created_at", [e]
                ).fetchall()
            ]
            for e, _ in events
        }
    label = f"bin {bin_text:<3} {detector:<9} entities {extractor:<5}" + "".join(
        f" {k}={v:g}" for k, v in changes.items()
    )
    common = (events, event_posts, post_bins, settings, seconds_full, seconds_rerun)
    return _score(label + "  term alerts", attributed, *common), _score(label + "  stories", story_units, *common)


def _winner(counter: Counter[str]) -> str:
    """The event most of the posts belong to; "mixed" on a tie."""
    ranked = counter.most_common(2)
    return ranked[0][0] if len(ranked) == 1 or ranked[0][1] > ranked[1][1] else "mixed"


def _score(
    label: str,
    attributed: list[tuple[str, datetime, datetime, str]],
    events: list[tuple[str, datetime]],
    event_posts: dict[str, list[datetime]],
    post_bins: set[int],
    settings: TrendSettings,
    seconds_full: float,
    seconds_rerun: float,
) -> Outcome:
    """Detections and false alarms of ``attributed`` alerts (label, bin start, fired at, event)."""
    b = settings.bin_seconds
    onset_bins: set[int] = set()
    start_bins: set[int] = set()  # also the days up to the event's first busy bin (and 24 h after it)
    for event, onset in events:
        first = int(onset.timestamp() // b)
        last = int((onset + ONSET_PERIOD).timestamp() // b)
        onset_bins.update(range(first, last + (1 if (onset + ONSET_PERIOD).timestamp() % b else 0)))
        counts = Counter(int(t.timestamp() // b) for t in event_posts[event])
        busy_bin = min((k for k, n in counts.items() if n >= settings.min_count), default=first)
        start_bins.update(range(first, max(last, busy_bin + math.ceil(ONSET_PERIOD.total_seconds() / b)) + 1))
    quiet = post_bins - onset_bins
    false_alarms = [a for a in attributed if int(a[1].timestamp() // b) in quiet]
    quiet_started = post_bins - onset_bins - start_bins
    false_started = [a for a in attributed if int(a[1].timestamp() // b) in quiet_started]
    per_event = []
    within = 0
    scored = 0
    reachable = reachable_within = 0
    for i, (event, onset) in enumerate(events):
        onset_bin = int(onset.timestamp() // b)
        hits = sorted(
            (a for a in attributed if a[3] == event and int(a[1].timestamp() // b) >= onset_bin), key=lambda a: a[2]
        )
        note = "warm-up" if i == 0 else ""
        per_bin = Counter(int(t.timestamp() // b) for t in event_posts[event])
        busy = min((k for k, n in per_bin.items() if n >= settings.min_count), default=None)
        if hits:
            alert_bin = int(hits[0][1].timestamp() // b)
            delay_bins: int | None = alert_bin - onset_bin
            delay_h: float | None = (hits[0][2] - onset).total_seconds() / 3600
            before = sum(1 for t in event_posts[event] if t < hits[0][2])
            term = hits[0][0]
            from_busy = None if busy is None else alert_bin - busy
        else:
            delay_bins, delay_h, before, term, from_busy = None, None, len(event_posts[event]), "-", None
        if i > 0:
            scored += 1
            within += int(delay_bins is not None and delay_bins <= 1)
            if per_bin[onset_bin] >= settings.min_count or per_bin[onset_bin + 1] >= settings.min_count:
                reachable += 1
                reachable_within += int(delay_bins is not None and delay_bins <= 1)
        per_event.append(
            (
                event,
                onset,
                len(event_posts[event]),
                term + (f" ({note})" if note else ""),
                delay_bins,
                delay_h,
                before,
                busy is not None,
                from_busy,
            )
        )
    top_false = Counter(a[0] for a in false_alarms).most_common(5)
    false_by_event = Counter(a[3] for a in false_alarms).most_common()
    return Outcome(
        label,
        per_event,
        within,
        scored,
        len(false_alarms),
        len(quiet) * b / (7 * 86400),
        len(false_started),
        len(quiet_started) * b / (7 * 86400),
        len(attributed),
        top_false,
        false_by_event,
        seconds_full,
        seconds_rerun,
        reachable,
        reachable_within,
    )


def print_outcome(name: str, outcome: Outcome, *, events: bool) -> None:
    rate = outcome.false_alarms / outcome.quiet_weeks if outcome.quiet_weeks else float("nan")
    print(
        f"  {name:<9} {outcome.label}  within 1 bin: {outcome.detected_in_one_bin}/{outcome.events_scored} events"
        f"  false alarms {outcome.false_alarms} in {outcome.quiet_weeks:.2f} quiet weeks = {rate:.2f}/week"
        f"  (alerts {outcome.alerts}; full {outcome.seconds_full:.1f}s, re-run {outcome.seconds_rerun:.1f}s)",
        flush=True,
    )
    started = (
        outcome.false_alarms_started / outcome.quiet_weeks_started if outcome.quiet_weeks_started else float("nan")
    )
    print(
        f"            quiet = also outside [first post, first busy bin + 24 h): false alarms "
        f"{outcome.false_alarms_started} in {outcome.quiet_weeks_started:.2f} quiet weeks = {started:.2f}/week"
    )
    print(
        f"            events with >= min_count posts in their onset bin or the next: {outcome.reachable}"
        f"/{outcome.events_scored}; of them alerted within one bin: {outcome.reachable_within}"
    )
    if outcome.top_false:
        print("            most false alarms: " + ", ".join(f"{t} x{n}" for t, n in outcome.top_false))
        print(
            "            false alarms by the event of their posts: "
            + ", ".join(f"{e} {n}" for e, n in outcome.false_by_event)
        )
    if not events:
        return
    print(
        f"    {'event':<20} {'onset (UTC)':<17} {'posts':>6} {'delay bins':>10} {'delay h':>8} {'posts before':>12}"
        f" {'from busy bin':>13}  first alert"
    )
    for event, onset, n, term, delay_bins, delay_h, before, has_busy, from_busy in outcome.per_event:
        db_txt = "-" if delay_bins is None else str(delay_bins)
        dh_txt = "-" if delay_h is None else f"{delay_h:.1f}"
        busy_txt = "no busy bin" if not has_busy else ("-" if from_busy is None else str(from_busy))
        print(
            f"    {event:<20} {onset:%Y-%m-%d %H:%M} {n:>6} {db_txt:>10} {dh_txt:>8} {before:>12} {busy_txt:>13}  {term}"
        )
    delays = [row[4] for row in outcome.per_event[1:] if row[4] is not None]
    if delays:
        print(f"    median delay {statistics.median(delays):.1f} bins over {len(delays)} detected events")
    busy_rows = [row for row in outcome.per_event[1:] if row[7]]
    prompt = sum(1 for row in busy_rows if row[8] is not None and row[8] <= 1)
    print(
        f"    events with a busy bin (>= min_count posts in one bin): {len(busy_rows)}; alerted within one bin of it: {prompt}"
    )


def suite_rows(quick: bool = False) -> list[dict]:
    """The suite's rows: per dataset (quick: PHEME; full: PHEME and MediaEval), hourly bins, the default
    detector and the light entity extractor: median alert delay after onset, events alerted within one
    bin, false alarms per quiet week, and the detector's time over the whole stream."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _rows import row, skipped

    default = TrendSettings()
    bin_text = "1h"
    rows: list[dict] = []
    scratch = Path(tempfile.mkdtemp(prefix="postlens-bench-trends-"))
    try:
        for name in ("pheme",) if quick else ("pheme", "mediaeval"):
            path = workspace_for(name, None, scratch)
            if path is None:
                rows.append(skipped("trends", f"{name}: alert delay", f"dataset not in {DATASETS}"))
                continue
            with Workspace(path) as ws:
                fill_entity_cache(ws.db, make_sources(["entities"], entity_extractor="light")[0].extractor)  # type: ignore[attr-defined]
            alerts, stories = evaluate(
                path, bin_text=bin_text, detector=default.detector, extractor="light", changes={}
            )
            for kind, outcome in (("term alerts", alerts), ("stories", stories)):
                print_outcome(name, outcome, events=True)
                what = f"{name} ({default.detector}, {bin_text} bins, {kind})"
                rows.extend(_suite_rows(row, what, outcome))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return rows


def _suite_rows(row: Any, what: str, outcome: Outcome) -> list[dict]:
    rows: list[dict] = []
    delays_bins = [r[4] for r in outcome.per_event[1:] if r[4] is not None]
    delays_h = [r[5] for r in outcome.per_event[1:] if r[5] is not None]
    if delays_bins:
        median_bins = statistics.median(delays_bins)
        rows.append(
            row("trends", f"{what}: median alert delay after onset", median_bins, "bins", "<= 1", median_bins <= 1)
        )
        rows.append(row("trends", f"{what}: median alert delay after onset", statistics.median(delays_h), "h"))
    rows.append(
        row(
            "trends",
            f"{what}: events alerted within 1 bin of onset",
            f"{outcome.detected_in_one_bin}/{outcome.events_scored}",
            "events",
            "all",
            outcome.detected_in_one_bin == outcome.events_scored,
        )
    )
    rate = outcome.false_alarms / outcome.quiet_weeks if outcome.quiet_weeks else float("nan")
    rows.append(row("trends", f"{what}: false alarms per quiet week", rate, "/week", "<= 1", rate <= 1))
    rows.append(row("trends", f"{what}: detector over the whole stream", outcome.seconds_full, "s"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pheme", type=Path, help="a PHEME workspace to copy (default: import the dataset)")
    parser.add_argument("--mediaeval", type=Path, help="a MediaEval 2016 workspace to copy (default: import it)")
    parser.add_argument("--bins", default="1h,1d")
    parser.add_argument("--detectors", default="poisson,kleinberg")
    parser.add_argument("--entities", default="light,spacy")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=V1[,V2..]",
        help="detector settings to try (TrendSettings names), e.g. --set min_count=5,10",
    )
    parser.add_argument("--events", action="store_true", help="print the per-event table of every setting")
    args = parser.parse_args()
    grid: list[dict[str, float]] = [{}]
    for item in args.set:
        key, _, values = item.partition("=")
        grid = [{**g, key: float(v)} for g in grid for v in values.split(",")]
    scratch = Path(tempfile.mkdtemp(prefix="postlens-bench-trends-"))
    try:
        for name, given in (("pheme", args.pheme), ("mediaeval", args.mediaeval)):
            path = workspace_for(name, given, scratch)
            if path is None:
                continue
            print(f"\n{name}: {path}")
            for extractor in args.entities.split(","):
                try:
                    source = make_sources(["entities"], entity_extractor=extractor)[0]
                except (ImportError, MissingDependency) as exc:
                    print(f"  entities {extractor}: {exc}")
                    continue
                with Workspace(path) as ws:
                    ws.db.execute("DELETE FROM entity_cache WHERE extractor = ?", [source.extractor.name])  # type: ignore[attr-defined]
                    started = time.perf_counter()
                    count = fill_entity_cache(ws.db, source.extractor)  # type: ignore[attr-defined]
                    print(
                        f"  entities {extractor}: {count:,} distinct texts extracted in "
                        f"{time.perf_counter() - started:.1f} s",
                        flush=True,
                    )
                for bin_text in args.bins.split(","):
                    for detector in args.detectors.split(","):
                        for changes in grid:
                            try:
                                outcomes = evaluate(
                                    path, bin_text=bin_text, detector=detector, extractor=extractor, changes=changes
                                )
                            except (ImportError, MissingDependency) as exc:
                                print(f"  {extractor}: {exc}")
                                break
                            for outcome in outcomes:
                                print_outcome(name, outcome, events=args.events or len(grid) == 1)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
