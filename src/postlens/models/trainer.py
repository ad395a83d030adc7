"""One place that turns a TrainConfig into a fitted estimator and its figures.

Shared by ``postlens train``, ``--compare-imbalance`` and the bench scripts, so every number in a
report comes from the same code path.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from postlens.errors import ConfigError
from postlens.evaluation.metrics import classification_metrics, multilabel_metrics, regression_metrics
from postlens.evaluation.splits import duplicate_groups
from postlens.models.config import BLOCK_SEPARATOR, TUNED_DEFAULTS, UNSCALED_ENCODERS, TrainConfig
from postlens.models.data import TrainingSet
from postlens.models.imbalance import model_options, resample, supported_methods
from postlens.models.inputs import PostData
from postlens.models.tuning import TUNED, choose, plan, selection_metric, val_score

EpochCallback = Callable[[dict[str, Any]], None]
"""Called after each epoch of a model that reports them: {"epoch", "epochs", "seconds", "train_loss", "val", "metric", "best"}."""


def build_estimator(
    config: TrainConfig, task: str, imbalance: str | None = None, *, params: dict[str, Any] | None = None
) -> Any:
    """The estimator ``config`` describes; ``params`` (tuned baseline hyper-parameters) override the config's.
    Tfidf / word2vec text blocks wrap it in ``FittedTextFeatures`` (fitted on the training texts)."""
    method = config.imbalance if imbalance is None else imbalance
    estimator = _model(config, task, _options(config, task, method), params or {})
    fitted = fitted_blocks(config)
    if not fitted:
        return estimator
    if config.model.kind == "sgd":
        raise ConfigError(
            f"model kind 'sgd' reads cached vectors batch by batch; {sorted(fitted.values())} are fitted on every "
            "training text at once: drop them from features.modalities.text, or use logreg"
        )
    if config.model.kind in ("finetune", "ensemble"):
        raise ConfigError(
            f"model kind {config.model.kind!r} reads raw text itself; drop {sorted(fitted.values())} from "
            "features.modalities.text"
        )
    from postlens.models.fitted_text import FittedTextFeatures

    return FittedTextFeatures(estimator=estimator, encoders=fitted, seed=config.seed, num_threads=config.num_threads)


def _options(config: TrainConfig, task: str, method: str) -> dict[str, Any]:
    """Estimator arguments of an imbalance method (class weights, focal loss...)."""
    if method != "none" and task != "classification":
        raise ConfigError(f"imbalance {method!r} applies to single-label classification, not {task}")
    return model_options(method, config.model.kind) if task == "classification" else {}


def fitted_blocks(config: TrainConfig) -> dict[str, str]:
    """block -> fitted text encoder (tfidf, word2vec) of ``config``."""
    return {b.name: b.encoder for b in config.features.blocks() if b.fitted}


def _model(config: TrainConfig, task: str, options: dict[str, Any], params: dict[str, Any]) -> Any:
    m = config.model
    if m.kind in ("logreg", "lightgbm"):
        from postlens.models.baselines import BaselineModel

        unscaled = tuple(b.name for b in config.features.blocks() if b.encoder in UNSCALED_ENCODERS)
        return BaselineModel(
            kind=m.kind,
            task=task,
            n_estimators=m.n_estimators,
            seed=config.seed,
            num_threads=config.num_threads,
            unscaled=unscaled,
            **_baseline_params(m, params),
            **options,
        )
    if m.kind == "fusion":
        from postlens.models.fusion import FusionModel

        fusion = m.fusion
        if fusion == "late" and "fusion" not in m.model_fields_set and config.features.waveform.enabled:
            fusion = "attention"  # the default, late, reads vectors; raw waveforms train end to end in the network
        return FusionModel(
            task=task,
            width=m.width,
            fusion=fusion,
            epochs=m.resolved_epochs,
            batch_size=m.batch_size,
            lr=m.lr,
            weight_decay=m.weight_decay,
            dropout=m.dropout,
            modality_dropout=m.modality_dropout,
            patience=max(m.patience, m.min_epochs),
            focal_gamma=m.focal_gamma,
            seed=config.seed,
            num_threads=config.num_threads,
            waveform_embed_dim=config.features.waveform.embed_dim,
            waveform_frontend=config.features.waveform.frontend,
            duplicate_weighting=m.duplicate_weighting,
            late_C=m.late.C,
            late_folds=m.late.inner_folds,
            late_meta=m.late.metadata,
            late_joint=m.late.joint,
            late_pool=m.late.pool,
            fusion_candidates=tuple(m.fusion_candidates),
            select_folds=m.select_folds,
            **options,
        )
    if m.kind == "sgd":
        from postlens.models.sgd import TASKS, StreamedLinearModel

        if task not in TASKS:
            raise ConfigError(f"model kind 'sgd' supports {' and '.join(TASKS)}, not {task}; use logreg for {task}")
        return StreamedLinearModel(
            task=task,
            alpha=m.alpha,
            epochs=m.resolved_epochs,
            batch_size=m.stream_batch_size,
            seed=config.seed,
            num_threads=config.num_threads,
            **options,
        )
    if task != "classification":
        raise ConfigError(f"model kind {m.kind!r} supports single-label classification only")
    schedule = {
        k: getattr(m, k)
        for k in ("layer_decay", "warmup", "schedule", "freeze_embeddings")
        if getattr(m, k) is not None
    }
    if m.kind == "ensemble":  # fine-tuned MiniLM + a linear model on frozen features (models/ensemble.py)
        from postlens.models.ensemble import TextEnsembleModel

        given = {"epochs": "epochs", "batch_size": "batch_size", "finetune_lr": "lr", "max_length": "max_length"}
        chosen = {param: getattr(m, key) for key, param in given.items() if key in m.model_fields_set}
        return TextEnsembleModel(seed=config.seed, num_threads=config.num_threads, **chosen, **schedule, **options)
    from postlens.models.finetune import FineTunedTextModel

    return FineTunedTextModel(
        epochs=m.resolved_epochs,
        batch_size=m.batch_size,
        lr=m.finetune_lr,
        max_length=m.max_length,
        seed=config.seed,
        num_threads=config.num_threads,
        **schedule,
        **options,
    )


def _baseline_params(m: Any, params: dict[str, Any]) -> dict[str, Any]:
    """The config's values (defaults where left to tuning), then the tuned ones."""
    names = TUNED[m.kind]
    out = {n: getattr(m, n) if getattr(m, n) is not None else TUNED_DEFAULTS[n] for n in names}
    return out | {k: v for k, v in params.items() if k in names}


