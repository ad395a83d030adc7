"""Imbalance methods, all behind one name so ``--compare-imbalance`` can run them side by side.

Resampling (over, under, SMOTE) changes the training rows; class weights, focal loss and
balanced batches change how the model is trained on the same rows (see ``model_options``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from postlens.errors import ConfigError
from postlens.models.config import IMBALANCE_METHODS
from postlens.models.inputs import PostData

RESAMPLING = ("over", "under", "smote")


def resample(
    data: PostData, y: np.ndarray, method: str, *, seed: int = 0, y_value: np.ndarray | None = None
) -> tuple[PostData, np.ndarray, np.ndarray | None]:
    """Rows to train on under ``method``; other methods return the input unchanged.

    Over/under-sampling pick existing rows (sequences and texts follow along); SMOTE interpolates
    new rows between neighbours of the same class in the flat embedding space.
    """
    if method not in IMBALANCE_METHODS:
        raise ConfigError(f"unknown imbalance method {method!r}; known: {', '.join(IMBALANCE_METHODS)}")
    if method not in RESAMPLING:
        return data, y, y_value
    y = np.asarray(y)
    if y.ndim != 1:
        raise ConfigError(f"imbalance method {method!r} needs single-label classification, not multi-label")
    if method in ("over", "under"):
        from imblearn.over_sampling import RandomOverSampler
        from imblearn.under_sampling import RandomUnderSampler

        sampler = (RandomOverSampler if method == "over" else RandomUnderSampler)(random_state=seed)
        rows, _ = sampler.fit_resample(np.arange(len(y)).reshape(-1, 1), y)
        rows = rows.ravel()
        return data.subset(rows), y[rows], None if y_value is None else y_value[rows]
    from imblearn.over_sampling import SMOTE

    counts = np.bincount(y)
    smallest = int(counts[counts > 0].min())
    if smallest < 2:
        raise ConfigError("SMOTE needs at least 2 examples of every class; use 'over' or drop the class")
    names = sorted(data.modalities)
    smote = SMOTE(random_state=seed, k_neighbors=min(5, smallest - 1))
    flat, y_new = smote.fit_resample(data.flat(names), y)
    resampled = PostData.from_flat(flat, data, names)
    n_orig = len(y)
    resampled.masks = {m: np.concatenate([data.masks[m], resampled.masks[m][n_orig:]]) for m in names}
    for m in names:  # keep original rows exact (flat() zeroed absent rows; they stay zero)
        resampled.modalities[m][:n_orig] = data.modalities[m] * data.masks[m][:, None]
    n_new = len(y_new) - n_orig  # synthetic rows have no frames / waveform: those tokens are missing
    resampled.sequences = {m: list(s) + [None] * n_new for m, s in data.sequences.items()}
    resampled.waveforms = {m: list(w) + [None] * n_new for m, w in data.waveforms.items()}
    for m in data.waveforms:
        resampled.masks[m] = np.concatenate([data.masks[m], np.zeros(n_new, bool)])
    value = None if y_value is None else np.concatenate([y_value, np.full(len(y_new) - n_orig, np.nan)])
    return resampled, y_new, value


def model_options(method: str, kind: str) -> dict[str, Any]:
    """Estimator keyword arguments for in-training methods; which ones a model kind supports."""
    if method in ("none", *RESAMPLING):
        return {}
    if method == "class_weight":
        return {"class_weight": "balanced"}
    if kind not in ("fusion", "finetune"):
        raise ConfigError(
            f"imbalance {method!r} needs a neural model (fusion or finetune), not {kind!r}; "
            "use over, under, smote or class_weight with baselines"
        )
    if method == "focal":
        return {"loss": "focal"}
    return {"sampler": "balanced"}


def supported_methods(kind: str) -> list[str]:
    """Methods ``kind`` trains with; sgd streams its rows, so none that resamples them in memory."""
    if kind == "sgd":
        return ["none", "class_weight"]
    return [m for m in IMBALANCE_METHODS if kind in ("fusion", "finetune") or m not in ("focal", "balanced_batch")]
