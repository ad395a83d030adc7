"""The figures every model is judged by, the same for baselines, fusion and students.

Classification figures name classes, never indices: a reader sees ``anger`` recall 0.41, not
class 0. Every value is a plain Python number, string, list or dict so a report is JSON as is.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from scipy.stats import spearmanr
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    mean_absolute_error,
    precision_recall_fscore_support,
)

SCALAR_SKIP = ("n",)  # counts, not figures to average across folds


def classification_metrics(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    n_classes: int | None = None,
    *,
    classes: list[str] | None = None,
    positive: int | None = None,
) -> dict[str, Any]:
    """Macro-F1 (every class counts), balanced accuracy, accuracy, recall of the rarest class,
    per-class precision / recall / F1 / support and the confusion matrix (rows true, columns predicted).

    ``classes`` names the class indices (``n_classes`` is implied by it). "Minority" is the rarest
    class in ``y_true``: the one imbalance methods are meant to help. For two classes, ``positive``
    (default: index 1, scikit-learn's convention) adds ``positive_f1`` / precision / recall.

    Macro-F1 averages the classes that occur in ``y_true`` or ``y_pred``: a class absent from a small
    validation side and never predicted has no F1 to count (as 0 it would sink the average for
    nothing); a class predicted but absent counts, with F1 0. ``per_class`` lists every class.
    """
    y_true, y_pred = np.asarray(y_true).astype(int), np.asarray(y_pred).astype(int)
    if classes is not None:
        n_classes = len(classes)
    labels = np.arange(n_classes) if n_classes else np.unique(np.concatenate([y_true, y_pred]))
    names = list(classes) if classes is not None else [str(int(i)) for i in labels]
    if len(y_true) == 0:
        return {"n": 0}
    present, counts = np.unique(y_true, return_counts=True)
    minority = int(present[np.argmin(counts)])
    with warnings.catch_warnings():  # a small validation set may lack a predicted class
        warnings.simplefilter("ignore", UserWarning)
        balanced = float(balanced_accuracy_score(y_true, y_pred))
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    per_class = {
        names[i]: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i in range(len(labels))
    }
    out: dict[str, Any] = {
        "macro_f1": float(
            f1_score(y_true, y_pred, average="macro", labels=np.union1d(y_true, y_pred), zero_division=0)
        ),
        "balanced_accuracy": balanced,
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "minority_recall": per_class[names[int(np.flatnonzero(labels == minority)[0])]]["recall"],
        "minority_class": names[int(np.flatnonzero(labels == minority)[0])],
    }
    if len(labels) == 2:
        index = 1 if positive is None else int(positive)
        out.update(
            positive_class=names[index],
            positive_f1=float(f1[index]),
            positive_precision=float(precision[index]),
            positive_recall=float(recall[index]),
        )
    out["n"] = int(len(y_true))
    out["per_class"] = per_class
    out["confusion"] = {"labels": names, "matrix": confusion_matrix(y_true, y_pred, labels=labels).astype(int).tolist()}
    return out


def multilabel_metrics(y_true: np.ndarray, y_pred: np.ndarray, classes: list[str] | None = None) -> dict[str, Any]:
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    out: dict[str, Any] = {
        "macro_f1": float(f1_score(y_true, y_pred, average="macro", zero_division=0)),
        "micro_f1": float(f1_score(y_true, y_pred, average="micro", zero_division=0)),
        "n": int(len(y_true)),
    }
    if len(y_true):
        names = list(classes) if classes is not None else [str(i) for i in range(y_true.shape[1])]
        precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, zero_division=0)
        out["per_class"] = {
            names[i]: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i in range(len(names))
        }
    return out


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, Any]:
    """Spearman (does the model rank posts right?) and MAE in the target's (log) units."""
    y_true, y_pred = np.asarray(y_true, float), np.asarray(y_pred, float)
    if len(y_true) == 0:
        return {"n": 0}
    rho = spearmanr(y_true, y_pred).statistic if np.std(y_pred) > 0 and np.std(y_true) > 0 else 0.0
    return {
        "spearman": float(rho),
        "mae": float(mean_absolute_error(y_true, y_pred)),
        "rmse": float(np.sqrt(np.mean((y_true - y_pred) ** 2))),
        "n": int(len(y_true)),
    }


def summarize_folds(per_fold: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean and sample standard deviation (ddof=1) of every numeric figure across folds.

    Per-class F1 / precision / recall are summarised per class name; confusion matrices are summed,
    which for disjoint held-out folds is the matrix of every post predicted once.
    """
    scalars = sorted(
        {
            k
            for f in per_fold
            for k, v in f.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and k not in SCALAR_SKIP
        }
    )
    out: dict[str, Any] = {"mean": {}, "std": {}}
    for key in scalars:
        values = np.array([f[key] for f in per_fold if key in f], float)
        out["mean"][key] = float(values.mean())
        out["std"][key] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    names = [n for f in per_fold for n in f.get("per_class", {})]
    if names:
        out["per_class"] = {}
        for name in dict.fromkeys(names):
            figures: dict[str, Any] = {}
            for key in ("precision", "recall", "f1"):
                values = np.array([f["per_class"][name][key] for f in per_fold if name in f.get("per_class", {})])
                figures[key] = {
                    "mean": float(values.mean()),
                    "std": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
                }
            figures["support"] = int(
                sum(f["per_class"][name]["support"] for f in per_fold if name in f.get("per_class", {}))
            )
            out["per_class"][name] = figures
    confusions = [f["confusion"] for f in per_fold if "confusion" in f]
    if confusions:
        total = np.sum([np.asarray(c["matrix"]) for c in confusions], axis=0)
        out["confusion"] = {"labels": confusions[0]["labels"], "matrix": total.astype(int).tolist()}
    return out
