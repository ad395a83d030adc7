"""The main job on the embedded default: sample corpus -> workspace, matching the planted truth."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from postlens.pipeline import DemoHooks, run_demo
from postlens.store.workspace import Workspace


def test_demo_generates_ingests_and_is_idempotent(tmp_path: Path) -> None:
    corpus, ws_path = tmp_path / "corpus", tmp_path / "ws"
    heard: dict[str, list[Any]] = {"stages": [], "generating": [], "importing": []}
    hooks = DemoHooks(generating=lambda done, total: heard["generating"].append((done, total)),
                      importing=lambda seen, quarantined: heard["importing"].append((seen, quarantined)),
                      on_stage=lambda stage, result: heard["stages"].append(stage))
    first = run_demo(corpus, seed=3, n_posts=120, workspace=ws_path, featurize=False, hooks=hooks)
    truth = orjson.loads((corpus / "truth.json").read_bytes())
    assert first.corpus.generated and first.featurized is None and first.trained is None
    assert first.imported.imported == 120 and first.imported.quarantined == 0
    assert heard["stages"] == ["corpus", "ingest"]  # featurize=False: nothing after the import
    assert heard["generating"][-1] == (120, 120) and heard["importing"][-1] == (120, 0)
    with Workspace(ws_path, read_only=True) as ws:
        kinds = dict(ws.db.execute("SELECT kind, count(*) FROM media WHERE status='stored' GROUP BY 1").fetchall())
        ids = {r[0] for r in ws.db.execute("SELECT id FROM posts").fetchall()}
    assert ids == {post["id"] for post in truth["posts"]}
    assert kinds.get("image", 0) > 0 and sum(kinds.values()) > 20
    second = run_demo(corpus, seed=3, n_posts=120, workspace=ws_path, featurize=False)
    assert not second.corpus.generated
    assert (second.imported.imported, second.imported.unchanged, second.imported.snapshots_added) == (0, 120, 0)
