"""``model: {kind: sgd}``: training read from the feature cache batch by batch, on a real workspace.

The streamed model must score close to in-memory logreg on the same split, read no batch larger than
``stream_batch_size``, give the same features as the in-memory loader, and predict from its folder.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from postlens.encoders.base import Features
from postlens.encoders.identity import installed_identity
from postlens.errors import ConfigError
from postlens.models.artifact import load_model
from postlens.models.config import load_config
from postlens.models.data import assemble, load_post_data
from postlens.models.stream import StreamSource
from postlens.models.trainer import _fit_streamed
from postlens.pipeline.featurize import text_key
from postlens.pipeline.train import run_train
from postlens.store.features import FeatureCache
from postlens.store.workspace import Workspace

TEXT_KEY, IMAGE_KEY = installed_identity("minilm").key, installed_identity("efficientnet").key  # predict checks them
N = 300


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """300 posts, 3 classes; text vectors for all, images for two thirds (some posts have two), in several parts."""
    root = tmp_path_factory.mktemp("stream") / "ws"
    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, N)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    ws = Workspace(root)
    texts = [f"post number {i}" for i in range(N)]
    now = datetime.now(UTC)
    for i in range(N):
        ws.db.execute(
            "INSERT INTO posts (id, source, native_id, platform, created_at, text, author_id, author_followers, "
            "hashtags, labels, media_kinds, content_hash, run_id, first_seen, updated_at) "
            "VALUES (?, 's', ?, 'x', ?, ?, ?, 100, [], MAP(['label'], [?]), ?, 'h', 'r', ?, ?)",
            [f"s:{i:03d}", str(i), start + timedelta(hours=i), texts[i], f"a{i % 30}",
             ["red", "green", "blue"][y[i]], ["image"] if i % 3 else [], now, now],
        )  # fmt: skip
        ws.db.execute(
            "INSERT INTO engagement (post_id, observed_at, likes, shares, comments, views, run_id) "
            "VALUES (?, ?, 0, ?, 0, 0, 'r')",
            [f"s:{i:03d}", start + timedelta(days=30), int(y[i] * 10 + i % 4)],
        )
        for position, sha in enumerate([f"sha{i}", f"shb{i}"][: 1 + (i % 5 == 1)] if i % 3 else []):
            ws.db.execute(
                "INSERT INTO media (post_id, position, kind, status, sha256) VALUES (?, ?, 'image', 'stored', ?)",
                [f"s:{i:03d}", position, sha],
            )
    cache = FeatureCache(ws.features_dir)
    centres = rng.normal(size=(3, 8)) * 0.7
    for part in np.array_split(np.arange(N), 4):  # several parts, as featurize writes them
        cache.write(
            TEXT_KEY,
            [text_key(texts[i]) for i in part],
            [Features(vector=(centres[y[i]] + rng.normal(size=8)).astype(np.float32)) for i in part],
        )
    shas = [(i, s) for i in range(N) if i % 3 for s in [f"sha{i}", f"shb{i}"][: 1 + (i % 5 == 1)]]
    cache.write(
        IMAGE_KEY,
        [s for _, s in shas],
        [Features(vector=(0.4 * y[i] + rng.normal(size=4)).astype(np.float32)) for i, _ in shas],
    )
    ws.close()
    return root


def _config(tmp_path, body: str, *, split: str = "{strategy: stratified}"):
    path = tmp_path / "train.yaml"
    path.write_text(
        f"features:\n  modalities: {{text: '{TEXT_KEY}', image: '{IMAGE_KEY}'}}\n"
        f"target: label\nsplit: {split}\nseed: 2\nnum_threads: 1\n" + body
    )
    return path


def test_streamed_sgd_scores_close_to_logreg_and_reads_small_batches(workspace, tmp_path, monkeypatch):
    sizes: list[int] = []
    read = StreamSource.read

    def counting(self, rows):
        sizes.append(len(rows))
        return read(self, rows)

    monkeypatch.setattr(StreamSource, "read", counting)
    streamed = run_train(
        _config(tmp_path, "model: {kind: sgd, stream_batch_size: 7, epochs: 8}\noutput: sgd\n"), workspace=workspace
    )
    in_memory = run_train(_config(tmp_path, "model: {kind: logreg, tune: false}\noutput: lr\n"), workspace=workspace)
    assert streamed["sizes"] == in_memory["sizes"]  # the same split
    assert streamed["model"] == "sgd" and streamed["stream"]["batch_size"] == 7
    assert max(sizes) == 7 and sum(sizes) > (8 + 1) * streamed["sizes"]["train"]  # scaling pass + 8 epochs, in 7s
    assert streamed["test"]["macro_f1"] > 0.6
    assert abs(streamed["test"]["macro_f1"] - in_memory["test"]["macro_f1"]) < 0.1
    written = pq.read_table(tmp_path / "sgd" / "predictions_test.parquet")
    assert written.num_rows == streamed["sizes"]["test"]


def test_assemble_without_vectors_keeps_split_facts_and_batches_match_the_loader(workspace, tmp_path):
    config = load_config(_config(tmp_path, "model: {kind: sgd}\n"))
    with Workspace(workspace, read_only=True) as ws:
        data = assemble(ws, config, vectors=False)
        full, _ = load_post_data(ws, config, data.data.ids)
    assert data.data.modalities == {} and data.stream is not None
    assert len(data.y) == N and data.classes == ["blue", "green", "red"]
    assert data.dims == full.dims == {"text": 8, "image": 4}
    rows = np.array([1, 0, 6, 11, 299])  # post 1 and 11 have two images (their mean), post 0 and 6 none
    batch = data.stream.read(rows)
    for block in ("text", "image"):
        np.testing.assert_array_equal(batch.masks[block], full.masks[block][rows])
        np.testing.assert_allclose(batch.modalities[block], full.modalities[block][rows], rtol=1e-6)
    np.testing.assert_array_equal(batch.meta, full.meta[rows])
    assert [len(r) for r, _ in data.stream.batches(64)] == [64, 64, 64, 64, 44]
    shuffled = np.concatenate([r for r, _ in data.stream.subset(np.arange(20)).batches(7, seed=[1, 2])])
    assert sorted(shuffled.tolist()) == list(range(20)) and shuffled.tolist() != list(range(20))


def test_saved_streamed_model_predicts_as_in_training(workspace, tmp_path):
    report = run_train(_config(tmp_path, "model: {kind: sgd, stream_batch_size: 50}\noutput: m\n"), workspace=workspace)
    model = load_model(tmp_path / "m")
    assert model.kind == "sgd" and model.classes == ["blue", "green", "red"]
    held_out = pq.read_table(tmp_path / "m" / "predictions_test.parquet").to_pylist()
    ids = [row["post_id"] for row in held_out]
    with Workspace(workspace) as ws:
        predicted = model.predict_posts(ws, post_ids=ids, save=False)
    assert len(predicted) == report["sizes"]["test"]
    by_id = dict(zip(predicted.frame["post_id"], predicted.frame["label"]))
    assert [by_id[i] for i in ids] == [row["predicted_label"] for row in held_out]
    proba = predicted.frame.set_index("post_id").loc[ids, "proba_red"].to_numpy()
    np.testing.assert_allclose(proba, [row["proba_red"] for row in held_out], rtol=1e-5)


def test_streamed_regression_and_class_weights(workspace, tmp_path):
    path = tmp_path / "pop.yaml"
    path.write_text(
        f"features:\n  modalities: {{text: '{TEXT_KEY}'}}\ntarget: popularity\nsplit: {{strategy: random}}\n"
        "num_threads: 1\nmodel: {kind: sgd, stream_batch_size: 32}\noutput: pop\n"
    )
    popularity = run_train(path, workspace=workspace)
    assert popularity["task"] == "regression" and popularity["test"]["spearman"] > 0.5
    weighted = run_train(
        _config(tmp_path, "model: {kind: sgd, stream_batch_size: 32}\nimbalance: class_weight\noutput: w\n"),
        workspace=workspace,
    )
    assert weighted["imbalance"] == "class_weight" and weighted["test"]["macro_f1"] > 0.6
    assert sum(load_model(tmp_path / "w").estimator.class_counts_) == weighted["sizes"]["train"]


@pytest.mark.parametrize(
    ("body", "split", "named"),
    [
        ("model: {kind: sgdd}\n", "{strategy: stratified}", "'sgd'"),
        ("model: {kind: sgd, stream_batch_size: 0}\n", "{strategy: stratified}", "stream_batch_size"),
        ("model: {kind: sgd}\nimbalance: over\n", "{strategy: stratified}", "class_weight"),
        ("model: {kind: sgd}\n", "{strategy: stratified, folds: 3}", "cross-validation"),
        ("model: {kind: sgd}\ntask: multilabel\n", "{strategy: random}", "classification and regression"),
        ("model: {kind: sgd}\nfeatures: {modalities: {text: tfidf}}\n", "{strategy: stratified}", "logreg"),
    ],
)
def test_bad_streamed_configs_say_what_is_valid(workspace, tmp_path, body, split, named):
    with pytest.raises(ConfigError, match=named):
        run_train(_config(tmp_path, body, split=split), workspace=workspace)


def test_streamed_and_in_memory_sgd_learn_the_same_model(workspace, tmp_path):
    """The same posts in the same seeded batches: reading them from the cache changes nothing."""
    from postlens.pipeline.train import train_from_config

    config = load_config(_config(tmp_path, "model: {kind: sgd, stream_batch_size: 13}\n"))
    with Workspace(workspace, read_only=True) as ws:
        in_memory, streamed = assemble(ws, config), assemble(ws, config, vectors=False)
    first = train_from_config(config, in_memory, output=tmp_path / "a")
    second = train_from_config(config, streamed, output=tmp_path / "b")
    assert first["test"] == second["test"] and first["fingerprint"] == second["fingerprint"]
    a, b = (pq.read_table(tmp_path / side / "predictions_test.parquet").to_pydict() for side in ("a", "b"))
    assert a["predicted_label"] == b["predicted_label"]
    np.testing.assert_allclose(a["proba_red"], b["proba_red"], rtol=1e-4)


def test_streamed_fit_scans_each_cache_part_once_and_removes_its_scratch(workspace, tmp_path, monkeypatch):
    """Many small batches over several epochs still read each Parquet part once; the scratch file goes,
    also when the fit fails."""
    from postlens.models import stream

    config = load_config(_config(tmp_path, "model: {kind: sgd, stream_batch_size: 7, epochs: 4}\n"))
    with Workspace(workspace, read_only=True) as ws:
        data = assemble(ws, config, vectors=False)
    temporary = tmp_path / "scratch"
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))  # where TemporaryDirectory puts the scratch
    scanned: list[Path] = []
    scratch_seen: list[list[Path]] = []
    scan = stream.scan_part

    def counting_scan(part):
        scanned.append(part)
        scratch_seen.append(sorted(temporary.rglob("*.npy")))
        return scan(part)

    monkeypatch.setattr(stream, "scan_part", counting_scan)
    estimator = _fit_streamed(config, data.subset(np.arange(200)), "none")
    cache = FeatureCache(workspace / "features")
    parts = cache.parts(TEXT_KEY) + cache.parts(IMAGE_KEY)
    assert len(parts) == 5 and estimator.rows_seen_ == 200 and len(estimator.history_) == 4
    assert sorted(scanned) == sorted(parts)  # each part once for the scaling pass and 4 epochs of 29 batches
    assert all(any(p.name == "posts.npy" for p in seen) for seen in scratch_seen)  # the scratch was there
    assert list(temporary.iterdir()) == []  # and is gone

    def failing(part):
        raise OSError("disk went away")

    monkeypatch.setattr(stream, "scan_part", failing)
    with pytest.raises(OSError, match="disk went away"):
        _fit_streamed(config, data.subset(np.arange(200)), "none")
    assert list(temporary.iterdir()) == []  # removed on error too


def test_scratch_rows_are_read_in_any_order_with_repeats(tmp_path):
    from postlens.models.stream import read_rows

    matrix = np.random.default_rng(0).normal(size=(500, 7)).astype(np.float32)
    np.save(tmp_path / "m.npy", matrix)
    rows = np.array([499, 3, 3, 0, 250, 251, 4, 120])  # scattered, adjacent, repeated, both ends
    np.testing.assert_array_equal(read_rows(tmp_path / "m.npy", rows), matrix[rows])
    assert read_rows(tmp_path / "m.npy", rows[:0]).shape == (0, 7)
    np.save(tmp_path / "wide.npy", matrix.astype(np.float64))
    with pytest.raises(ValueError, match="float32"):
        read_rows(tmp_path / "wide.npy", rows)
