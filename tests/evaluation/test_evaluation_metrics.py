"""Figures name classes, give per-class figures and the confusion matrix, and summarise folds."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import f1_score

from postlens.evaluation.metrics import classification_metrics, multilabel_metrics, summarize_folds

CLASSES = ["anger", "joy", "optimism", "sadness"]


def test_names_per_class_and_confusion():
    rng = np.random.default_rng(0)
    y = rng.choice(4, 500, p=[0.4, 0.3, 0.2, 0.1])
    pred = np.where(rng.random(500) < 0.7, y, rng.integers(0, 4, 500))
    m = classification_metrics(y, pred, classes=CLASSES)
    assert m["minority_class"] == "sadness"
    assert list(m["per_class"]) == CLASSES
    for i, name in enumerate(CLASSES):
        figures = m["per_class"][name]
        assert figures["support"] == int((y == i).sum())
        assert figures["recall"] == pytest.approx(((pred == i) & (y == i)).sum() / (y == i).sum())
        assert figures["f1"] == pytest.approx(f1_score(y == i, pred == i))
    matrix = np.array(m["confusion"]["matrix"])
    assert m["confusion"]["labels"] == CLASSES and matrix.sum() == 500
    assert matrix[2, 1] == int(((y == 2) & (pred == 1)).sum())  # rows true, columns predicted
    assert m["macro_f1"] == pytest.approx(np.mean([m["per_class"][c]["f1"] for c in CLASSES]))
    assert "positive_f1" not in m
    json.dumps(m)  # plain Python values only


def test_a_class_never_seen_still_has_a_row():
    m = classification_metrics(np.array([0, 0, 1]), np.array([0, 1, 1]), classes=["a", "b", "c"])
    assert m["per_class"]["c"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert np.array(m["confusion"]["matrix"]).shape == (3, 3)
    assert m["macro_f1"] == pytest.approx((m["per_class"]["a"]["f1"] + m["per_class"]["b"]["f1"]) / 2)  # not / 3
    predicted_absent = classification_metrics(np.array([0, 0, 1]), np.array([0, 2, 1]), classes=["a", "b", "c"])
    assert predicted_absent["macro_f1"] == pytest.approx((2 / 3 + 1 + 0) / 3)  # a false 'c' counts, as F1 0


def test_binary_positive_class():
    y = np.array([0] * 80 + [1] * 20)
    pred = np.array([0] * 75 + [1] * 5 + [1] * 10 + [0] * 10)
    m = classification_metrics(y, pred, classes=["not_hate", "hate"], positive=1)
    assert m["positive_class"] == "hate"
    assert m["positive_f1"] == pytest.approx(f1_score(y, pred, pos_label=1))
    flipped = classification_metrics(y, pred, classes=["not_hate", "hate"], positive=0)
    assert flipped["positive_class"] == "not_hate"
    assert flipped["positive_f1"] == pytest.approx(f1_score(y, pred, pos_label=0))


def test_multilabel_per_class():
    y = np.array([[1, 0], [1, 1], [0, 1], [0, 0]])
    pred = np.array([[1, 0], [0, 1], [0, 1], [1, 0]])
    m = multilabel_metrics(y, pred, classes=["news", "sport"])
    assert m["per_class"]["sport"]["f1"] == 1.0 and m["per_class"]["news"]["support"] == 2


def test_fold_summary_mean_std_and_summed_confusion():
    folds = [
        classification_metrics(np.array([0, 1, 1, 0]), np.array(p), classes=["a", "b"])
        for p in ([0, 1, 1, 0], [0, 1, 0, 0], [1, 1, 0, 0])
    ]
    summary = summarize_folds(folds)
    values = [f["macro_f1"] for f in folds]
    assert summary["mean"]["macro_f1"] == pytest.approx(np.mean(values))
    assert summary["std"]["macro_f1"] == pytest.approx(np.std(values, ddof=1)) and summary["std"]["macro_f1"] > 0
    assert "n" not in summary["mean"] and "minority_class" not in summary["mean"]
    assert summary["per_class"]["b"]["f1"]["mean"] == pytest.approx(np.mean([f["per_class"]["b"]["f1"] for f in folds]))
    assert np.array(summary["confusion"]["matrix"]).sum() == 12
