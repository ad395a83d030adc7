"""Fusion network: works with any modality missing, uses its missing token, is deterministic."""

from __future__ import annotations

import numpy as np
import pytest

from postlens.evaluation.metrics import classification_metrics
from postlens.models.fusion import FusionModel

FAST = dict(epochs=12, batch_size=64, width=32, patience=20, seed=3, num_threads=1)


@pytest.mark.parametrize("fusion", ["attention", "concat"])
def test_fusion_learns_and_survives_any_missing_modality(posts, fusion):
    data, y = posts(n=500)
    train, test = np.arange(400), np.arange(400, 500)
    model = FusionModel(fusion=fusion, **FAST).fit(data.subset(train), y[train])
    full = classification_metrics(y[test], model.predict(data.subset(test)))["macro_f1"]
    assert full > 0.8
    for drop in (["image"], ["text"], ["text", "image"]):
        degraded = data.subset(test)
        for m in drop:
            degraded = degraded.without(m)
        predicted = model.predict(degraded)
        assert predicted.shape == (100,)
        if drop == ["image"]:  # text alone still carries the class
            assert classification_metrics(y[test], predicted)["macro_f1"] > 0.6


def test_missing_token_replaces_absent_modality(posts):
    """An absent image gives the same output whatever numbers sit in its (masked) row."""
    data, y = posts(n=200)
    model = FusionModel(**FAST).fit(data, y)
    absent = data.subset(np.arange(20)).without("image")
    garbage = absent.subset(np.arange(20))
    garbage.modalities["image"] = np.full_like(garbage.modalities["image"], 99.0)
    assert np.allclose(model.predict_proba(absent), model.predict_proba(garbage), atol=1e-6)
    import torch

    tokens = model.net_.tokens(
        {"image": torch.zeros(1, 24), "text": torch.zeros(1, 16)},
        {"image": torch.tensor([False]), "text": torch.tensor([True])},
        torch.zeros(1, 2),
    )
    expected = model.net_.missing["image"] + model.net_.kind["image"]
    image_slot = model.net_.names.index("image")
    assert torch.allclose(tokens[0, image_slot], expected)


def test_modality_dropout_hides_present_modalities_during_training(posts):
    import torch

    data, _y = posts(n=100, missing_image=0.0)
    model = FusionModel(modality_dropout=0.5, **FAST)
    model.net_ = model._build(data, 3, regression=False)
    tensors = model._tensors(data)
    generator = torch.Generator().manual_seed(0)
    batch = model._batch(tensors, torch.arange(100), generator, train=True)
    dropped = (~batch["masks"]["image"]).float().mean().item()
    assert 0.3 < dropped < 0.7
    assert model._batch(tensors, torch.arange(100), generator, train=False)["masks"]["image"].all()


def test_same_seed_same_predictions(posts):
    data, y = posts(n=300)
    first = FusionModel(**FAST).fit(data, y).predict_proba(data)
    second = FusionModel(**FAST).fit(data, y).predict_proba(data)
    assert np.array_equal(first, second)
    other = FusionModel(**{**FAST, "seed": 4}).fit(data, y).predict_proba(data)
    assert not np.array_equal(first, other)


def test_multitask_regression_head_and_regression_task(posts):
    data, y = posts(n=300)
    value = (y * 2.0 + np.random.default_rng(0).normal(scale=0.3, size=len(y))).astype(np.float32)
    model = FusionModel(**FAST).fit(data, y, y_value=value)
    assert model.predict_value(data).shape == (300,)
    assert np.corrcoef(model.predict_value(data), value)[0, 1] > 0.7
    regressor = FusionModel(task="regression", **FAST).fit(data, value)
    assert np.corrcoef(regressor.predict(data), value)[0, 1] > 0.7


def test_multilabel(posts):
    data, y = posts(n=300)
    multi = np.stack([y == 0, y != 1], axis=1).astype(np.float32)
    model = FusionModel(task="multilabel", **FAST).fit(data, multi)
    predicted = model.predict(data)
    assert predicted.shape == (300, 2)
    assert (predicted == multi).mean() > 0.8


def test_temporal_encoder_runs_on_sequences(posts):
    data, y = posts(n=120)
    rng = np.random.default_rng(0)
    data.sequences["image"] = [
        rng.normal(size=(rng.integers(2, 6), 24)).astype(np.float32) + y[i] if data.masks["image"][i] else None
        for i in range(120)
    ]
    model = FusionModel(**{**FAST, "epochs": 3}).fit(data, y)
    assert "image" in model.net_.temporal
    assert model.predict(data.without("image")).shape == (120,)
