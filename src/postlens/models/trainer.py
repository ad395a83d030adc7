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
                           waveform_frontend=config.features.waveform.frontend, **options)
    if task != "classification":
        raise ConfigError(f"model kind {m.kind!r} supports single-label classification only")
    schedule = {k: getattr(m, k) for k in ("layer_decay", "warmup", "schedule", "freeze_embeddings")
                if getattr(m, k) is not None}
    if m.kind == "ensemble":  # fine-tuned MiniLM + a linear model on frozen features (models/ensemble.py)
        from postlens.models.ensemble import TextEnsembleModel

        given = {"epochs": "epochs", "batch_size": "batch_size", "finetune_lr": "lr", "max_length": "max_length"}
        chosen = {param: getattr(m, key) for key, param in given.items() if key in m.model_fields_set}
        return TextEnsembleModel(seed=config.seed, num_threads=config.num_threads, **chosen, **schedule, **options)
    from postlens.models.finetune import FineTunedTextModel

    return FineTunedTextModel(epochs=m.epochs, batch_size=m.batch_size, lr=m.finetune_lr, max_length=m.max_length,
                              seed=config.seed, num_threads=config.num_threads, **schedule, **options)


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
        estimator.fit(data, y, y_value=value, val=(val.data, val.y, val_value) if has_val else None)
    else:  # finetune and LightGBM stop early on validation, the ensemble chooses on it; logreg ignores it
        estimator.fit(data, y, val=(val.data, val.y) if has_val else None)
    estimator.fit_seconds_ = time.perf_counter() - started
    return estimator


def score(task: str, y: np.ndarray, predicted: np.ndarray, classes: list[str], *,
          positive: int | None = None) -> dict[str, Any]:
    """The figures for ``task`` from true and predicted values (class names for classifiers)."""
    if task == "classification":
        return classification_metrics(y, predicted, classes=classes, positive=positive)
    if task == "multilabel":
        return multilabel_metrics(y, predicted, classes=classes)
    return regression_metrics(y, predicted)


def predict_side(estimator: Any, side: TrainingSet) -> tuple[np.ndarray, np.ndarray | None]:
    """Predictions and, for classifiers, one probability per class (None when the model has none)."""
    if len(side.y) == 0:
        return np.asarray(side.y[:0]), None
    predicted = np.asarray(estimator.predict(side.data))
    proba = None
    if side.task != "regression" and hasattr(estimator, "predict_proba"):
        proba = np.asarray(estimator.predict_proba(side.data), float)
    return predicted, proba


def evaluate(estimator: Any, test: TrainingSet, *, positive: int | None = None) -> dict[str, Any]:
    if len(test.y) == 0:
        return {"n": 0}
    return score(test.task, test.y, estimator.predict(test.data), test.classes, positive=positive)


def degradation(estimator: Any, test: TrainingSet, *, positive: int | None = None) -> dict[str, dict[str, Any]]:
    """Figures with each modality removed at test time: how gracefully the model copes."""
    out = {}
    for modality in sorted(set(test.data.modalities) | set(test.data.waveforms)):
        if not test.data.masks[modality].any():
            continue
        dropped = TrainingSet(data=test.data.without(modality), y=test.y, task=test.task, classes=test.classes)
        out[f"without_{modality}"] = evaluate(estimator, dropped, positive=positive)
    return out


def positive_index(config: TrainConfig, data: TrainingSet) -> int | None:
    """The class a binary report's positive F1 is about: ``positive_class`` or the rarer class
    among the labelled posts (ties: index 1, scikit-learn's pos_label). None unless binary."""
    if data.task != "classification" or len(data.classes) != 2:
        if config.positive_class is not None:
            raise ConfigError(f"positive_class applies to two-class targets; {config.target!r} is {data.task} "
                              f"with classes {data.classes}")
        return None
    if config.positive_class is not None:
        if config.positive_class not in data.classes:
            raise ConfigError(f"positive_class {config.positive_class!r} is not a class of {config.target!r}; "
                              f"classes: {data.classes}")
        return data.classes.index(config.positive_class)
    counts = np.bincount(np.asarray(data.y, int), minlength=2)
    return 0 if counts[0] < counts[1] else 1


def model_warnings(estimator: Any, sides: dict[str, tuple[TrainingSet, np.ndarray]]) -> list[str]:
    """What the estimator flagged while fitting, and any side on which it predicts one class only."""
    out = list(getattr(estimator, "warnings_", []) or [])
    for name, (side, predicted) in sides.items():
        if side.task != "classification" or len(predicted) < 2:
            continue
        values = np.unique(predicted)
        if len(values) == 1 and len(np.unique(side.y)) > 1:
            out.append(f"the model predicts one class ({side.classes[int(values[0])]!r}) for every {name} post")
    return out


def class_stratify_key(train: TrainingSet) -> np.ndarray | None:
    return train.y if train.task == "classification" else None
