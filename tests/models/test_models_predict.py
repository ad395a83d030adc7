"""A model reads exactly the cache keys it was trained on; predict_posts writes rows with probabilities.

The workspace holds synthetic vectors cached under the keys the installed encoders would write
(no model runs here); tests/pipeline/test_predict.py runs the real encoders end to end.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from postlens.encoders.base import Features
from postlens.encoders.identity import installed_identity, text_key
from postlens.errors import ConfigError
from postlens.models.artifact import load_model
from postlens.models.config import parse_config
from postlens.models.data import assemble, load_post_data, resolve_encoder_key
from postlens.pipeline.train import run_train
from postlens.store.features import FeatureCache
from postlens.store.workspace import Workspace

N = 120


def _insert_post(ws: Workspace, i: int, label: str | None, text: str, image_sha: str | None) -> None:
    now = datetime.now(UTC)
    labels = [["label"], [label]] if label else [[], []]
    ws.db.execute(
        "INSERT INTO posts (id, source, native_id, platform, created_at, text, author_id, author_followers, hashtags, "
        "labels, media_kinds, content_hash, run_id, first_seen, updated_at) "
        "VALUES (?, 's', ?, 'x', ?, ?, ?, 100, [], MAP(?, ?), ?, 'h', 'r', ?, ?)",
        [
            f"s:{i:04d}",
            str(i),
            datetime(2024, 1, 1, tzinfo=UTC) + timedelta(hours=i),
            text,
            f"a{i % 9}",
            labels[0],
            labels[1],
            ["image"] if image_sha else [],
            now,
            now,
        ],
    )
    if image_sha:
        ws.db.execute(
            "INSERT INTO media (post_id, position, kind, status, sha256) VALUES (?, 0, 'image', 'stored', ?)",
            [f"s:{i:04d}", image_sha],
        )


@pytest.fixture
def workspace(tmp_path):
    """N labelled posts (+10 unlabelled, no image), vectors cached under the installed encoders' keys."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, N + 10)
    centres = rng.normal(size=(2, 8)) * 3
    ws = Workspace(tmp_path / "ws")
    cache = FeatureCache(ws.features_dir)
    texts, shas = [], []
    for i in range(N + 10):
        text = f"post {i} about {'cats' if y[i] else 'dogs'}"
        sha = f"sha{i}" if i % 2 and i < N else None
        _insert_post(ws, i, ["dogs", "cats"][y[i]] if i < N else None, text, sha)
        texts.append(text)
        shas.append(sha)
    cache.write(
        installed_identity("minilm").key,
        [text_key(t) for t in texts],
        [Features(vector=(centres[y[i]] + rng.normal(size=8)).astype(np.float32)) for i in range(N + 10)],
    )
    with_image = [i for i, s in enumerate(shas) if s]
    cache.write(
        installed_identity("efficientnet").key,
        [shas[i] for i in with_image],
        [Features(vector=(y[i] + rng.normal(size=4)).astype(np.float32)) for i in with_image],
    )
    ws.close()
    return tmp_path / "ws"


CONFIG = {
    "name": "m",
    "target": "label",
    "features": {"modalities": {"text": "minilm", "image": "efficientnet"}},
    "split": {"strategy": "stratified"},
    "model": {"kind": "logreg"},
}


@pytest.fixture
def trained(workspace, tmp_path):
    run_train(parse_config({**CONFIG, "output": str(tmp_path / "m")}), workspace=workspace)
    return tmp_path / "m"


def test_model_json_records_exact_encoders(trained):
    info = json.loads((trained / "model.json").read_text())
    text = info["encoders"]["text"]
    assert text["encoder"] == "minilm" and text["key"] == installed_identity("minilm").key
    assert text["settings"]["max_chars"] == installed_identity("minilm").settings["max_chars"]
    assert text["dim"] == 8 and info["encoders"]["image"]["dim"] == 4
    assert info["encoders"]["image"]["key"] == installed_identity("efficientnet").key
    assert info["feature_keys"] == {"text": text["key"], "image": info["encoders"]["image"]["key"]}
    assert info["text_fields"] == ["text"] and "log_followers" in info["meta_names"]


