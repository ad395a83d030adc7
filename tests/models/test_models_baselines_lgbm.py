"""LightGBM baseline: early stopping on validation, thread count capped to idle cores, same trees at any thread count."""

from __future__ import annotations

import numpy as np

from postlens.models import baselines
from postlens.models.baselines import BaselineModel, idle_threads


def test_lightgbm_stops_early_on_validation(posts):
    data, y = posts(n=500)
    train, val = np.arange(400), np.arange(400, 500)
    model = BaselineModel(kind="lightgbm", n_estimators=400, early_stopping_rounds=10, num_threads=1)
    model.fit(data.subset(train), y[train], val=(data.subset(val), y[val]))
    assert 1 <= model.epochs_run_ < 400
    assert (model.predict(data.subset(val)) == y[val]).mean() > 0.8
    full = BaselineModel(kind="lightgbm", n_estimators=40, num_threads=1).fit(data.subset(train), y[train])
    assert full.estimator_.n_estimators_ == 40  # no validation: every round runs


def test_lightgbm_same_model_at_one_and_two_threads(posts, monkeypatch):
    monkeypatch.setattr(baselines, "idle_threads", lambda requested: requested)
    data, y = posts(n=300)
    one = BaselineModel(kind="lightgbm", n_estimators=30, num_threads=1).fit(data, y)
    two = BaselineModel(kind="lightgbm", n_estimators=30, num_threads=2).fit(data, y)
    assert two.threads_used_ == 2
    assert np.array_equal(one.predict_proba(data), two.predict_proba(data))


def test_idle_threads_stays_between_one_and_request():
    assert idle_threads(1) == 1
    assert 1 <= idle_threads(64, window=0.05) <= 64


def test_lightgbm_one_tree_early_stop_warns_and_refits_on_every_round(posts):
    """Validation labels that contradict training make the first tree the best: that model predicts the
    majority class for every post. It is refitted without early stopping, with a warning."""
    data, y = posts(n=500, n_classes=2, seed=1)
    train, val = np.arange(400), np.arange(400, 500)
    model = BaselineModel(kind="lightgbm", n_estimators=50, num_threads=1)
    model.fit(data.subset(train), y[train], val=(data.subset(val), 1 - y[val]))
    assert len(model.warnings_) == 1 and "after 1 tree(s)" in model.warnings_[0]
    assert model.estimator_.n_estimators_ == 50
    assert len(np.unique(model.predict(data.subset(val)))) == 2
    honest = BaselineModel(kind="lightgbm", n_estimators=400, num_threads=1)
    honest.fit(data.subset(train), y[train], val=(data.subset(val), y[val]))
    assert honest.warnings_ == [] and honest.epochs_run_ < 400


def test_lightgbm_warning_survives_save_and_load(posts, tmp_path):
    data, y = posts(n=300, n_classes=2, seed=1)
    model = BaselineModel(kind="lightgbm", n_estimators=20, num_threads=1)
    model.fit(data.subset(np.arange(250)), y[:250], val=(data.subset(np.arange(250, 300)), 1 - y[250:]))
    model.save(tmp_path)
    assert BaselineModel.load(tmp_path).warnings_ == model.warnings_ != []
