"""Late fusion and duplicate weighting: reposted pictures do not become label ids, any modality may be missing."""

from __future__ import annotations

import numpy as np
import pytest

from postlens.errors import ConfigError
from postlens.evaluation.metrics import classification_metrics
from postlens.models.config import parse_config
from postlens.models.duplicates import duplicate_weights, post_weights, vector_keys
from postlens.models.fusion import FusionModel
from postlens.models.inputs import PostData
from postlens.models.late_fusion import LateFusion, pool_outputs, simplex_grid
from postlens.models.trainer import build_estimator

FAST_NET = dict(epochs=8, batch_size=64, width=32, patience=20, seed=3, num_threads=1)


def reposted_pictures(
    n_pictures: int = 60, *, seed: int = 0, reposts_max: int = 60
) -> tuple[PostData, np.ndarray, np.ndarray]:
    """MediaEval in miniature: each picture has one label and is reposted 1..reposts_max times; its
    look says nothing about the label (random vector), the text does (class centre + noise).
    Returns data, labels, the picture id of each post."""
    rng = np.random.default_rng(seed)
    picture_label = rng.integers(0, 2, n_pictures)
    picture_vector = rng.normal(size=(n_pictures, 24)).astype(np.float32)
    reposts = rng.integers(1, reposts_max + 1, n_pictures)
    picture = np.repeat(np.arange(n_pictures), reposts)
    y = picture_label[picture]
    centres = rng.normal(size=(2, 16)) * 0.9
    text = (centres[y] + rng.normal(size=(len(y), 16))).astype(np.float32)
    data = PostData(
        modalities={"text": text, "image": picture_vector[picture]},
        masks={"text": np.ones(len(y), bool), "image": np.ones(len(y), bool)},
        meta=np.zeros((len(y), 0), np.float32),
        ids=[f"p{i}" for i in range(len(y))],
    )
    return data, y, picture


def test_duplicate_weights_count_each_picture_once():
    vectors = np.array([[1, 0], [1, 0], [1, 0], [1, 0], [0, 1], [0, 0]], np.float32)
    mask = np.array([True, True, True, True, True, False])
    keys = vector_keys(vectors, mask)
    assert keys[0] == keys[3] != keys[4] and keys[5] == ""
    inverse = duplicate_weights(keys, "inverse")
    assert np.isclose(inverse[:4].sum(), inverse[4]) and np.isclose(inverse[4], inverse[5])
    assert np.isclose(inverse.mean(), 1.0)
    sqrt = duplicate_weights(keys, "sqrt")
    assert np.isclose(sqrt[:4].sum(), 2 * sqrt[4])
    assert np.allclose(duplicate_weights(keys, "none"), 1.0)
    with pytest.raises(ConfigError, match="known: none, sqrt, inverse"):
        duplicate_weights(keys, "once")
    data = PostData(
        modalities={"image": vectors, "text": np.ones((6, 3), np.float32)},
        masks={"image": mask, "text": np.ones(6, bool)},
        meta=np.zeros((6, 0), np.float32),
    )
    assert np.allclose(post_weights(data, "inverse"), inverse)  # text repeats are not media reposts


def test_late_fusion_gives_no_weight_to_pictures_that_only_identify_their_label():
    """Held-out pictures are new: memorised picture identity cannot help, the pool must see that on its
    grouped out-of-fold predictions, and fusion must then do as well as text alone."""
    data, y, picture = reposted_pictures()
    test_pictures = picture >= 45
    train, test = np.flatnonzero(~test_pictures), np.flatnonzero(test_pictures)
    fusion = FusionModel(fusion="late", duplicate_weighting="inverse").fit(
        data.subset(train), y[train], groups=picture[train].astype(str)
    )
    text_only = FusionModel(fusion="late").fit(
        data.select(["text"]).subset(train), y[train], groups=picture[train].astype(str)
    )
    weights = fusion.late_.weights()
    assert weights["image"] <= 0.2 < weights["text"]
    fused = classification_metrics(y[test], fusion.predict(data.subset(test)))["macro_f1"]
    alone = classification_metrics(y[test], text_only.predict(data.select(["text"]).subset(test)))["macro_f1"]
    assert fused >= alone - 0.02