def test_resolve_picks_the_installed_version_not_the_newest_folder(workspace):
    cache = FeatureCache(workspace / "features")
    installed = installed_identity("minilm").key
    other = installed.split("@")[0] + "@0.older"
    shutil.copytree(cache.folder(installed), cache.folder(other))
    future = datetime.now().timestamp() + 3600
    os.utime(cache.folder(other), (future, future))  # the other version is the newest folder
    for part in cache.parts(other):
        os.utime(part, (future, future))
    assert resolve_encoder_key(cache, "minilm") == installed
    assert resolve_encoder_key(cache, other) == other  # named explicitly: that one
    shutil.rmtree(cache.folder(installed))
    with pytest.raises(
        ConfigError, match=r"as configured here .*featurize --encoders minilm.*Other versions.*0\.older"
    ):
        resolve_encoder_key(cache, "minilm")


def test_predict_posts_equals_predict_on_training_arrays(workspace, trained):
    model = load_model(trained)
    config = parse_config(CONFIG)
    with Workspace(workspace) as ws:
        result = model.predict_posts(ws)
        arrays = assemble(ws, config)
        unlabelled, _ = load_post_data(ws, config, [f"s:{i:04d}" for i in range(N, N + 10)], dims=model.dims)
        stored = ws.db.execute("SELECT count(*), count(DISTINCT model) FROM predictions").fetchone()
        first = ws.db.execute("SELECT probabilities['cats'], task FROM predictions WHERE post_id = 's:0001'").fetchone()
    frame = result.frame.set_index("post_id")
    train_ids = arrays.data.ids
    assert frame.loc[train_ids, "label"].tolist() == model.predict_labels(arrays.data)
    assert np.allclose(
        frame.loc[train_ids, ["proba_cats", "proba_dogs"]].to_numpy(),
        model.predict_proba(arrays.data)[:, [model.classes.index("cats"), model.classes.index("dogs")]],
    )
    assert frame.loc[unlabelled.ids, "label"].tolist() == model.predict_labels(unlabelled)
    assert stored == (N + 10, 1) and result.written == N + 10
    assert first[1] == "classification" and first[0] == pytest.approx(frame.loc["s:0001", "proba_cats"])
    # posts without an image are predicted anyway, and counted
    assert result.lacking["image"] == (N + 10) - N // 2 and result.lacking["text"] == 0
    assert frame.loc["s:0000", "missing_modalities"] == "image" and frame.loc["s:0001", "missing_modalities"] == ""
    assert sum(result.label_counts().values()) == N + 10


def test_repredicting_replaces_only_that_models_rows(workspace, trained, tmp_path):
    shutil.copytree(trained, tmp_path / "other")
    model, other = load_model(trained), load_model(tmp_path / "other")
    with Workspace(workspace) as ws:
        model.predict_posts(ws, where="id < 's:0010'")
        other.predict_posts(ws, post_ids=["s:0001", "s:0002"])
        before = dict(ws.db.execute("SELECT post_id, predicted_at FROM predictions WHERE model = 'm'").fetchall())
        model.predict_posts(ws, post_ids=["s:0003"])
        after = dict(ws.db.execute("SELECT post_id, predicted_at FROM predictions WHERE model = 'm'").fetchall())
        counts = dict(ws.db.execute("SELECT model, count(*) FROM predictions GROUP BY 1").fetchall())
    assert counts == {"m": 10, "other": 2}
    assert after["s:0003"] > before["s:0003"] and after["s:0004"] == before["s:0004"]


