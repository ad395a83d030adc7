"""Baseline hyper-parameters chosen on the validation side: logreg's ``C``, LightGBM's leaves.

A small grid (``model.grid``), one fit per combination on the training rows, each scored on the
validation rows (macro-F1; Spearman for regression); the best one is kept, ties going to the
earlier combination (the grid runs from strong to weak regularisation). The held-out side is
never passed here, so it cannot influence the choice. A parameter set in the config, or
``model.tune: false``, is fixed instead; with no validation side nothing is tuned and the
defaults are used (the report says so).
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from postlens.models.config import TUNED_DEFAULTS, ModelConfig

TUNED: dict[str, tuple[str, ...]] = {"logreg": ("C",), "lightgbm": ("num_leaves", "learning_rate", "min_child_samples")}
"""Which hyper-parameters each baseline kind tunes."""


def selection_metric(task: str) -> str:
    return "spearman" if task == "regression" else "macro_f1"


def plan(model: ModelConfig, *, has_val: bool) -> tuple[list[dict[str, Any]], dict[str, Any], str | None]:
    """(the combinations to try, the parameters fixed, a note when nothing is tuned and why)."""
    names = TUNED.get(model.kind, ())
    fixed = {n: getattr(model, n) for n in names if getattr(model, n) is not None}
    free = [n for n in names if getattr(model, n) is None]
    note = None
    if free and not model.tune:
        note = "model.tune is false"
    elif free and not has_val:
        note = "no validation side (split.val_size is 0)"
    if note is not None:
        fixed |= {n: TUNED_DEFAULTS[n] for n in free}
        free = []
    if not free:
        return [], fixed, note
    grids = [getattr(model.grid, n) for n in free]
    return [dict(zip(free, values)) for values in itertools.product(*grids)], fixed, note


def choose(candidates: list[dict[str, Any]], fixed: dict[str, Any], fit_one: Callable[[dict[str, Any]], Any],
           score_val: Callable[[Any], float], *, metric: str, note: str | None = None) -> tuple[Any, dict[str, Any]]:
    """Fit every candidate (with ``fixed``), keep the best on validation; returns (fitted estimator, record).

    ``fit_one(params)`` fits on the training rows; ``score_val(estimator)`` scores the validation rows only.
    """
    if not candidates:
        estimator = fit_one(dict(fixed))
        return estimator, {"chosen_on": None, "note": note, "chosen": dict(fixed), "fixed": dict(fixed), "candidates": []}
    tried: list[dict[str, Any]] = []
    best: tuple[float, int, Any] | None = None
    for index, params in enumerate(candidates):
        started = time.perf_counter()
        estimator = fit_one({**fixed, **params})
        value = float(score_val(estimator)) if len(candidates) > 1 else math.nan
        tried.append({"params": params, "val": value, "seconds": round(time.perf_counter() - started, 3),
                      "rounds": getattr(estimator, "epochs_run_", None)})
        rank = -math.inf if math.isnan(value) else value
        if best is None or rank > best[0]:
            best = (rank, index, estimator)
    assert best is not None
    chosen = {**fixed, **candidates[best[1]]}
    return best[2], {"chosen_on": f"val {metric}" if len(candidates) > 1 else None, "note": note,
                     "chosen": chosen, "fixed": dict(fixed), "candidates": tried}


def val_score(task: str, y: np.ndarray, predicted: np.ndarray, classes: list[str]) -> float:
    """The validation figure a combination is chosen on (NaN when undefined, e.g. constant predictions)."""
    from postlens.models.trainer import score

    figures = score(task, y, predicted, classes)
    value = figures.get(selection_metric(task))
    return math.nan if value is None else float(value)
