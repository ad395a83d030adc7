"""The figures every model is judged by, the same for baselines, fusion and students."""

from __future__ import annotations

import warnings

import numpy as np
from scipy.stats import spearmanr
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    f1_score,
    mean_absolute_error,
    recall_score,
)


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int | None = None) -> dict[str, float]:
    """Macro-F1 (every class counts), balanced accuracy, accuracy and recall of the rarest class.

    "Minority" is the rarest class in ``y_true``: the one imbalance methods are meant to help.
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    labels = np.arange(n_classes) if n_classes else np.unique(np.concatenate([y_true, y_pred]))
    present, counts = np.unique(y_true, return_counts=True)
    minority = int(present[np.argmin(counts)])
    with warnings.catch_warnings():  # a small validation set may lack a predicted class
        warnings.simplefilter("ignore", UserWarning)
        balanced = float(balanced_accuracy_score(y_true, y_pred))
    return {
        "macro_f1": float(f1_score(y_true, y_pred, average="macro", labels=labels, zero_division=0)),
        "balanced_accuracy": balanced,
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "minority_recall": float(recall_score(y_true, y_pred, labels=[minority], average="macro", zero_division=0)),
        "minority_class": minority,
        "n": int(len(y_true)),
    }


def multilabel_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    return {
        "macro_f1": float(f1_score(y_true, y_pred, average="macro", zero_division=0)),
        "micro_f1": float(f1_score(y_true, y_pred, average="micro", zero_division=0)),
        "n": int(len(y_true)),
    }


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """Spearman (does the model rank posts right?) and MAE in the target's (log) units."""
    y_true, y_pred = np.asarray(y_true, float), np.asarray(y_pred, float)
    rho = spearmanr(y_true, y_pred).statistic if np.std(y_pred) > 0 and np.std(y_true) > 0 else 0.0
    return {
        "spearman": float(rho),
        "mae": float(mean_absolute_error(y_true, y_pred)),
        "rmse": float(np.sqrt(np.mean((y_true - y_pred) ** 2))),
        "n": int(len(y_true)),
    }