def test_where_selects_posts(workspace, trained):
    model = load_model(trained)
    with Workspace(workspace) as ws:
        result = model.predict_posts(
            ws,
            where="labels['label'] IS NULL OR id IN (SELECT post_id FROM media "
            "WHERE kind = 'image' AND post_id < 's:0004')",
            save=False,
        )
        none = model.predict_posts(ws, where="labels['label'] = 'no such label'", save=False)
        assert ws.db.execute("SELECT count(*) FROM predictions").fetchone() == (0,)
    assert sorted(result.frame["post_id"]) == ["s:0001", "s:0003"] + [f"s:{i:04d}" for i in range(N, N + 10)]
    assert len(none) == 0 and none.label_counts() == {}


def _edit_model_json(folder, **changes):
    info = json.loads((folder / "model.json").read_text())
    for dotted, value in changes.items():
        *path, last = dotted.split("__")
        target = info
        for part in path:
            target = target[part]
        target[last] = value
    (folder / "model.json").write_text(json.dumps(info))


def test_a_model_trained_on_another_encoder_version_is_refused_before_anything(workspace, trained):
    old = installed_identity("minilm").key.split("@")[0] + "@0.old"
    _edit_model_json(trained, encoders__text__key=old, feature_keys__text=old, postlens_version="0.0.9")
    model = load_model(trained)
    called = []
    with Workspace(workspace) as ws, pytest.raises(ConfigError) as error:
        model.predict_posts(ws, featurizer=lambda *args: called.append(args) or 0)
    message = str(error.value)
    assert f"trained on {old}" in message and installed_identity("minilm").key in message
    assert "text features" in message and "Retrain" in message and "postlens 0.0.9" in message
    assert called == []  # refused before featurizing


def test_data_read_from_other_keys_is_refused(trained):
    model = load_model(trained)
    keys = dict(model.feature_keys, image="efficientnet_lite0@0.other")
    with pytest.raises(
        ConfigError, match=r"image inputs were 'efficientnet_lite0@1.*' at training.*'efficientnet_lite0@0.other'"
    ):
        model.check_feature_keys(keys)
    model.check_feature_keys(dict(model.feature_keys))


def test_unfeaturized_posts_are_refused_without_a_featurizer_and_featurized_with_one(workspace, trained):
    with Workspace(workspace) as ws:
        _insert_post(ws, 999, None, "a brand new post nobody embedded", None)
    model = load_model(trained)
    with Workspace(workspace) as ws:
        with pytest.raises(ConfigError, match=r"1 posts lack text features .*featurize --encoders minilm,efficientnet"):
            model.predict_posts(ws, post_ids=["s:0999"])
        seen = []

        def fake_featurize(w, encoders, post_ids):  # what the pipeline's featurize would cache
            seen.append((encoders, post_ids))
            FeatureCache(w.features_dir).write(
                model.feature_keys["text"],
                [text_key("a brand new post nobody embedded")],
                [Features(vector=np.ones(8, np.float32))],
            )
            return 1

        result = model.predict_posts(ws, post_ids=["s:0999"], featurizer=fake_featurize)
    assert seen == [(["minilm", "efficientnet"], ["s:0999"])]
    assert result.featurized == 1 and result.lacking == {"text": 0, "image": 1}
    assert result.frame["missing_modalities"].tolist() == ["image"]


def test_only_posts_without_an_image_keep_the_models_width(workspace, trained):
    model = load_model(trained)
    with Workspace(workspace) as ws:
        result = model.predict_posts(ws, post_ids=["s:0000", "s:0002"], save=False)
    assert len(result) == 2 and result.lacking["image"] == 2


def test_unknown_post_ids_are_named(workspace, trained):
    with Workspace(workspace) as ws, pytest.raises(ConfigError, match=r"1 post ids are not in the workspace.*s:nope"):
        load_model(trained).predict_posts(ws, post_ids=["s:0001", "s:nope"])


