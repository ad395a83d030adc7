"""One place that turns a TrainConfig into a fitted estimator and its figures.

Shared by ``postlens train``, ``--compare-imbalance`` and the bench scripts, so every number in a
report comes from the same code path.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from postlens.errors import ConfigError
from postlens.evaluation.metrics import classification_metrics, multilabel_metrics, regression_metrics
from postlens.models.config import TrainConfig
from postlens.models.data import TrainingSet
from postlens.models.imbalance import model_options, resample


def build_estimator(config: TrainConfig, task: str, imbalance: str | None = None) -> Any:
    method = config.imbalance if imbalance is None else imbalance
    m = config.model
    options = model_options(method, m.kind) if task == "classification" else {}
    if method != "none" and task != "classification":
        raise ConfigError(f"imbalance {method!r} applies to single-label classification, not {task}")
    if m.kind in ("logreg", "lightgbm"):
        from postlens.models.baselines import BaselineModel

        return BaselineModel(kind=m.kind, task=task, C=m.C, n_estimators=m.n_estimators, seed=config.seed,
                             num_threads=config.num_threads, **options)
    if m.kind == "fusion":
        from postlens.models.fusion import FusionModel

        return FusionModel(task=task, width=m.width, fusion=m.fusion, epochs=m.epochs, batch_size=m.batch_size,
                           lr=m.lr, weight_decay=m.weight_decay, dropout=m.dropout,
                           modality_dropout=m.modality_dropout, patience=m.patience, focal_gamma=m.focal_gamma,
                           seed=config.seed, num_threads=config.num_threads,
                           waveform_embed_dim=config.features.waveform.embed_dim,
                           waveform_frontend=config.features.waveform.frontend,
                           duplicate_weighting=m.duplicate_weighting, late_C=m.late.C, late_folds=m.late.inner_folds,
                           late_meta=m.late.metadata, late_joint=m.late.joint, late_pool=m.late.pool, **options)
    from postlens.models.finetune import FineTunedTextModel

    if task != "classification":
        raise ConfigError("model kind 'finetune' supports single-label classification only")
    return FineTunedTextModel(epochs=m.epochs, batch_size=m.batch_size, lr=m.finetune_lr, max_length=m.max_length,
                              seed=config.seed, num_threads=config.num_threads, **options)


def fit(config: TrainConfig, train: TrainingSet, val: TrainingSet, *, imbalance: str | None = None) -> Any:
    """Resample (if the method does), then fit with validation-based early stopping."""
    method = config.imbalance if imbalance is None else imbalance
    estimator = build_estimator(config, train.task, method)
    value = train.y_value if config.model.aux_popularity and train.task != "regression" else None
    data, y, value = resample(train.data, train.y, method, seed=config.seed, y_value=value)
    started = time.perf_counter()
    has_val = len(val.y) > 0  # split.val_size 0: the estimator holds out a random slice of train itself
    if config.model.kind in ("fusion",):
        val_value = val.y_value if value is not None else None
        groups = split_groups(config, train) if len(y) == len(train.y) else None  # None after resampling
        estimator.fit(data, y, y_value=value, val=(val.data, val.y, val_value) if has_val else None, groups=groups)
    else:  # finetune and LightGBM stop early on validation; logreg ignores it
        estimator.fit(data, y, val=(val.data, val.y) if has_val else None)
    estimator.fit_seconds_ = time.perf_counter() - started
    return estimator


def split_groups(config: TrainConfig, train: TrainingSet) -> Any:
    """The groups the split keeps whole (events, authors), for the model's own inner splits; None otherwise."""
    strategy = config.split.strategy
    return train.groups.get("author" if strategy == "author" else "group") if strategy in ("author", "group") else None


def evaluate(estimator: Any, test: TrainingSet) -> dict[str, Any]:
    if test.task == "classification":
        return classification_metrics(test.y, estimator.predict(test.data), len(test.classes))
    if test.task == "multilabel":
        return multilabel_metrics(test.y, estimator.predict(test.data))
    return regression_metrics(test.y, estimator.predict(test.data))


def degradation(estimator: Any, test: TrainingSet) -> dict[str, dict[str, Any]]:
    """Figures with each modality removed at test time: how gracefully the model copes."""
    out = {}
    for modality in sorted(set(test.data.modalities) | set(test.data.waveforms)):
        if not test.data.masks[modality].any():
            continue
        dropped = TrainingSet(data=test.data.without(modality), y=test.y, task=test.task, classes=test.classes)
        out[f"without_{modality}"] = evaluate(estimator, dropped)
    return out


def class_stratify_key(train: TrainingSet) -> np.ndarray | None:
    return train.y if train.task == "classification" else None
