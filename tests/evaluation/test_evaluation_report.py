"""The report builder and its HTML on constructed inputs: absent sections say why, hostile names stay text,
no link leaves the file, the JSON round-trips and the HTML rebuilds from it."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import numpy as np

from postlens.evaluation.metrics import classification_metrics
from postlens.evaluation.predictions import prediction_table
from postlens.evaluation.report import (
    ModelRun,
    ReportInputs,
    SegmentationRun,
    TrendStream,
    build_report,
)
from postlens.evaluation.report_html import render_html

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)
HOSTILE = '<script>alert("x")</script>'


def _classifier(classes: list[str], seed: int = 0) -> ModelRun:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, len(classes), 60)
    predicted = np.where(rng.random(60) < 0.7, y, rng.integers(0, len(classes), 60))
    proba = rng.dirichlet(np.ones(len(classes)), 60)
    proba[np.arange(60), predicted] += 1.0
    proba /= proba.sum(axis=1, keepdims=True)
    test = classification_metrics(y, predicted, classes=classes)
    without_text = classification_metrics(y, rng.integers(0, len(classes), 60), classes=classes)
    metrics = {
        "name": "m",
        "model": "fusion",
        "task": "classification",
        "target": "topic",
        "sizes": {"train": 100, "val": 0, "test": 60},
        "train_seconds": 1.5,
        "test": test,
        "test_missing": {"without_text": without_text},
    }
    table = prediction_table("classification", [f"p{i}" for i in range(60)], y, predicted, proba, classes)
    return ModelRun(
        "m", {"kind": "fusion", "task": "classification", "classes": classes}, metrics, None, {"test": table}
    )


def _inputs(**overrides: object) -> ReportInputs:
    return ReportInputs(workspace="/w", generated_at=NOW, posts=60, **overrides)  # type: ignore[arg-type]


def test_an_empty_workspace_says_what_is_absent_and_how_to_get_it() -> None:
    report = build_report(_inputs())
    for key, hint in (
        ("models", "postlens train"),
        ("topics", "postlens segments fit"),
        ("trends", "postlens trends"),
        ("popularity", "postlens popularity fit"),
    ):
        assert report[key]["status"] == "absent" and hint in report[key]["reason"]
    html = render_html(report)
    for key in ("models", "topics", "trends", "popularity"):
        assert f'id="{key}"' in html
        assert report[key]["reason"].replace("'", "&#x27;") in html


def test_model_sections_present_or_absent_with_figures_from_the_metrics() -> None:
    run = _classifier(["a", "b", "c"])
    model = build_report(_inputs(models=[run]))["models"]["items"][0]
    assert model["figures"]["status"] == "present" and model["figures"]["rows"][0]["side"] == "test"
    assert model["confusion"]["matrix"] == run.metrics["test"]["confusion"]["matrix"]
    calibration = model["calibration"]["sides"]["test"]
    assert sum(b["n"] for b in calibration["bins"]) == 60
    assert calibration["accuracy"] == run.metrics["test"]["accuracy"]  # same predictions, same figure
    ablation = model["ablation"]["rows"]
    assert ablation[1]["delta"] == ablation[1]["macro_f1"] - ablation[0]["macro_f1"]
    assert (
        model["imbalance_comparison"]["status"] == "absent"
        and "--compare-imbalance" in model["imbalance_comparison"]["reason"]
    )
    assert model["distillation"]["status"] == "absent" and model["cross_validation"]["status"] == "absent"


def test_hostile_names_stay_text_and_nothing_links_out() -> None:
    run = _classifier([HOSTILE, "https://evil.example/x.png", "plain"])
    start = datetime(2026, 1, 1, tzinfo=UTC)
    series = [
        {
            "bin_start": start + timedelta(days=d),
            "term": term,
            "count": c,
            "expected": 1.0,
            "score": 0.0,
            "state": "steady",
        }
        for d, (term, c) in enumerate([(HOSTILE, 3), ("//evil.example", 2), (HOSTILE, 9)])
    ]
    stream = TrendStream(
        "s",
        "hashtags",
        86400,
        {"detector": "poisson"},
        series,
        [{"term": HOSTILE, "bin_start": start + timedelta(days=2), "count": 9, "expected": 1.0, "score": 7.0}],
    )
    topics = SegmentationRun(
        "topics",
        "cluster",
        60,
        0,
        [{"topic_id": 1, "label": HOSTILE, "size": 60, "words": [HOSTILE, "javascript:alert(1)"], "status": "active"}],
    )
    html = render_html(build_report(_inputs(models=[run], trends=[stream], segmentations=[topics])))
    assert "<script" not in html.lower()
    assert "&lt;script&gt;" in html
    assert not EXTERNAL.findall(html), EXTERNAL.findall(html)
    assert "<link" not in html and "@import" not in html and "url(" not in html


def test_json_round_trips_and_the_html_rebuilds_from_it() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    over_time = [(start + timedelta(weeks=w), t, 5 + w + t) for w in range(3) for t in (1, 2)]
    topics = SegmentationRun(
        "topics",
        "cluster",
        40,
        4,
        [
            {"topic_id": 1, "label": "a", "size": 20, "words": ["x", "y"], "status": "active"},
            {"topic_id": 2, "label": "b", "size": 16, "words": ["z", "w"], "status": "active"},
            {"topic_id": 3, "label": "c", "size": 0, "words": [], "status": "merged"},
        ],
        npmi={1: 0.2, 2: float("nan")},
        diversity=1.0,
        over_time=over_time,
    )
    report = build_report(_inputs(models=[_classifier(["a", "b"])], segmentations=[topics]))
    text = json.dumps(report, allow_nan=False)  # NaN became None: strict JSON
    assert json.loads(text) == report
    assert render_html(json.loads(text)) == render_html(report)
    seg = report["topics"]["items"][0]
    assert seg["topics"] == 2 and seg["outlier_rate"] == 0.1 and seg["npmi_mean"] == 0.2
    assert [s["counts"] for s in seg["over_time"]["series"]] == [[6, 7, 8], [7, 8, 9]]


def test_trend_timelines_fill_every_bin_put_alerted_terms_first_and_name_topics() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [
        {
            "bin_start": start + timedelta(days=d),
            "term": term,
            "count": c,
            "expected": 0.5,
            "score": 0.0,
            "state": "steady",
        }
        for d, term, c in [(0, "#big", 50), (4, "#big", 40), (1, "topics:1", 2), (4, "topics:1", 12)]
    ]
    stream = TrendStream(
        "s",
        "topics",
        86400,
        {"detector": "poisson"},
        rows,
        [{"term": "topics:1", "bin_start": start + timedelta(days=4), "count": 12, "expected": 0.5, "score": 9.0}],
        n_terms=7,
    )
    topics = SegmentationRun(
        "topics",
        "cluster",
        10,
        0,
        [{"topic_id": 1, "label": "goals, league", "size": 10, "words": ["goals"], "status": "active"}],
    )
    report = build_report(_inputs(trends=[stream], segmentations=[topics]))
    item = report["trends"]["items"][0]
    assert len(item["bins"]) == 5 and item["terms"] == 7  # days 0..4, the empty days included
    first, second = item["timelines"]
    assert first["term"] == "topics:1" and first["label"] == "goals, league" and first["alerts"] == [4]
    assert first["counts"] == [0, 2, 0, 0, 12] and second["counts"] == [50, 0, 0, 0, 40]
    assert item["alerts"][0]["label"] == "goals, league"