def test_format_1_model_folders_still_load(trained):
    info = json.loads((trained / "model.json").read_text())
    for key in ("encoders", "text_fields", "text_sources"):
        info.pop(key)
    info["format_version"] = 1
    (trained / "model.json").write_text(json.dumps(info))
    model = load_model(trained)
    assert model.encoders["text"]["encoder"] == "minilm" and model.encoders["image"]["encoder"] == "efficientnet"
    assert model.dims == {"image": 4, "text": 8}  # the estimator's own record
    model.check_installed_encoders()


def test_text_read_from_media_records_and_checks_the_encoder_that_read_it(workspace, tmp_path):
    config = {
        **CONFIG,
        "features": {**CONFIG["features"], "text_fields": ["text", "ocr"]},
        "output": str(tmp_path / "o"),
    }
    run_train(parse_config(config), workspace=workspace)
    info = json.loads((tmp_path / "o" / "model.json").read_text())
    assert info["text_fields"] == ["text", "ocr"]
    assert (
        info["text_sources"]["ocr"]["encoder"] == "ocr"
        and info["text_sources"]["ocr"]["key"] == installed_identity("ocr").key
    )
    model = load_model(tmp_path / "o")
    assert model.encoder_names() == ["minilm", "efficientnet", "ocr"]
    _edit_model_json(tmp_path / "o", text_sources__ocr__key="rapidocr@0")
    with pytest.raises(ConfigError, match=r"ocr text \(read by\): trained on rapidocr@0 \(encoder 'ocr'\)"):
        load_model(tmp_path / "o").check_installed_encoders()


def test_multilabel_and_regression_models_write_their_kind_of_prediction(workspace, tmp_path):
    with Workspace(workspace) as ws:
        ws.db.execute(
            "UPDATE posts SET labels = MAP(['tags'], [CASE WHEN labels['label'] = 'cats' THEN 'cats;pets' "
            "ELSE 'dogs' END]) WHERE labels['label'] IS NOT NULL"
        )
        ws.db.execute(
            "INSERT INTO engagement (post_id, observed_at, likes, shares, comments, views, run_id) "
            "SELECT id, TIMESTAMPTZ '2024-03-01 00:00:00+00', 1, length(text), 0, 0, 'r' FROM posts"
        )
    run_train(
        parse_config(
            {
                **CONFIG,
                "target": "tags",
                "task": "multilabel",
                "label_separator": ";",
                "split": {"strategy": "random"},
                "output": str(tmp_path / "tags"),
            }
        ),
        workspace=workspace,
    )
    run_train(
        parse_config(
            {
                **CONFIG,
                "target": "popularity",
                "split": {"strategy": "random"},
                "model": {"kind": "lightgbm", "n_estimators": 20},
                "output": str(tmp_path / "pop"),
            }
        ),
        workspace=workspace,
    )
    with Workspace(workspace) as ws:
        tags = load_model(tmp_path / "tags").predict_posts(ws, post_ids=["s:0000", "s:0001"])
        pop = load_model(tmp_path / "pop").predict_posts(ws, post_ids=["s:0000", "s:0001"])
        stored = ws.db.execute(
            "SELECT model, label, value, probabilities FROM predictions ORDER BY model, post_id"
        ).fetchall()
    assert set(tags.frame.columns) >= {"label", "proba_cats", "proba_dogs", "proba_pets"}
    assert all(set(label.split(";")) <= {"cats", "dogs", "pets"} for label in tags.frame["label"])
    assert sum(tags.label_counts().values()) >= 1 and "value" not in tags.frame
    assert pop.task == "regression" and pop.frame["value"].notna().all() and pop.label_counts() == {}
    assert [r[0] for r in stored] == ["pop", "pop", "tags", "tags"]
    assert stored[0][1] is None and stored[0][2] is not None and stored[0][3] is None
    assert stored[2][2] is None and set(stored[2][3]) == {"cats", "dogs", "pets"}
