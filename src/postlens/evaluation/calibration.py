"""Is a classifier's confidence worth its number? Reliability bins and expected calibration error.

A post's confidence is the probability the model gave the label it predicted; it is correct when
that label is the true one. Posts are put in equal-width confidence bins: a calibrated model is
right in about 70% of the posts it gives 0.7. ECE (Guo et al. 2017) is the mean gap between a
bin's accuracy and its mean confidence, weighted by the bin's share of posts. Read from the
``predictions_<side>.parquet`` files ``postlens train`` writes, so the figures describe exactly
the predictions the report's other figures come from.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from postlens.evaluation.predictions import PROBA_PREFIX

DEFAULT_BINS = 10


def reliability(confidence: np.ndarray, correct: np.ndarray, *, bins: int = DEFAULT_BINS) -> dict[str, Any]:
    """Per bin (``bins`` equal widths over [0, 1]): posts, mean confidence, accuracy; and ECE, MCE.

    Empty bins are listed with ``n`` 0 and no figures, so a plot keeps its axis. Confidence values
    outside [0, 1] or not finite are an error: they are not probabilities.
    """
    confidence = np.asarray(confidence, float)
    correct = np.asarray(correct, bool)
    if confidence.shape != correct.shape:
        raise ValueError(f"confidence {confidence.shape} and correct {correct.shape} differ in shape")
    if bins < 1:
        raise ValueError(f"bins must be at least 1, got {bins}")
    if len(confidence) and (not np.isfinite(confidence).all() or confidence.min() < 0 or confidence.max() > 1):
        raise ValueError("confidence values must be probabilities in [0, 1]")
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.searchsorted(edges, confidence, side="right") - 1, 0, bins - 1)  # 1.0 goes in the last bin
    rows: list[dict[str, Any]] = []
    ece, mce = 0.0, 0.0
    for b in range(bins):
        inside = index == b
        n = int(inside.sum())
        row: dict[str, Any] = {
            "lower": float(edges[b]),
            "upper": float(edges[b + 1]),
            "n": n,
            "confidence": None,
            "accuracy": None,
        }
        if n:
            mean_confidence, accuracy = float(confidence[inside].mean()), float(correct[inside].mean())
            row.update(confidence=mean_confidence, accuracy=accuracy)
            gap = abs(accuracy - mean_confidence)
            ece += n / len(confidence) * gap
            mce = max(mce, gap)
        rows.append(row)
    total = len(confidence)
    return {
        "n": int(total),
        "bins": rows,
        "ece": float(ece) if total else None,
        "mce": float(mce) if total else None,
        "accuracy": float(correct.mean()) if total else None,
        "mean_confidence": float(confidence.mean()) if total else None,
    }


def calibration_of_predictions(table: pa.Table, *, bins: int = DEFAULT_BINS) -> dict[str, Any] | None:
    """Reliability of a single-label predictions table (``true_label``, ``predicted_label``, ``proba_<class>``).

    None when the table has no probabilities or is not single-label classification (regression,
    multi-label): there is no top-label confidence to check. Also gives the multi-class Brier score.
    """
    names = table.column_names
    proba_columns = [c for c in names if c.startswith(PROBA_PREFIX)]
    if "true_label" not in names or "predicted_label" not in names or not proba_columns:
        return None
    classes = [c[len(PROBA_PREFIX) :] for c in proba_columns]
    proba = np.column_stack([np.asarray(table[c].to_numpy(zero_copy_only=False), float) for c in proba_columns])
    true = table["true_label"].to_pylist()
    predicted = table["predicted_label"].to_pylist()
    position = {name: i for i, name in enumerate(classes)}
    rows = [i for i, p in enumerate(predicted) if p in position and np.isfinite(proba[i]).all()]
    if not rows:
        return None
    proba = np.clip(proba[rows], 0.0, 1.0)
    confidence = np.array([proba[k, position[predicted[i]]] for k, i in enumerate(rows)])
    correct = np.array([true[i] == predicted[i] for i in rows])
    out = reliability(confidence, correct, bins=bins)
    onehot = np.array([[1.0 if true[i] == c else 0.0 for c in classes] for i in rows])
    out["brier"] = float(np.mean(np.sum((proba - onehot) ** 2, axis=1)))
    out["skipped"] = int(table.num_rows - len(rows))  # a predicted label without its probability column
    return out