def fit(
    config: TrainConfig,
    train: TrainingSet,
    val: TrainingSet,
    *,
    imbalance: str | None = None,
    on_epoch: EpochCallback | None = None,
) -> Any:
    """Resample (if the method does), then fit with validation-based early stopping.

    Baselines try ``model.grid`` on the validation side (``models/tuning.py``); the estimator's
    ``tuning_`` records the grid and the choice. ``on_epoch`` reaches models whose ``fit`` takes it
    (fine-tuning; fusion once it reports epochs)."""
    method = config.imbalance if imbalance is None else imbalance
    if method == "smote" and fitted_blocks(config):
        raise ConfigError(
            "imbalance 'smote' makes synthetic posts without text, and tfidf / word2vec blocks are "
            "computed from text: use over or class_weight"
        )
    if train.stream is not None:
        return _fit_streamed(config, train, method)
    value = train.y_value if config.model.aux_popularity and train.task != "regression" else None
    data, y, value = resample(train.data, train.y, method, seed=config.seed, y_value=value)
    started = time.perf_counter()
    has_val = len(val.y) > 0  # split.val_size 0: the estimator holds out a random slice of train itself
    if config.model.kind in TUNED:
        estimator = _fit_tuned(config, train.task, method, data, y, val if has_val else None)
    else:
        estimator = build_estimator(config, train.task, method)
        extra: dict[str, Any] = {}
        if on_epoch is not None and "on_epoch" in inspect.signature(estimator.fit).parameters:
            extra["on_epoch"] = on_epoch
        if config.model.kind == "fusion":
            val_value = val.y_value if value is not None else None
            groups = split_groups(config, train) if len(y) == len(train.y) else None  # None after resampling
            estimator.fit(
                data, y, y_value=value, val=(val.data, val.y, val_value) if has_val else None, groups=groups, **extra
            )
        else:  # finetune stops early on validation, the ensemble chooses on it
            estimator.fit(data, y, val=(val.data, val.y) if has_val else None, **extra)
    estimator.fit_seconds_ = time.perf_counter() - started
    return estimator


def _fit_streamed(config: TrainConfig, train: TrainingSet, method: str) -> Any:
    """Fit on batches read from the feature cache (``train.stream``): the vectors are never all loaded."""
    from postlens.models.imbalance import RESAMPLING

    source = train.stream
    assert source is not None
    if config.model.kind != "sgd":
        raise ConfigError(f"only model kind 'sgd' trains on streamed vectors, not {config.model.kind!r}")
    if method in RESAMPLING:
        raise ConfigError(
            f"imbalance {method!r} resamples rows held in memory; a streamed model supports "
            f"{', '.join(supported_methods('sgd'))}"
        )
    estimator = build_estimator(config, train.task, method)
    size, y = config.model.stream_batch_size, train.y

    started = time.perf_counter()
    with source.materialized() as scratch:  # one pass over the cache; the batches read the scratch file

        def batches(number: int) -> Any:  # pass 0 (scaling) in order; each epoch in its own seeded order
            for rows, data in scratch.batches(size, seed=None if number == 0 else [config.seed, number]):
                yield data, y[rows]

        estimator.fit_batches(batches, n_classes=len(train.classes) if train.task == "classification" else None)
    estimator.fit_seconds_ = time.perf_counter() - started
    return estimator


def split_groups(config: TrainConfig, train: TrainingSet) -> Any:
    """The groups the split keeps whole (events, authors), for the model's own inner splits; None otherwise."""
    strategy = config.split.strategy
    if strategy == "duplicates" and "clusters" in train.groups:
        return duplicate_groups(train.groups.get("group"), train.groups["clusters"])
    return train.groups.get("author" if strategy == "author" else "group") if strategy in ("author", "group") else None


