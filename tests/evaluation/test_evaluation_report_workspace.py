"""``postlens evaluate`` on a real workspace: the 300-post sample corpus ingested, featurized, segmented,
trained (fusion + distilled student, logreg with the imbalance methods compared), popularity and trends."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from postlens.evaluation.report_html import render_html
from postlens.pipeline.demo import DemoReport, run_demo
from postlens.pipeline.evaluate import run_evaluate
from postlens.serve.cli import app
from postlens.store.workspace import Workspace

pytestmark = pytest.mark.slow
EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)


@pytest.fixture(scope="module")
def evaluated(demo_run_300: DemoReport, tmp_path_factory: pytest.TempPathFactory):
    return run_evaluate(demo_run_300.workspace, out=tmp_path_factory.mktemp("report"))


def _models(report: dict) -> dict[str, dict]:
    return {m["name"]: m for m in report["models"]["items"]}


def test_every_section_is_present_with_what_each_model_measured(evaluated) -> None:
    report = evaluated.report
    assert {k: report[k]["status"] for k in ("models", "topics", "trends", "popularity")} == dict.fromkeys(
        ("models", "topics", "trends", "popularity"), "present"
    )
    models = _models(report)
    assert set(models) == {"demo-topic", "demo-sentiment"}
    topic, sentiment = models["demo-topic"], models["demo-sentiment"]

    def status(model: dict) -> dict[str, str]:
        return {k: v["status"] for k, v in model.items() if isinstance(v, dict) and "status" in v}

    assert status(topic) == {
        "figures": "present",
        "per_class": "present",
        "confusion": "present",
        "calibration": "present",
        "ablation": "present",
        "imbalance_comparison": "absent",
        "distillation": "present",
        "cross_validation": "absent",
    }
    assert status(sentiment) == {
        **status(topic),
        "ablation": "absent",
        "imbalance_comparison": "present",
        "distillation": "absent",
    }
    removed = {row["inputs"] for row in topic["ablation"]["rows"][1:]}
    assert {"without text", "without image"} <= removed
    assert [r["model"] for r in topic["distillation"]["rows"]] == ["teacher", "student"]
    chosen = [r["method"] for r in sentiment["imbalance_comparison"]["rows"] if r["chosen"]]
    assert chosen == [sentiment["imbalance_comparison"]["chosen"]]
    names = [r["model"] for r in report["popularity"]["items"][0]["figures"]["rows"]]
    assert names[0].startswith("learned") and "author mean" in names
    assert {s["source"] for s in report["trends"]["items"]} == {"hashtags", "entities", "topics"}


def test_figures_agree_with_the_model_folders_and_the_tables(evaluated, demo_run_300: DemoReport) -> None:
    report = evaluated.report
    for name, model in _models(report).items():
        folder = demo_run_300.workspace / "models" / name
        metrics = json.loads((folder / "metrics.json").read_text())
        test = pq.read_table(folder / "predictions_test.parquet")
        calibration = model["calibration"]["sides"]["test"]
        assert sum(b["n"] for b in calibration["bins"]) == test.num_rows == metrics["sizes"]["test"]
        assert calibration["accuracy"] == pytest.approx(metrics["test"]["accuracy"])
        assert sum(map(sum, model["confusion"]["matrix"])) == metrics["sizes"]["test"]
        assert 0.0 <= calibration["ece"] <= 1.0
    segmentation = report["topics"]["items"][0]
    with Workspace(demo_run_300.workspace, read_only=True) as ws:
        active, outliers, timed = ws.db.execute(
            "SELECT (SELECT count(*) FROM topics WHERE segmentation = 'topics' AND status = 'active'), "
            "(SELECT count(*) FROM post_topics WHERE segmentation = 'topics' AND topic_id IS NULL), "
            "(SELECT count(*) FROM post_topics WHERE segmentation = 'topics' AND topic_id IS NOT NULL "
            "AND created_at IS NOT NULL)"
        ).fetchone()
    assert segmentation["topics"] == active and segmentation["outliers"] == outliers
    assert sum(sum(s["counts"]) for s in segmentation["over_time"]["series"]) == timed
    assert -1.0 <= segmentation["npmi_mean"] <= 1.0 and 0.0 < segmentation["diversity"] <= 1.0


def test_topic_coherence_is_counted_over_every_post_or_a_fixed_sample(
    evaluated, demo_run_300: DemoReport, tmp_path: Path, monkeypatch
) -> None:
    with Workspace(demo_run_300.workspace, read_only=True) as ws:  # 300, or more after the demo tests added posts
        posts = ws.db.execute("SELECT count(*) FROM posts").fetchone()[0]
    assert evaluated.report["topics"]["items"][0]["npmi_posts"] == posts >= 300
    monkeypatch.setattr("postlens.pipeline.evaluate.QUALITY_POSTS", 120)
    sampled = run_evaluate(demo_run_300.workspace, out=tmp_path).report["topics"]["items"][0]
    assert sampled["npmi_posts"] == 120 and -1.0 <= sampled["npmi_mean"] <= 1.0
    assert [t["topic_id"] for t in sampled["table"]] == [
        t["topic_id"] for t in evaluated.report["topics"]["items"][0]["table"]
    ]


def test_the_html_is_one_self_contained_file(evaluated) -> None:
    html = evaluated.html.read_text(encoding="utf-8")
    assert not EXTERNAL.findall(html)
    assert "<script" not in html and "<link" not in html and "url(" not in html and "<img" not in html
    for key in ("models", "topics", "trends", "popularity"):
        assert f'<h2 id="{key}">' in html
    assert html.count("<svg") >= 10  # per-class bars, confusion, reliability diagrams, timelines...
    assert "model-demo-topic" in html and "reliability, held-out" in html


def test_the_metrics_json_round_trips_and_rebuilds_the_html(evaluated) -> None:
    loaded = json.loads(evaluated.json.read_text(encoding="utf-8"))
    assert loaded == evaluated.report
    assert render_html(loaded) == evaluated.html.read_text(encoding="utf-8")


def test_unreadable_model_files_are_named_and_the_rest_is_reported(demo_run_300: DemoReport, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    shutil.copytree(demo_run_300.workspace, ws)
    (ws / "models" / "broken").mkdir()
    (ws / "models" / "broken" / "model.json").write_text("{not json")
    (ws / "models" / "demo-sentiment" / "predictions_test.parquet").write_bytes(b"PAR1 truncated")
    result = run_evaluate(ws, out=tmp_path / "out")
    problems = " ".join(result.report["problems"])
    assert "broken/model.json" in problems and "demo-sentiment/predictions_test.parquet" in problems
    models = _models(result.report)
    assert set(models) == {"demo-topic", "demo-sentiment"}
    assert set(models["demo-sentiment"]["calibration"]["sides"]) == {"val"}  # the readable side is still shown
    assert "broken/model.json" in result.html.read_text(encoding="utf-8")


def test_a_workspace_without_features_marks_what_needs_them_absent(tmp_path: Path) -> None:
    demo = run_demo(tmp_path / "corpus", seed=1, n_posts=40, workspace=tmp_path / "ws", featurize=False)
    out = CliRunner().invoke(app, ["evaluate", "--workspace", str(demo.workspace), "--out", str(tmp_path / "r")])
    assert out.exit_code == 0, out.output
    report = json.loads((tmp_path / "r" / "evaluation.json").read_text())
    assert report["posts"] == 40
    assert {k: report[k]["status"] for k in ("models", "topics", "trends", "popularity")} == {
        "models": "absent",
        "topics": "absent",
        "trends": "present",
        "popularity": "absent",
    }
    assert "models: no trained model" in out.output and "evaluation.html" in out.output
    html = (tmp_path / "r" / "evaluation.html").read_text()
    assert "postlens segments fit" in html and "postlens popularity fit" in html


def test_evaluate_refuses_a_file_as_out_folder_and_a_missing_workspace(
    demo_run_300: DemoReport, tmp_path: Path
) -> None:
    (tmp_path / "file").write_text("x")
    wrong = CliRunner().invoke(
        app, ["evaluate", "--workspace", str(demo_run_300.workspace), "--out", str(tmp_path / "file")]
    )
    assert wrong.exit_code != 0 and "is a file" in str(wrong.exception)
    missing = CliRunner().invoke(app, ["evaluate", "--workspace", str(tmp_path / "nowhere")])
    assert missing.exit_code != 0 and "no workspace" in str(missing.exception)
    assert not (tmp_path / "nowhere").exists()  # evaluate never creates a workspace
