"""Each imbalance method runs and changes the class balance (or the training) as it should."""

from __future__ import annotations

import numpy as np
import pytest

from postlens.errors import ConfigError
from postlens.models.baselines import BaselineModel
from postlens.models.fusion import FusionModel
from postlens.models.imbalance import model_options, resample
from postlens.models.torch_utils import balanced_batches


def test_over_under_smote_balance_classes(posts):
    data, y = posts(n=600, imbalance=0.2)
    counts = np.bincount(y)
    assert counts.max() > 5 * counts.min()
    _over_data, over_y, _ = resample(data, y, "over")
    assert len(set(np.bincount(over_y))) == 1 and np.bincount(over_y)[0] == counts.max()
    _under_data, under_y, _ = resample(data, y, "under")
    assert len(set(np.bincount(under_y))) == 1 and np.bincount(under_y)[0] == counts.min()
    smote_data, smote_y, value = resample(data, y, "smote", y_value=np.zeros(len(y)))
    assert len(set(np.bincount(smote_y))) == 1
    assert len(smote_data) == len(smote_y) == len(value)
    assert np.isnan(value[len(y) :]).all()
    new_rows = smote_data.subset(np.arange(len(y), len(smote_y)))
    assert not np.isin(new_rows.modalities["text"][:, 0], data.modalities["text"][:, 0]).all()
    assert (new_rows.modalities["image"][~new_rows.masks["image"]] == 0).all()


def test_in_training_methods_map_to_options_and_run(posts):
    data, y = posts(n=300, imbalance=0.3)
    for method in ("class_weight", "focal", "balanced_batch"):
        options = model_options(method, "fusion")
        model = FusionModel(epochs=3, width=16, num_threads=1, **options).fit(data, y)
        assert model.predict(data).shape == (300,)
    with pytest.raises(ConfigError, match="neural model"):
        model_options("focal", "logreg")
    assert model_options("class_weight", "logreg") == {"class_weight": "balanced"}
    BaselineModel(kind="logreg", class_weight="balanced").fit(data, y)


def test_balanced_batches_draw_classes_equally():
    y = np.array([0] * 900 + [1] * 100)
    batches = balanced_batches(y, 50, np.random.default_rng(0))
    drawn = y[np.concatenate(batches)]
    assert 0.4 < drawn.mean() < 0.6


def test_class_weight_raises_minority_recall(posts):
    data, y = posts(n=800, imbalance=0.15, seed=5)
    rare = int(np.argmin(np.bincount(y)))
    plain = BaselineModel(kind="logreg", C=0.01).fit(data, y).predict(data)
    weighted = BaselineModel(kind="logreg", C=0.01, class_weight="balanced").fit(data, y).predict(data)
    recall = lambda p: float((p[y == rare] == rare).mean())  # noqa: E731
    assert recall(weighted) >= recall(plain)
