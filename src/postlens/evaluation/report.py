"""The evaluation report as data: every model, the topics, the trends and popularity of a workspace.

``build_report(inputs)`` is pure: it reads what ``postlens.pipeline.evaluate`` collected from the
workspace (metrics files, predictions tables, topic and trend rows) and returns a JSON-ready dict
(plain numbers, strings, lists, dicts; NaN as None, times as ISO strings), which is the metrics
JSON as written and the only thing the HTML renderer reads. A section with nothing to show is
``{"status": "absent", "reason": "..."}`` so a reader learns what is missing and how to get it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
import pyarrow as pa

from postlens.evaluation.report_models import absent, model_section
from postlens.evaluation.report_tasks import (
    label_topic_terms,
    popularity_section,
    topics_section,
    trends_section,
)

REPORT_VERSION = 1
__all__ = [
    "ModelRun",
    "PopularityRun",
    "ReportInputs",
    "SegmentationRun",
    "TrendStream",
    "absent",
    "build_report",
    "json_ready",
]


@dataclass
class ModelRun:
    """A trained model folder: ``model.json``, ``metrics.json``, ``compare.json`` and predictions per side."""

    name: str
    description: dict[str, Any]
    metrics: dict[str, Any]
    compare: dict[str, Any] | None = None
    predictions: dict[str, pa.Table] = field(default_factory=dict)


@dataclass
class SegmentationRun:
    """One segmentation of the ``topics`` tables with its quality figures (computed by the caller)."""

    name: str
    kind: str
    posts: int
    outliers: int
    topics: list[dict[str, Any]]  # topic_id, label, size, words, status
    npmi: dict[int, float | None] = field(default_factory=dict)
    diversity: float | None = None
    over_time: list[tuple[Any, int, int]] = field(default_factory=list)  # (bin start, topic id, posts)
    bin: str = "week"
    history: dict[str, int] = field(default_factory=dict)  # event -> entries
    quality_posts: int | None = None  # posts whose words NPMI was counted over


@dataclass
class TrendStream:
    """One saved detector run (``trend_streams`` row) with its series and alerts."""

    stream: str
    source: str
    bin_seconds: int
    settings: dict[str, Any]
    series: list[dict[str, Any]]  # bin_start, term, count, expected, score, state
    alerts: list[dict[str, Any]]  # term, bin_start, count, expected, score
    n_terms: int = 0  # distinct terms the stream counted (the series may hold only the terms to draw)


@dataclass
class PopularityRun:
    name: str
    description: dict[str, Any]  # popularity.json


@dataclass
class ReportInputs:
    workspace: str
    generated_at: datetime
    posts: int
    models: list[ModelRun] = field(default_factory=list)
    segmentations: list[SegmentationRun] = field(default_factory=list)
    trends: list[TrendStream] = field(default_factory=list)
    popularity: list[PopularityRun] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # files that could not be read, named


def build_report(inputs: ReportInputs) -> dict[str, Any]:
    """The report dict (see the module docstring); identical inputs give an identical report."""
    report: dict[str, Any] = {
        "report_version": REPORT_VERSION,
        "workspace": inputs.workspace,
        "generated_at": inputs.generated_at,
        "posts": inputs.posts,
        "models": (
            {"status": "present", "items": [model_section(m) for m in inputs.models]}
            if inputs.models
            else absent("no trained model in the workspace: run 'postlens train --config ...'")
        ),
        "topics": topics_section(inputs.segmentations),
        "trends": trends_section(inputs.trends),
        "popularity": popularity_section(inputs.popularity),
        "problems": list(inputs.problems),
    }
    label_topic_terms(report["trends"], report["topics"])
    return json_ready(report)


def json_ready(value: Any) -> Any:
    """``value`` with NaN / infinities as None, NumPy scalars as Python numbers, times as ISO strings,
    tuples as lists and keys as strings: ``json.loads(json.dumps(x)) == x`` holds for the result."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, np.ndarray):
        return [json_ready(v) for v in value.tolist()]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(float(value)) else None
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value