def test_late_fusion_beats_each_modality_when_both_carry_signal(posts):
    """Complementary modalities (30% of posts lack the picture, 20% the text): fusion beats either alone."""
    data, y = posts(n=900, missing_image=0.3)
    rng = np.random.default_rng(1)
    no_text = (rng.random(len(y)) < 0.2) & data.masks["image"]
    data.masks["text"] = ~no_text
    data.modalities["text"][no_text] = 0
    train, test = np.arange(600), np.arange(600, 900)
    scores = {}
    for name, view in (
        ("text", data.select(["text"], meta=False)),
        ("image", data.select(["image"], meta=False)),
        ("both", data.select(["text", "image"], meta=False)),
    ):
        model = FusionModel(fusion="late").fit(view.subset(train), y[train])
        scores[name] = classification_metrics(y[test], model.predict(view.subset(test)))["macro_f1"]
    assert scores["both"] > max(scores["text"], scores["image"]) + 0.02, scores


def test_late_fusion_predicts_with_any_modality_missing_and_reloads(posts, tmp_path):
    data, y = posts(n=400)
    model = FusionModel(fusion="late").fit(data.subset(np.arange(300)), y[:300])
    test = data.subset(np.arange(300, 400))
    assert set(model.late_.names_) == {"image", "meta", "text"}
    for drop in (["image"], ["text"], ["text", "image"]):
        degraded = test
        for m in drop:
            degraded = degraded.without(m)
        proba = model.predict_proba(degraded)
        assert proba.shape == (100, 3) and np.allclose(proba.sum(axis=1), 1)
    text_only = classification_metrics(y[300:], model.predict(test.without("image")))["macro_f1"]
    assert text_only > 0.6
    model.save(tmp_path)
    again = FusionModel.load(tmp_path)
    assert np.allclose(again.predict_proba(test), model.predict_proba(test))
    assert again.late_.weights() == model.late_.weights()


def test_pool_never_overrules_a_lone_expert_and_counts_experts_by_weight():
    """A post with one modality gets that expert's opinion, even when the pool weighs the expert 0."""
    text = np.log(np.array([[0.9, 0.1], [0.2, 0.8]]))
    image = np.log(np.array([[0.1, 0.9], [0.1, 0.9]]))
    outputs = np.stack([text, image])
    prior = np.log(np.array([0.99, 0.01]))
    only_text = np.array([[True, False], [True, False]])
    pooled = pool_outputs(outputs, only_text, np.array([0.0, 1.0]), 1.0, prior, "classification")
    assert np.allclose(pooled, text, atol=1e-6)
    both = np.ones((2, 2), bool)
    ignored = pool_outputs(outputs, both, np.array([1.0, 0.0]), 1.0, prior, "classification")
    assert np.allclose(ignored, text, atol=1e-6)  # a zero-weight expert adds no evidence, beta or not
    product = pool_outputs(outputs, both, np.array([0.5, 0.5]), 1.0, np.log(np.array([0.5, 0.5])), "classification")
    expected = text + image
    assert np.allclose(product, expected - np.logaddexp.reduce(expected, axis=1, keepdims=True))
    nobody = pool_outputs(outputs, np.zeros((2, 2), bool), np.array([0.5, 0.5]), 0.0, prior, "classification")
    assert np.allclose(nobody, prior - np.logaddexp.reduce(prior))


def test_simplex_grid_covers_corners_evenest_first():
    grid = simplex_grid(3)
    assert np.allclose(grid.sum(axis=1), 1) and len(grid) == 66
    assert np.allclose(grid[0], [0.3, 0.3, 0.4]) or np.allclose(np.sort(grid[0]), [0.3, 0.3, 0.4])
    assert any(np.allclose(g, [1, 0, 0]) for g in grid)


def test_inner_groups_keep_given_groups_and_identical_media_together(posts):
    data, _y = posts(n=6, missing_image=0.0)
    data.modalities["image"][3] = data.modalities["image"][0]  # post 3 reposts post 0's picture
    groups = LateFusion().inner_groups(data, np.array(["e1", "e2", "e2", "e3", "e4", "e4"], dtype=object))
    assert groups[0] == groups[3] and groups[1] == groups[2] and groups[4] == groups[5]
    assert len(set(groups.tolist())) == 3


