"""k-fold cross-validation of one TrainConfig: the same fit and figures as ``postlens train``, per fold.

``cross_validate`` runs one config over given folds and returns per-fold figures with their mean
and standard deviation; it is the unit a nested selection (several configs, chosen inside each
outer fold) repeats. ``folds_for`` builds the folds a config asks for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from postlens.errors import ConfigError
from postlens.evaluation.folds import Fold, make_folds
from postlens.evaluation.metrics import summarize_folds
from postlens.evaluation.splits import duplicate_groups
from postlens.models import trainer
from postlens.models.config import TrainConfig
from postlens.models.data import TrainingSet

_BY_STRATEGY = {
    "random": "plain",
    "stratified": "stratified",
    "author": "author",
    "group": "group",
    "duplicates": "duplicates",
    "time": "time",
}


def fold_kind_for(config: TrainConfig, task: str) -> str:
    """``split.fold_kind``, or for ``auto`` the kind that matches ``split.strategy`` (see SplitConfig)."""
    kind: str = config.split.fold_kind
    if kind == "auto":
        kind = _BY_STRATEGY.get(config.split.strategy, "stratified")
    if kind == "stratified" and task != "classification":
        kind = "plain"  # nothing to stratify on for regression / multi-label
    return kind


def folds_for(config: TrainConfig, data: TrainingSet, k: int) -> tuple[list[Fold], str]:
    """The folds over ``data`` (already reduced to the rows to cross-validate) and their kind."""
    kind = fold_kind_for(config, data.task)
    groups = None
    if kind == "duplicates":
        if "clusters" not in data.groups:
            raise ConfigError("no duplicate cluster per post for duplicate-aware folds: run 'postlens dedupe' first")
        groups = duplicate_groups(data.groups.get("group"), data.groups["clusters"])
    elif kind in ("author", "group"):
        groups = data.groups.get(kind)
        if groups is None:
            raise ConfigError(f"no {kind} key per post for grouped folds")
    folds = make_folds(
        "group" if kind in ("author", "duplicates") else kind,
        len(data.y),
        k,
        y=data.y if data.task == "classification" else None,
        groups=groups,
        times=data.times,
        val_size=config.split.val_size,
        seed=config.seed,
        time_boundary=config.split.time_boundary,
    )
    return folds, kind


def cross_validate(
    config: TrainConfig,
    data: TrainingSet,
    folds: list[Fold],
    *,
    positive: int | None = None,
    on_fold: Callable[[int, dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Fit ``config`` on each fold's training part (early stopping and baseline tuning on its
    validation part: nested, the held-out part never chooses), score its held-out part. Returns ``{"folds": [...], "mean": {...}, "std": {...}, "per_class": ...}``."""
    per_fold: list[dict[str, Any]] = []
    for number, fold in enumerate(folds, start=1):
        train = data.subset(fold.train)
        if data.task == "classification" and len(np.unique(train.y)) < 2:
            raise ConfigError(f"fold {number} has one class only in training; use fewer folds or stratified folds")
        estimator = trainer.fit(config, train, data.subset(fold.val))
        held_out = data.subset(fold.test)
        predicted, _ = trainer.predict_side(estimator, held_out)
        entry = {
            "fold": number,
            "sizes": fold.sizes(),
            "train_seconds": round(estimator.fit_seconds_, 3),
            "metrics": trainer.score(data.task, held_out.y, predicted, data.classes, positive=positive),
            "warnings": trainer.model_warnings(estimator, {"held-out": (held_out, predicted)}),
        }
        tuning = getattr(estimator, "tuning_", None)
        if tuning is not None:  # chosen on this fold's validation part, from its training part
            entry["tuned"] = tuning["chosen"]
        per_fold.append(entry)
        if on_fold is not None:
            on_fold(number, entry)
    return {"folds": per_fold, **summarize_folds([f["metrics"] for f in per_fold])}
