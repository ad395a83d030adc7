"""The main job on the embedded default: sample corpus -> workspace, matching the planted truth."""

from __future__ import annotations

from pathlib import Path

import orjson
from rich.console import Console

from postlens.pipeline import run_demo
from postlens.store.workspace import Workspace


def test_demo_generates_ingests_and_is_idempotent(tmp_path: Path) -> None:
    quiet = Console(file=open("/dev/null", "w"))
    corpus, ws_path = tmp_path / "corpus", tmp_path / "ws"
    first = run_demo(corpus, seed=3, n_posts=120, workspace=ws_path, console=quiet, featurize=False)
    truth = orjson.loads((corpus / "truth.json").read_bytes())
    assert first.imported == 120 and first.quarantined == 0
    with Workspace(ws_path, read_only=True) as ws:
        kinds = dict(ws.db.execute("SELECT kind, count(*) FROM media WHERE status='stored' GROUP BY 1").fetchall())
        ids = {r[0] for r in ws.db.execute("SELECT id FROM posts").fetchall()}
    assert ids == {post["id"] for post in truth["posts"]}
    assert kinds.get("image", 0) > 0 and sum(kinds.values()) > 20
    second = run_demo(corpus, seed=3, n_posts=120, workspace=ws_path, console=quiet, featurize=False)
    assert (second.imported, second.unchanged, second.snapshots_added) == (0, 120, 0)
