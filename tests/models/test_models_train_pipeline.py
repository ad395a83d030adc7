"""run_train end to end on a small synthetic workspace: assemble, split, fit, save; same seed, same metrics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from postlens.encoders.base import Features
from postlens.errors import ConfigError
from postlens.models.artifact import load_model
from postlens.models.config import load_config
from postlens.models.data import assemble, load_post_data
from postlens.pipeline.featurize import text_key
from postlens.pipeline.train import run_train
from postlens.store.features import FeatureCache
from postlens.store.workspace import Workspace

TEXT_KEY, IMAGE_KEY = "text-minilm-l6@test", "efficientnet_lite0@test"


@pytest.fixture
def workspace(tmp_path):
    rng = np.random.default_rng(0)
    n = 240
    y = rng.integers(0, 2, n)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    ws = Workspace(tmp_path / "ws")
    cache = FeatureCache(ws.features_dir)
    texts = [f"post number {i}" for i in range(n)]
    now = datetime.now(UTC)
    for i in range(n):
        ws.db.execute(
            "INSERT INTO posts (id, source, native_id, platform, created_at, text, author_id, author_followers, "
            "hashtags, labels, media_kinds, content_hash, run_id, first_seen, updated_at) "
            "VALUES (?, 's', ?, 'x', ?, ?, ?, ?, ?, MAP(['label','event'], [?, ?]), ?, 'h', 'r', ?, ?)",
            [
                f"s:{i}",
                str(i),
                start + timedelta(hours=i),
                texts[i],
                f"a{i % 30}",
                int(10 ** rng.uniform(1, 5)),
                ["tag"] * (i % 3),
                ["fake", "real"][y[i]],
                f"e{i % 7}",
                ["image"] if i % 3 else [],
                now,
                now,
            ],
        )
        ws.db.execute(
            "INSERT INTO engagement (post_id, observed_at, likes, shares, comments, views, run_id) "
            "VALUES (?, ?, ?, ?, 0, 0, 'r')",
            [f"s:{i}", start + timedelta(days=30), int(y[i] * 50 + i % 5), int(y[i] * 10)],
        )
        if i % 3:
            ws.db.execute(
                "INSERT INTO media (post_id, position, kind, status, sha256) VALUES (?, 0, 'image', 'stored', ?)",
                [f"s:{i}", f"sha{i}"],
            )
    centres = rng.normal(size=(2, 8)) * 2
    cache.write(
        TEXT_KEY,
        [text_key(t) for t in texts],
        [Features(vector=(centres[y[i]] + rng.normal(size=8)).astype(np.float32)) for i in range(n)],
    )
    image_ids = [i for i in range(n) if i % 3]
    cache.write(
        IMAGE_KEY,
        [f"sha{i}" for i in image_ids],
        [Features(vector=(y[i] + rng.normal(size=4)).astype(np.float32)) for i in image_ids],
    )
    ws.close()
    return tmp_path / "ws"


def _config(tmp_path, body: str):
    path = tmp_path / "train.yaml"
    path.write_text(f"features:\n  modalities: {{text: '{TEXT_KEY}', image: '{IMAGE_KEY}'}}\n" + body)
    return path


def test_assembled_arrays(workspace, tmp_path):
    config = load_config(_config(tmp_path, "target: label\n"))
    with Workspace(workspace, read_only=True) as ws:
        data = assemble(ws, config)
        inference, _ = load_post_data(ws, config, ["s:1", "s:3"])
    assert len(data.y) == 240 and data.classes == ["fake", "real"]
    assert data.data.masks["text"].all()
    assert data.data.masks["image"].sum() == 160
    assert "log_followers" in data.data.meta_names and not np.isnan(data.times).any()
    assert inference.masks["image"].tolist() == [True, False]


def test_run_train_same_seed_same_metrics_and_artifact(workspace, tmp_path):
    body = (
        "target: label\nsplit: {strategy: time}\nseed: 1\nnum_threads: 1\n"
        "model: {kind: fusion, epochs: 6, width: 16, aux_popularity: true}\n"
    )
    first = run_train(_config(tmp_path, body + "output: m1\n"), workspace=workspace)
    second = run_train(_config(tmp_path, body + "output: m2\n"), workspace=workspace)
    assert first["test"] == second["test"] and first["val"] == second["val"]
    assert first["test"]["macro_f1"] > 0.7
    assert "without_image" in first["test_missing"]
    model = load_model(tmp_path / "m1")
    assert model.classes == ["fake", "real"] and model.fingerprint == first["fingerprint"]
    config = load_config(_config(tmp_path, "target: label\n"))
    with Workspace(workspace, read_only=True) as ws:
        posts, _ = load_post_data(ws, config, ["s:5", "s:6"])
    assert len(model.predict_labels(posts)) == 2


def test_popularity_regression_group_split_and_compare(workspace, tmp_path):
    report = run_train(
        _config(
            tmp_path,
            "target: popularity\nmodel: {kind: lightgbm, n_estimators: 30}\nsplit: {strategy: author}\noutput: pop\n",
        ),
        workspace=workspace,
    )
    assert report["task"] == "regression" and report["test"]["spearman"] > 0.5
    import pyarrow.parquet as pq

    held = pq.read_table(tmp_path / "pop" / "predictions_test.parquet")
    assert (
        held.schema.names == ["post_id", "true_value", "predicted_value"] and held.num_rows == report["sizes"]["test"]
    )
    compared = run_train(
        _config(tmp_path, "target: label\nmodel: {kind: logreg}\noutput: cmp\n"),
        workspace=workspace,
        compare_imbalance=True,
    )
    compare = compared["compare_imbalance"]
    assert set(compare["methods"]) == {"none", "over", "under", "smote", "class_weight"}
    chosen = max(compare["methods"], key=lambda m: compare["methods"][m]["val"]["macro_f1"])
    assert compare["methods"][compare["chosen"]]["val"]["macro_f1"] == compare["methods"][chosen]["val"]["macro_f1"]
    assert "macro_f1" in compare["test_of_chosen"]
    assert (tmp_path / "cmp" / "compare.json").exists()


def test_unknown_target_says_which_labels_exist(workspace, tmp_path):
    with pytest.raises(ConfigError, match="label keys in this workspace"):
        run_train(_config(tmp_path, "target: stance\n"), workspace=workspace)
