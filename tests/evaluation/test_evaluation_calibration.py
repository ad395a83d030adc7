"""Reliability bins and ECE: known gaps come out exactly; the predictions-file reader matches them."""

from __future__ import annotations

import numpy as np
import pytest

from postlens.evaluation.calibration import calibration_of_predictions, reliability
from postlens.evaluation.predictions import prediction_table


def test_overconfident_model_has_the_gap_as_ece() -> None:
    confidence = np.full(100, 0.9)
    correct = np.arange(100) < 60  # right 60% of the time at 90% confidence
    out = reliability(confidence, correct)
    assert out["ece"] == pytest.approx(0.3)
    assert out["mce"] == pytest.approx(0.3)
    filled = [b for b in out["bins"] if b["n"]]
    assert len(filled) == 1 and filled[0]["lower"] == pytest.approx(0.9) and filled[0]["accuracy"] == pytest.approx(0.6)


def test_ece_weights_bins_by_their_posts() -> None:
    # 30 posts at 0.25 confidence all wrong (gap 0.25), 70 at 0.75 with 75% right (gap 0)
    confidence = np.r_[np.full(30, 0.25), np.full(70, 0.75)]
    correct = np.r_[np.zeros(30, bool), np.arange(70) < 52.5]
    out = reliability(confidence, correct, bins=4)
    gap_high = abs(53 / 70 - 0.75)
    assert out["ece"] == pytest.approx(0.3 * 0.25 + 0.7 * gap_high)
    assert [b["n"] for b in out["bins"]] == [0, 30, 0, 70]
    assert out["bins"][0]["accuracy"] is None  # empty bins keep their place without figures


def test_confidence_one_falls_in_the_last_bin_and_bad_values_are_refused() -> None:
    out = reliability(np.array([1.0, 0.0]), np.array([True, False]), bins=10)
    assert out["bins"][-1]["n"] == 1 and out["bins"][0]["n"] == 1 and out["ece"] == pytest.approx(0.0)
    with pytest.raises(ValueError, match="probabilities"):
        reliability(np.array([1.2]), np.array([True]))
    with pytest.raises(ValueError, match="probabilities"):
        reliability(np.array([np.nan]), np.array([True]))
    with pytest.raises(ValueError, match="shape"):
        reliability(np.array([0.5, 0.5]), np.array([True]))
    empty = reliability(np.zeros(0), np.zeros(0, bool))
    assert empty["n"] == 0 and empty["ece"] is None


def test_predictions_table_gives_top_label_confidence_and_brier() -> None:
    classes = ["cat", "dog", "eel"]
    proba = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4], [0.5, 0.4, 0.1]])
    y = np.array([0, 1, 0, 1])
    predicted = np.array([0, 1, 2, 0])
    table = prediction_table("classification", ["a", "b", "c", "d"], y, predicted, proba, classes)
    out = calibration_of_predictions(table)
    assert out is not None and out["n"] == 4 and out["skipped"] == 0
    assert out["accuracy"] == pytest.approx(0.5)
    assert out["mean_confidence"] == pytest.approx(np.mean([0.7, 0.8, 0.4, 0.5]))
    onehot = np.eye(3)[y]
    assert out["brier"] == pytest.approx(np.mean(np.sum((proba - onehot) ** 2, axis=1)))
    direct = reliability(np.array([0.7, 0.8, 0.4, 0.5]), predicted == y)
    assert out["ece"] == pytest.approx(direct["ece"])


def test_tables_without_probabilities_or_labels_have_no_calibration() -> None:
    regression = prediction_table("regression", ["a", "b"], np.array([1.0, 2.0]), np.array([1.5, 2.5]), None, [])
    assert calibration_of_predictions(regression) is None
    no_proba = prediction_table("classification", ["a"], np.array([0]), np.array([0]), None, ["x", "y"])
    assert calibration_of_predictions(no_proba) is None