def test_late_regression_multilabel_and_auxiliary_popularity(posts):
    data, y = posts(n=300)
    value = (y * 2.0 + np.random.default_rng(0).normal(scale=0.3, size=len(y))).astype(np.float32)
    regressor = FusionModel(fusion="late", task="regression").fit(data, value)
    assert np.corrcoef(regressor.predict(data), value)[0, 1] > 0.7
    multi = np.stack([y == 0, y != 1], axis=1).astype(np.float32)
    tagger = FusionModel(fusion="late", task="multilabel").fit(data, multi)
    assert (tagger.predict(data) == multi).mean() > 0.8
    value[::7] = np.nan  # popularity unknown for some posts
    both = FusionModel(fusion="late").fit(data, y, y_value=value)
    assert both.predict(data).shape == (300,)
    assert np.corrcoef(both.predict_value(data)[~np.isnan(value)], value[~np.isnan(value)])[0, 1] > 0.7


def test_imbalance_methods_weigh_late_experts_by_class(posts):
    data, y = posts(n=600, imbalance=0.25)
    plain = FusionModel(fusion="late").fit(data, y)
    weighted = FusionModel(fusion="late", class_weight="balanced").fit(data, y)
    rare = int(np.argmin(np.bincount(y)))
    assert (weighted.predict(data) == rare).sum() >= (plain.predict(data) == rare).sum()
    assert FusionModel(fusion="late", loss="focal").fit(data, y).predict(data).shape == (600,)


def test_net_duplicate_weighting_and_early_stopping_slice_keep_pictures_whole():
    data, y, picture = reposted_pictures(n_pictures=30, reposts_max=20)
    model = FusionModel(fusion="attention", duplicate_weighting="inverse", **FAST_NET)
    weights = model._row_weights(data, None)
    per_picture = np.bincount(picture, weights=weights)
    assert np.allclose(per_picture, per_picture[0])  # every picture weighs the same in the loss
    fit_rows, val_rows = model._carve_val(data, y, None, np.random.default_rng(0))
    assert not set(picture[fit_rows]) & set(picture[val_rows])
    assert set(np.unique(y[val_rows])) == {0, 1}
    model.fit(data, y)
    assert model.predict(data.without("image")).shape == (len(y),)


def test_config_defaults_to_late_fusion_and_rejects_bad_options():
    config = parse_config({})
    assert config.model.fusion == "late" and config.model.duplicate_weighting == "inverse"
    estimator = build_estimator(parse_config({"model": {"late": {"inner_folds": 3, "joint": True}}}), "classification")
    assert (estimator.fusion, estimator.late_folds, estimator.late_joint) == ("late", 3, True)
    with pytest.raises(ConfigError, match=r"late\.inner_folds"):
        parse_config({"model": {"late": {"inner_folds": 1}}})
    with pytest.raises(ConfigError, match="known keys here: C, inner_folds, joint, metadata, pool"):
        parse_config({"model": {"late": {"folds": 3}}})
    with pytest.raises(ConfigError, match="duplicate_weighting"):
        parse_config({"model": {"duplicate_weighting": "once"}})


def test_joint_network_as_an_expert(posts):
    data, y = posts(n=300)
    model = FusionModel(fusion="late", late_joint=True, late_folds=2, **FAST_NET).fit(data, y)
    assert "joint" in model.late_.weights()
    assert classification_metrics(y, model.predict(data))["macro_f1"] > 0.8
    assert model.predict(data.without("text").without("image")).shape == (300,)


def test_fusion_auto_chooses_by_grouped_inner_cv_and_refits_the_winner(tmp_path):
    """``fusion: auto`` scores each candidate on folds of the training rows only (pictures kept whole),
    keeps the best, refits it on every training row, and saves the choice with the model."""
    data, y, picture = reposted_pictures(n_pictures=36, reposts_max=25)
    train, test = np.flatnonzero(picture < 28), np.flatnonzero(picture >= 28)
    model = FusionModel(
        fusion="auto",
        fusion_candidates=("late-mean", "attention"),
        select_folds=3,
        duplicate_weighting="inverse",
        **FAST_NET,
    )
    model.fit(data.subset(train), y[train], groups=picture[train].astype(str))
    record = model.tuning_
    tried = {entry["params"]["fusion"]: entry for entry in record["candidates"]}
    assert set(tried) == {"late-mean", "attention"} and all(len(e["folds"]) == 3 for e in tried.values())
    best = max(tried, key=lambda name: (round(tried[name]["val"], 4), name == "late-mean"))
    assert record["chosen"] == {"fusion": best} and "training side only" in record["chosen_on"]
    assert model.get_params()["fusion"] == "auto"  # the constructor's value is untouched (scikit-learn contract)
    assert (getattr(model, "late_", None) is not None) == (best == "late-mean")
    held_out = classification_metrics(y[test], model.predict(data.subset(test)))["macro_f1"]
    assert held_out > 0.6  # the text carries the label on unseen pictures
    model.save(tmp_path)
    again = FusionModel.load(tmp_path)
    assert np.allclose(again.predict_proba(data.subset(test)), model.predict_proba(data.subset(test)))


