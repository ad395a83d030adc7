"""Report sections of the tasks: topic quality, trend timelines with their bursts, popularity vs baselines."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from postlens.evaluation.report_models import absent, present

if TYPE_CHECKING:
    from postlens.evaluation.report import PopularityRun, SegmentationRun, TrendStream

TOPICS_OVER_TIME = 8
"""Topics drawn one line each over time (the largest); the rest are summed as 'other topics'."""
TIMELINE_TERMS = 6
"""Terms drawn per trend source: those that alerted (highest score first), then the most counted."""
MAX_BINS = 400
"""A timeline keeps its newest bins up to this many (an hourly stream over a year would be unreadable)."""


def topics_section(runs: Sequence[SegmentationRun]) -> dict[str, Any]:
    if not runs:
        return absent("no segments: run 'postlens segments fit' (after featurize)")
    return present(items=[_segmentation(run) for run in runs])


def _segmentation(run: SegmentationRun) -> dict[str, Any]:
    active = [t for t in run.topics if t.get("status", "active") == "active"]
    scores = [run.npmi.get(int(t["topic_id"])) for t in active]
    finite = [s for s in scores if s is not None and np.isfinite(s)]
    topics: list[dict[str, Any]] = [
        {
            "topic_id": int(t["topic_id"]),
            "label": t.get("label") or f"topic {t['topic_id']}",
            "size": int(t.get("size") or 0),
            "npmi": run.npmi.get(int(t["topic_id"])),
            "words": list(t.get("words") or [])[:10],
        }
        for t in sorted(active, key=lambda t: -int(t.get("size") or 0))
    ]
    return {
        "name": run.name,
        "kind": run.kind,
        "topics": len(active),
        "posts": run.posts,
        "outliers": run.outliers,
        "outlier_rate": run.outliers / run.posts if run.posts else None,
        "npmi_mean": float(np.mean(finite)) if finite else None,
        "npmi_posts": run.quality_posts,
        "diversity": run.diversity,
        "table": topics,
        "over_time": _over_time(run, [t["topic_id"] for t in topics]),
        "history": dict(run.history),
    }


def _over_time(run: SegmentationRun, by_size: list[int]) -> dict[str, Any]:
    if not run.over_time:
        return absent("no post of this segmentation has a time")
    bins = sorted({row[0] for row in run.over_time})
    position = {b: i for i, b in enumerate(bins)}
    shown = by_size[:TOPICS_OVER_TIME]
    counts = {t: [0] * len(bins) for t in shown}
    other = [0] * len(bins)
    for start, topic, n in run.over_time:
        counts.get(topic, other)[position[start]] += int(n)
    series = [{"topic_id": t, "counts": counts[t]} for t in shown]
    if any(other):
        series.append({"topic_id": None, "counts": other})
    return present(bin=run.bin, bins=bins, series=series)


def trends_section(streams: Sequence[TrendStream]) -> dict[str, Any]:
    if not streams:
        return absent("no trend state: run 'postlens trends' to count hashtags, entities and topics over time")
    return present(items=[_stream(s) for s in streams])


def _stream(stream: TrendStream) -> dict[str, Any]:
    bins = _every_bin(sorted({row["bin_start"] for row in stream.series}), stream.bin_seconds)
    cut = len(bins) - MAX_BINS if len(bins) > MAX_BINS else 0
    bins = bins[cut:]
    position = {b: i for i, b in enumerate(bins)}
    totals: dict[str, int] = {}
    for row in stream.series:
        totals[row["term"]] = totals.get(row["term"], 0) + int(row["count"])
    best_alert: dict[str, float] = {}
    for alert in stream.alerts:
        best_alert[alert["term"]] = max(best_alert.get(alert["term"], -np.inf), float(alert["score"]))
    chosen = sorted(best_alert, key=lambda t: -best_alert[t])[:TIMELINE_TERMS]
    chosen += [t for t in sorted(totals, key=lambda t: (-totals[t], t)) if t not in chosen][
        : TIMELINE_TERMS - len(chosen)
    ]
    lines: dict[str, dict[str, Any]] = {
        t: {
            "term": t,
            "total": totals.get(t, 0),
            "counts": [0] * len(bins),
            "expected": [None] * len(bins),
            "alerts": [],
            "state": None,
        }
        for t in chosen
    }
    for row in stream.series:
        line = lines.get(row["term"])
        if line is None or row["bin_start"] not in position:
            continue
        i = position[row["bin_start"]]
        line["counts"][i] = int(row["count"])
        line["expected"][i] = float(row["expected"])
        line["state"] = row.get("state")  # rows come ordered by time: the last one is the newest state
    for alert in stream.alerts:
        if alert["term"] in lines and alert["bin_start"] in position:
            lines[alert["term"]]["alerts"].append(position[alert["bin_start"]])
    alerts = sorted(stream.alerts, key=lambda a: (a["bin_start"], -float(a["score"])))
    return {
        "stream": stream.stream,
        "source": stream.source,
        "bin_seconds": stream.bin_seconds,
        "detector": stream.settings.get("detector"),
        "terms": max(stream.n_terms, len(totals)),
        "bins": bins,
        "bins_dropped": cut,
        "timelines": [lines[t] for t in chosen],
        "alerts": [{k: a.get(k) for k in ("term", "bin_start", "count", "expected", "score")} for a in alerts],
    }


def _every_bin(seen: list[Any], bin_seconds: int) -> list[Any]:
    """Every bin from the first to the last seen one (a day without the drawn terms is a 0, not a gap)."""
    if len(seen) < 2 or not isinstance(seen[0], datetime) or bin_seconds <= 0:
        return seen
    step = timedelta(seconds=bin_seconds)
    count = int((seen[-1] - seen[0]) / step) + 1
    if count > 4 * MAX_BINS:  # sparse over a long span: draw the bins from the newest MAX_BINS back
        start = seen[-1] - (MAX_BINS - 1) * step
        return [start + i * step for i in range(MAX_BINS)]
    return [seen[0] + i * step for i in range(count)]


def label_topic_terms(trends: dict[str, Any], topics: dict[str, Any]) -> None:
    """Give each ``<segmentation>:<topic id>`` term of the trends its topic's label (in place)."""
    if trends.get("status") != "present" or topics.get("status") != "present":
        return
    labels = {f"{s['name']}:{t['topic_id']}": t["label"] for s in topics["items"] for t in s["table"]}
    for stream in trends["items"]:
        for item in [*stream["timelines"], *stream["alerts"]]:
            if item["term"] in labels:
                item["label"] = labels[item["term"]]