def _fit_tuned(
    config: TrainConfig, task: str, method: str, data: PostData, y: np.ndarray, val: TrainingSet | None
) -> Any:
    """A baseline per combination of ``model.grid`` on the training rows, the best on ``val`` kept
    (``tuning_`` records them). TF-IDF / Word2Vec blocks are fitted once, on the training texts."""
    options = _options(config, task, method)
    fitted = fitted_blocks(config)
    featurizers: dict[str, Any] = {}
    train_data, val_data = data, None if val is None else val.data
    if fitted:
        from postlens.models.fitted_text import FittedTextFeatures, fit_text_encoders, with_text_blocks

        featurizers = fit_text_encoders(fitted, data, seed=config.seed)
        train_data = with_text_blocks(featurizers, data, "fit")
        val_data = None if val is None else with_text_blocks(featurizers, val.data, "validation")

    def fit_one(params: dict[str, Any]) -> Any:
        model = _model(config, task, options, params)
        model.fit(train_data, y, val=None if val is None else (val_data, val.y))  # LightGBM stops early on val
        if not featurizers:
            return model
        return FittedTextFeatures.from_parts(
            model, featurizers, encoders=fitted, seed=config.seed, num_threads=config.num_threads
        )

    def score_val(estimator: Any) -> float:
        assert val is not None  # several combinations are tried only with a validation side
        return val_score(val.task, val.y, np.asarray(estimator.predict(val.data)), val.classes)

    candidates, fixed, note = plan(config.model, has_val=val is not None)
    estimator, record = choose(candidates, fixed, fit_one, score_val, metric=selection_metric(task), note=note)
    estimator.tuning_ = record
    return estimator


def score(
    task: str, y: np.ndarray, predicted: np.ndarray, classes: list[str], *, positive: int | None = None
) -> dict[str, Any]:
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
    if side.stream is not None:
        return _predict_streamed(estimator, side)
    predicted = np.asarray(estimator.predict(side.data))
    proba = None
    if side.task != "regression" and hasattr(estimator, "predict_proba"):
        proba = np.asarray(estimator.predict_proba(side.data), float)
    return predicted, proba


def _predict_streamed(estimator: Any, side: TrainingSet) -> tuple[np.ndarray, np.ndarray | None]:
    """``predict_side`` over batches read from the feature cache (``stream_batch_size`` posts each)."""
    assert side.stream is not None
    predicted: list[np.ndarray] = []
    probas: list[np.ndarray] = []
    with_proba = side.task != "regression" and hasattr(estimator, "predict_proba")
    for _rows, data in side.stream.batches(int(getattr(estimator, "batch_size", 4096))):
        predicted.append(np.asarray(estimator.predict(data)))
        if with_proba:
            probas.append(np.asarray(estimator.predict_proba(data), float))
    return np.concatenate(predicted), np.concatenate(probas) if with_proba else None


def evaluate(estimator: Any, test: TrainingSet, *, positive: int | None = None) -> dict[str, Any]:
    if len(test.y) == 0:
        return {"n": 0}
    predicted = _predict_streamed(estimator, test)[0] if test.stream is not None else estimator.predict(test.data)
    return score(test.task, test.y, predicted, test.classes, positive=positive)


def degradation(estimator: Any, test: TrainingSet, *, positive: int | None = None) -> dict[str, dict[str, Any]]:
    """Figures with each feature block removed at test time, and each modality of several blocks
    (``text:minilm`` + ``text:vader`` -> also ``without_text``): how gracefully the model copes."""
    out = {}
    blocks = sorted(
        name for name in set(test.data.modalities) | set(test.data.waveforms) if test.data.masks[name].any()
    )
    groups: dict[str, list[str]] = {name: [name] for name in blocks}
    for name in blocks:
        modality, separator, _ = name.partition(BLOCK_SEPARATOR)
        if separator:
            groups.setdefault(modality, []).append(name)
    for label, names in groups.items():
        data = test.data
        for name in names:
            data = data.without(name)
        dropped = TrainingSet(data=data, y=test.y, task=test.task, classes=test.classes)
        out[f"without_{label}"] = evaluate(estimator, dropped, positive=positive)
    return out


def positive_index(config: TrainConfig, data: TrainingSet) -> int | None:
    """The class a binary report's positive F1 is about: ``positive_class`` or the rarer class
    among the labelled posts (ties: index 1, scikit-learn's pos_label). None unless binary."""
    if data.task != "classification" or len(data.classes) != 2:
        if config.positive_class is not None:
            raise ConfigError(
                f"positive_class applies to two-class targets; {config.target!r} is {data.task} "
                f"with classes {data.classes}"
            )
        return None
    if config.positive_class is not None:
        if config.positive_class not in data.classes:
            raise ConfigError(
                f"positive_class {config.positive_class!r} is not a class of {config.target!r}; classes: {data.classes}"
            )
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