def test_fusion_auto_under_cv_chooses_inside_each_training_fold(tmp_path, monkeypatch, label_workspace):
    """``postlens train --cv 3`` with ``fusion: auto``: every fold reports its own choice, made on rows of
    that fold's training part only; the held-out rows never reach the selection."""
    import postlens.models.fusion as fusion_module
    from postlens.models import trainer
    from postlens.pipeline.train import run_train

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(2, 8)) * 2.0
    posts = []
    for i in range(240):
        cls = int(rng.random() < 0.4)
        posts.append(
            {
                "labels": {"label": ["real", "fake"][cls], "event": f"e{i % 12}"},
                "vector": centres[cls] + rng.normal(size=8),
            }
        )
    key = label_workspace(tmp_path / "ws", posts)
    fits, selections = [], []
    real_fit, real_select = trainer.fit, fusion_module.select_variant

    def spy_fit(config, train, val, **kw):
        fits.append(set(train.data.ids) | set(val.data.ids))
        return real_fit(config, train, val, **kw)

    def spy_select(params, candidates, data, y, **kw):
        selections.append(set(data.ids))
        return real_select(params, candidates, data, y, **kw)

    monkeypatch.setattr(trainer, "fit", spy_fit)
    monkeypatch.setattr(fusion_module, "select_variant", spy_select)
    config = parse_config(
        {
            "name": "m",
            "target": "label",
            "features": {"modalities": {"text": key}, "metadata": False},
            "split": {"strategy": "group", "group_label": "event"},
            "num_threads": 1,
            "model": {
                "kind": "fusion",
                "fusion": "auto",
                "fusion_candidates": ["late-mean", "attention"],
                "select_folds": 2,
                "epochs": 4,
                "width": 16,
            },
            "output": str(tmp_path / "model"),
        }
    )
    report = run_train(config, workspace=tmp_path / "ws", cv=3)
    assert report["tuning"]["chosen"]["fusion"] in ("late-mean", "attention")
    folds = report["cv"]["folds"]
    assert len(folds) == 3 and all(f["tuned"]["fusion"] in ("late-mean", "attention") for f in folds)
    assert len(selections) == len(fits) == 4  # the single split, then one per fold
    for seen, chosen_on in zip(fits, selections):
        assert chosen_on <= seen
    everyone = {f"s:{i:04d}" for i in range(240)}
    for seen, fold in zip(fits[1:], folds):
        assert len(everyone - seen) == fold["sizes"]["test"]


def test_fusion_auto_rejects_unknown_candidates():
    with pytest.raises(ConfigError, match="fusion_candidates"):
        parse_config({"model": {"fusion": "auto", "fusion_candidates": ["late", "bagging"]}})
    with pytest.raises(ConfigError, match="known: late, late-mean, late-joint, attention, concat"):
        FusionModel(fusion="auto", fusion_candidates=("bagging",)).fit(*reposted_pictures(n_pictures=6)[:2])


def test_early_stopping_follows_the_trend_not_one_lucky_early_epoch(posts):
    """A validation figure that jumps at epoch 2 and then climbs past it: training goes on while the
    mean of the last 3 epochs rises and keeps the best epoch's weights (the old rule stopped at epoch 4
    with epoch 2's weights). The figures are scripted; the network, data and loop are real."""
    data, y = posts(n=200)
    script = iter([0.50, 0.80, 0.60, 0.70, 0.75, 0.82, 0.83, 0.70, 0.60, 0.50, 0.40, 0.30])
    model = FusionModel(fusion="attention", epochs=12, patience=2, width=16, num_threads=1, seed=0)
    model._val_score = lambda *args: next(script)
    model.fit(data, y)
    assert model.epochs_run_ == 9
    assert model.best_val_score_ == pytest.approx(0.83)
    assert [round(h["val_trend"], 3) for h in model.history_[:4]] == [0.5, 0.65, 0.633, 0.7]