def popularity_section(runs: Sequence[PopularityRun]) -> dict[str, Any]:
    if not runs:
        return absent("no popularity model: run 'postlens popularity fit'")
    return present(items=[_popularity(run) for run in runs])


def _popularity(run: PopularityRun) -> dict[str, Any]:
    description = run.description
    config = description.get("config") or {}
    figures = description.get("figures") or {}
    target = config.get("target") or {}
    rows = [
        {
            "model": name,
            **{k: f.get(k) for k in ("spearman", "mae", "rmse", "n")},
            "learned": name.startswith("learned"),
        }
        for name, f in (figures.get("publish_time") or {}).items()
    ]
    curve = figures.get("curve") or {}
    curve_section = (
        absent(f"curve skipped: {curve['skipped']}")
        if "skipped" in curve
        else present(
            rows=[
                {"model": name, **{k: f.get(k) for k in ("spearman", "mae", "n")}}
                for name, f in (curve.get("figures") or {}).items()
            ]
        )
        if curve.get("figures")
        else absent("no engagement curve fitted")
    )
    split = figures.get("split") or {}
    return {
        "name": run.name,
        "metric": target.get("metric"),
        "horizon_hours": target.get("horizon_hours"),
        "saved_at": description.get("saved_at"),
        "sizes": split.get("sizes", {}),
        "trees": split.get("trees"),
        "figures": present(rows=rows) if rows else absent("popularity.json holds no test figures"),
        "curve": curve_section,
    }
