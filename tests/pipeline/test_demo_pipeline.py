"""The main job on the embedded default: sample corpus -> workspace -> features -> topics -> models ->
trends -> report, matching the planted truth, and a second run that recomputes nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from postlens.pipeline import DemoHooks, DemoReport, run_demo, run_ingest
from postlens.pipeline.labels import import_labels
from postlens.serve.cli import app
from postlens.store.workspace import Workspace

STAGES = ["generate", "ingest", "featurize", "segments", "train", "train", "popularity", "trends", "evaluate"]


def test_demo_generates_ingests_and_is_idempotent(tmp_path: Path) -> None:
    corpus, ws_path = tmp_path / "corpus", tmp_path / "ws"
    heard: dict[str, list[Any]] = {"started": [], "stages": [], "generating": [], "importing": []}
    hooks = DemoHooks(
        generating=lambda done, total: heard["generating"].append((done, total)),
        importing=lambda seen, quarantined: heard["importing"].append((seen, quarantined)),
        on_start=lambda stage, what: heard["started"].append(stage),
        on_stage=lambda stage, result: heard["stages"].append((stage, result)),
    )
    first = run_demo(corpus, seed=3, n_posts=120, workspace=ws_path, featurize=False, hooks=hooks)
    truth = orjson.loads((corpus / "truth.json").read_bytes())
    imported = first.stages[1].detail
    assert [s.name for s in first.stages] == ["generate", "ingest", "trends", "evaluate"]
    assert heard["started"] == [name for name, _ in heard["stages"]] == ["generate", "ingest", "trends", "evaluate"]
    assert [result for _, result in heard["stages"]] == first.stages  # the hooks hear what the report returns
    assert heard["generating"][-1] == (120, 120) and heard["importing"][-1] == (120, 0)
    assert imported.imported == 120 and imported.quarantined == 0
    with Workspace(ws_path, read_only=True) as ws:
        kinds = dict(ws.db.execute("SELECT kind, count(*) FROM media WHERE status='stored' GROUP BY 1").fetchall())
        ids = {r[0] for r in ws.db.execute("SELECT id FROM posts").fetchall()}
    assert ids == {post["id"] for post in truth["posts"]}
    assert kinds.get("image", 0) > 0 and sum(kinds.values()) > 20
    second = run_demo(corpus, seed=3, n_posts=120, workspace=ws_path, featurize=False)
    again = second.stages[1].detail
    assert (again.imported, again.unchanged, again.snapshots_added) == (0, 120, 0)
    assert second.recomputed == [] and second.stages[0].reused


def _fingerprints(ws_path: Path) -> dict[str, object]:
    """What a stage that recomputed something would change: feature files, models, topic runs, trend bins."""
    features = {
        str(p.relative_to(ws_path)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in (ws_path / "features").rglob("*")
        if p.is_file()
    }
    models = {
        p.parent.name: p.read_text()
        for p in (ws_path / "models").glob("*/*.json")
        if p.name in ("model.json", "popularity.json")
    }
    with Workspace(ws_path, read_only=True) as ws:
        tables = ws.db.execute(
            "SELECT (SELECT count(*) FROM posts), (SELECT count(*) FROM engagement), "
            "(SELECT string_agg(DISTINCT run_id, ',' ORDER BY run_id) FROM post_topics), "
            "(SELECT count(*) FROM trend_bins), (SELECT count(*) FROM topic_history)"
        ).fetchone()
    return {"features": features, "models": models, "tables": tables}


@pytest.mark.slow
def test_a_second_demo_run_recomputes_nothing(demo_run_300: DemoReport) -> None:
    first = demo_run_300
    assert [s.name for s in first.stages] == STAGES
    assert first.recomputed == STAGES[:-1]  # a fresh workspace: everything computed once
    assert first.report_html is not None and first.report_html.is_file()
    before = _fingerprints(first.workspace)
    report_before = json.loads(first.report_json.read_text())
    second = run_demo(first.corpus, seed=0, n_posts=300, workspace=first.workspace)
    assert second.recomputed == [], [(s.name, s.summary) for s in second.stages if not s.reused]
    assert all(s.reused for s in second.stages if s.name != "evaluate")
    assert _fingerprints(first.workspace) == before
    report_after = json.loads(second.report_json.read_text())
    assert report_after["generated_at"] > report_before["generated_at"]  # the report is rebuilt every time
    assert report_after["models"] == report_before["models"]


@pytest.mark.slow
def test_new_posts_retrain_the_models_while_the_corpus_and_its_import_are_reused(
    demo_run_300: DemoReport, tmp_path: Path
) -> None:
    """Reuse is not blind: posts imported beside the demo change the data the models read, so they are
    trained again (and the new posts featurized and placed in topics). Leaves the shared workspace valid."""
    lines = [orjson.loads(line) for line in (demo_run_300.corpus / "posts.jsonl").read_bytes().splitlines()]
    labelled = [p for p in lines if p["labels"].get("topic") and p["labels"].get("sentiment")][:8]
    extra = tmp_path / "extra.jsonl"
    extra.write_bytes(
        b"\n".join(
            orjson.dumps(
                {**p, "id": p["id"] + "-extra", "native_id": p["native_id"] + "-extra", "text": p["text"] + " (again)"}
            )
            for p in labelled
        )
        + b"\n"
    )
    assert (
        run_ingest(
            [extra], importer_name="postlens", media_root=demo_run_300.corpus, workspace=demo_run_300.workspace
        ).imported
        == 8
    )
    third = run_demo(demo_run_300.corpus, seed=0, n_posts=300, workspace=demo_run_300.workspace)
    stages = {s.name: s for s in third.stages}
    assert stages["generate"].reused and stages["ingest"].reused
    assert not stages["featurize"].reused and not stages["segments"].reused  # the 8 new posts
    assert [s.reused for s in third.stages if s.name == "train"] == [False, False]
    assert not stages["popularity"].reused
    fourth = run_demo(demo_run_300.corpus, seed=0, n_posts=300, workspace=demo_run_300.workspace)
    assert fourth.recomputed == []


def test_a_label_changed_by_hand_is_set_back_by_the_demo_corpus(tmp_path: Path) -> None:
    """The demo's import restores the corpus' own labels, so its models see the data they were trained on."""
    corpus, ws = tmp_path / "corpus", tmp_path / "ws"
    run_demo(corpus, seed=4, n_posts=60, workspace=ws, featurize=False)
    with Workspace(ws, read_only=True) as db:
        post_id, sentiment = db.db.execute(
            "SELECT id, labels['sentiment'] FROM posts WHERE labels['sentiment'] IS NOT NULL ORDER BY id LIMIT 1"
        ).fetchone()
    other = "negative" if sentiment != "negative" else "positive"
    (tmp_path / "labels.csv").write_text(f"id,sentiment\n{post_id},{other}\n")
    import_labels(tmp_path / "labels.csv", mapping_pairs=["id=id", "labels.sentiment=sentiment"], workspace=ws)
    again = run_demo(corpus, seed=4, n_posts=60, workspace=ws, featurize=False)
    assert again.stages[1].detail.updated == 1 and not again.stages[1].reused
    with Workspace(ws, read_only=True) as db:
        assert db.db.execute("SELECT labels['sentiment'] FROM posts WHERE id = ?", [post_id]).fetchone()[0] == sentiment


def test_the_demo_command_prints_the_report_and_the_next_steps(tmp_path: Path) -> None:
    out = CliRunner().invoke(
        app,
        [
            "demo",
            "--posts",
            "40",
            "--seed",
            "2",
            "--no-featurize",
            "--out",
            str(tmp_path / "corpus"),
            "--workspace",
            str(tmp_path / "ws"),
        ],
    )
    assert out.exit_code == 0, out.output
    assert "generate" in out.output and "40 imported" in out.output
    assert "postlens serve --workspace" in out.output and "postlens mcp --workspace" in out.output
    assert str(tmp_path / "ws" / "reports" / "evaluation.html") in out.output.replace("\n", "")
    again = CliRunner().invoke(
        app,
        [
            "demo",
            "--posts",
            "40",
            "--seed",
            "2",
            "--no-featurize",
            "--out",
            str(tmp_path / "corpus"),
            "--workspace",
            str(tmp_path / "ws"),
        ],
    )
    assert "nothing was recomputed" in again.output and "40 unchanged" in again.output


def test_a_failing_stage_is_named_and_earlier_stages_are_kept(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    run_demo(corpus, seed=5, n_posts=30, workspace=tmp_path / "ws", featurize=False)
    (corpus / "truth.json").write_text("{}")  # no longer the demo's corpus: generate refuses to overwrite it
    out = CliRunner().invoke(
        app,
        [
            "demo",
            "--posts",
            "30",
            "--seed",
            "5",
            "--no-featurize",
            "--out",
            str(corpus),
            "--workspace",
            str(tmp_path / "ws"),
        ],
    )
    assert out.exit_code != 0 and "holds no earlier demo corpus" in str(out.exception)
    assert "failed" in out.output and "stage generate" in out.output
    with Workspace(tmp_path / "ws", read_only=True) as ws:
        assert ws.db.execute("SELECT count(*) FROM posts").fetchone()[0] == 30
