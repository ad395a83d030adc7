"""Label Studio round trip: export tasks -> annotations in Label Studio's JSON export shape -> post labels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _posts import labels_of, make_workspace, quarantine_of
from typer.testing import CliRunner

from postlens.errors import ConfigError
from postlens.pipeline.label_studio import export_label_studio, import_annotations
from postlens.serve.cli import app


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    return make_workspace(tmp_path)


def annotate(
    task: dict,
    choices: list[str] | None,
    *,
    cancelled: bool = False,
    when: str = "2024-06-01T10:00:00Z",
    kind: str = "choices",
    from_name: str = "sentiment",
) -> dict:
    """One annotation as Label Studio exports it (see labelstud.io/guide/task_format)."""
    result = (
        []
        if choices is None
        else [
            {
                "id": "r1",
                "from_name": from_name,
                "to_name": "text",
                "type": kind,
                "origin": "manual",
                "value": {kind: choices},
            }
        ]
    )
    annotation = {
        "id": len(task.setdefault("annotations", [])) + 1,
        "completed_by": 1,
        "result": result,
        "was_cancelled": cancelled,
        "ground_truth": False,
        "created_at": when,
        "updated_at": when,
        "lead_time": 3.2,
        "task": task["id"],
    }
    task["annotations"].append(annotation)
    return task


def label_studio_export(tasks: list[dict]) -> list[dict]:
    """What Label Studio does to imported tasks: its own ids, data kept verbatim, project fields added."""
    return [
        {
            "id": 5000 + n,
            "data": t["data"],
            "meta": t.get("meta", {}),
            "project": 3,
            "predictions": [],
            "annotations": [],
            "created_at": "2024-06-01T09:00:00Z",
        }
        for n, t in enumerate(tasks)
    ]


def test_export_writes_documented_task_format(ws: Path, tmp_path: Path):
    summary = export_label_studio(tmp_path / "tasks.json", workspace=ws)
    tasks = json.loads((tmp_path / "tasks.json").read_text())
    assert summary.tasks == 4 and summary.with_media == 2
    assert [t["data"]["post_id"] for t in tasks] == ["s:1", "s:2", "s:3", "s:4"]
    first = tasks[0]
    assert first["data"]["text"] == "River flooding downtown #flood"
    assert Path(first["data"]["image"]).is_file() and Path(first["data"]["image"]).is_absolute()
    assert first["meta"] == {"post_id": "s:1", "labels": {"split": "train"}}
    assert tasks[2]["data"]["video"] == "https://cdn.example.org/v.mp4"


def test_export_where_and_media_prefix(ws: Path, tmp_path: Path):
    export_label_studio(
        tmp_path / "t.json",
        workspace=ws,
        where="labels['split'] = 'train'",
        media_url_prefix="/data/local-files/?d=ws/",
    )
    tasks = json.loads((tmp_path / "t.json").read_text())
    assert [t["data"]["post_id"] for t in tasks] == ["s:1", "s:2"]
    assert tasks[0]["data"]["image"].startswith("/data/local-files/?d=ws/media/")


def test_round_trip_export_annotate_import(ws: Path, tmp_path: Path):
    export_label_studio(tmp_path / "tasks.json", workspace=ws)
    tasks = label_studio_export(json.loads((tmp_path / "tasks.json").read_text()))
    annotate(tasks[0], ["negative"])
    annotate(tasks[1], ["positive"], when="2024-06-01T10:00:00Z")
    annotate(tasks[1], ["negative"], when="2024-06-02T10:00:00Z")  # the newer annotation counts
    annotate(tasks[1], ["neutral"], when="2024-06-03T10:00:00Z", cancelled=True)  # a skipped one does not
    annotate(tasks[2], ["urgent", "flood"], kind="labels")  # span labels, several -> sorted, joined
    # task 4 was never annotated
    export = tmp_path / "export.json"
    export.write_text(json.dumps(tasks))
    summary = import_annotations(export, label="sentiment", workspace=ws)
    labels = labels_of(ws)
    assert labels["s:1"] == {"split": "train", "sentiment": "negative"}
    assert labels["s:2"]["sentiment"] == "negative"
    assert labels["s:3"]["sentiment"] == "flood|urgent"
    assert "sentiment" not in labels["s:4"]
    assert (summary.matched, summary.changed, summary.quarantined) == (3, 3, 1)
    assert quarantine_of(ws) == [("no_annotation", 4, "s:4")]
    again = import_annotations(export, label="sentiment", workspace=ws)
    assert (again.changed, again.unchanged) == (0, 3)


def test_from_name_picks_one_control_and_bad_tasks_are_quarantined(ws: Path, tmp_path: Path):
    tasks = [
        annotate({"id": 1, "data": {"post_id": "s:1"}}, ["yes"], from_name="relevant"),
        {"id": 2, "data": {"text": "no id"}, "annotations": []},
        annotate({"id": 3, "data": {"post_id": "s:99"}}, ["yes"], from_name="relevant"),
        "not a task",
    ]
    annotate(tasks[0], ["negative"], from_name="sentiment", when="2024-07-01T00:00:00Z")
    tasks[0]["annotations"][1]["result"] += tasks[0]["annotations"][0]["result"]
    export = tmp_path / "export.json"
    export.write_text(json.dumps(tasks))
    summary = import_annotations(export, label="relevant", from_name="relevant", workspace=ws)
    assert labels_of(ws)["s:1"]["relevant"] == "yes"
    assert sorted(summary.reasons.items()) == [("bad_record", 1), ("label_unknown_post", 1), ("missing_id", 1)]


def test_an_export_that_is_not_a_task_list_is_refused(ws: Path, tmp_path: Path):
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(ConfigError, match="not JSON"):
        import_annotations(bad, label="x", workspace=ws)
    bad.write_text('"a string"')
    with pytest.raises(ConfigError, match="list of tasks"):
        import_annotations(bad, label="x", workspace=ws)


def test_cli_round_trip(ws: Path, tmp_path: Path):
    runner = CliRunner()
    out = tmp_path / "tasks.json"
    result = runner.invoke(
        app,
        [
            "label",
            "export",
            "--format",
            "label-studio",
            "--out",
            str(out),
            "--where",
            "platform = 'bluesky'",
            "-w",
            str(ws),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "wrote 2 task(s)" in result.output
    tasks = label_studio_export(json.loads(out.read_text()))
    for task in tasks:
        annotate(task, ["calm"])
    export = tmp_path / "export.json"
    export.write_text(json.dumps(tasks))
    result = runner.invoke(app, ["label", "import-annotations", str(export), "--label", "mood", "-w", str(ws)])
    assert result.exit_code == 0, result.output
    assert {k: v.get("mood") for k, v in labels_of(ws).items()} == {
        "s:1": None,
        "s:2": None,
        "s:3": "calm",
        "s:4": "calm",
    }
