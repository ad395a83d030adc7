"""postlens train with split.strategy: duplicates reads the clusters postlens dedupe stored."""

from __future__ import annotations

import numpy as np
import pytest
from test_models_train_pipeline import _config, workspace  # noqa: F401  (a fixture)

from postlens.errors import ConfigError
from postlens.models.config import load_config
from postlens.models.data import assemble
from postlens.pipeline.train import run_train, split_rows
from postlens.store.duplicates import ClusterRow, replace_clusters
from postlens.store.workspace import Workspace


def _store_clusters(ws_path) -> dict[str, str]:
    """Pairs (i, i + 1) for i % 70 == 0: each pair joins events e0 and e1 (event = i % 7)."""
    rows = []
    for i in range(0, 240, 70):
        rows += [
            ClusterRow(f"s:{i}", f"s:{i}", None, None, None),
            ClusterRow(f"s:{i + 1}", f"s:{i}", "image", f"s:{i}", 1.0),
        ]
    with Workspace(ws_path) as ws:
        replace_clusters(ws.db, rows, run_id="t", report={"posts": 240})
    return {r.post_id: r.cluster_id for r in rows}


def test_train_refuses_the_duplicate_split_before_dedupe(workspace, tmp_path):  # noqa: F811
    with pytest.raises(ConfigError, match="postlens dedupe"):
        run_train(
            _config(tmp_path, "target: label\nsplit: {strategy: duplicates}\nmodel: {kind: logreg}\n"),
            workspace=workspace,
        )


def test_no_cluster_and_no_event_straddles_the_split(workspace, tmp_path):  # noqa: F811
    cluster = _store_clusters(workspace)
    config = load_config(_config(tmp_path, "target: label\nsplit: {strategy: duplicates}\nmodel: {kind: logreg}\n"))
    with Workspace(workspace, read_only=True) as ws:
        data = assemble(ws, config)
    split = split_rows(config, data)
    side = {}
    for name, rows in (("train", split.train), ("val", split.val), ("test", split.test)):
        for row in rows:
            side[data.data.ids[row]] = name
    events = {post_id: f"e{int(post_id[2:]) % 7}" for post_id in side}
    for keys in (cluster, events):
        sides_of: dict[str, set[str]] = {}
        for post_id, key in keys.items():
            sides_of.setdefault(key, set()).add(side[post_id])
        assert all(len(s) == 1 for s in sides_of.values())
    assert data.notes["posts in a duplicate cluster"] == 8
    report = run_train(config.model_copy(update={"output": str(tmp_path / "m")}), workspace=workspace)
    assert report["split"]["groups_before_joining"] == 7 and report["split"]["groups"]["test"] >= 1
    assert report["split"]["strategy"] == "duplicates" and report["split"]["duplicate_clusters"] == 4
    assert np.isfinite(report["test"]["macro_f1"])
