"""Honest baselines: logistic regression and LightGBM on [all modality vectors | presence flags | metadata].

A fusion network has to beat these to earn its cost; they also train in seconds, so they are the
first thing to run on a new label.

LightGBM speed (bench/train.py, 10k posts x 1683 features, 4 classes): it used to take minutes,
not seconds, for three reasons fixed here. (1) OpenMP threads spin-wait at LightGBM's many
small barriers; on a 2-core machine already busy with other work, 2 spinning threads took 140 s
for 20 rounds where 1 thread took 15 s: threads are now capped to the idle cores and the wait
policy is passive. (2) 300 rounds x 4 classes = 1200 trees always ran: training now stops early
on the validation side. (3) 255 bins per dense embedding dimension: 63 bins halve the histogram
work without a measurable loss on embeddings.

Early stopping can stop at the very first tree when validation disagrees with training (a time
split whose last period differs, a tiny validation side): one tree at learning rate 0.05 barely
moves the class prior, so every post gets the majority class. When the best round is below
``min_rounds``, the model is refitted without early stopping for all ``n_estimators`` rounds (the
model a user gets without validation) and ``warnings_`` says so; the training report shows it.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from postlens.models.inputs import PostData


class BaselineModel:
    """kind "logreg" (ridge for regression) or "lightgbm"; ``class_weight="balanced"`` for imbalance."""

    def __init__(self, *, kind: str = "logreg", task: str = "classification", C: float = 1.0,
                 n_estimators: int = 300, class_weight: str | None = None, seed: int = 0, num_threads: int = 2,
                 early_stopping_rounds: int = 30, max_bin: int = 63, min_rounds: int = 10) -> None:
        if kind not in ("logreg", "lightgbm"):
            raise ValueError(f"baseline kind must be 'logreg' or 'lightgbm', got {kind!r}")
        self.kind, self.task, self.C, self.n_estimators = kind, task, C, n_estimators
        self.class_weight, self.seed, self.num_threads = class_weight, seed, num_threads
        self.early_stopping_rounds, self.max_bin, self.min_rounds = early_stopping_rounds, max_bin, min_rounds

    def get_params(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if not k.endswith("_")}

    def _estimator(self) -> Any:
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        if self.kind == "logreg":
            from sklearn.linear_model import LogisticRegression, Ridge

            if self.task == "regression":
                return make_pipeline(StandardScaler(), Ridge(alpha=1.0 / self.C))
            base = LogisticRegression(C=self.C, max_iter=2000, class_weight=self.class_weight)
        else:
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # read once, when libgomp first loads
            import lightgbm as lgb

            self.threads_used_ = idle_threads(self.num_threads)
            common = dict(n_estimators=self.n_estimators, learning_rate=0.05, num_leaves=31, subsample=0.8,
                          subsample_freq=1, colsample_bytree=0.5, random_state=self.seed, n_jobs=self.threads_used_,
                          verbose=-1, deterministic=True, force_col_wise=True, max_bin=self.max_bin)
            if self.task == "regression":
                return lgb.LGBMRegressor(**common)
            base = lgb.LGBMClassifier(class_weight=self.class_weight, **common)
        if self.task == "multilabel":
            from sklearn.multiclass import OneVsRestClassifier

            base = OneVsRestClassifier(base)
        return make_pipeline(StandardScaler(), base) if self.kind == "logreg" else base

    def fit(self, data: PostData, y: np.ndarray, *, val: tuple[PostData, np.ndarray] | None = None,
            **_: Any) -> "BaselineModel":
        """``val`` (LightGBM only): stop adding trees once the validation loss stops improving."""
        self.modalities_ = sorted(data.modalities)
        self.dims_ = data.dims
        self.meta_names_ = list(data.meta_names)
        started = time.perf_counter()
        estimator = self._estimator()
        options: dict[str, Any] = {}
        if self.kind == "lightgbm" and val is not None and len(val[1]) and self.task != "multilabel":
            import lightgbm as lgb

            val_y = np.asarray(val[1])
            if self.task == "regression" or set(np.unique(val_y)) <= set(np.unique(y)):
                options = _eval_options(lgb, estimator, val[0].flat(self.modalities_), val_y)
                options["callbacks"] = [lgb.early_stopping(self.early_stopping_rounds, verbose=False)]
        self.estimator_ = estimator.fit(data.flat(self.modalities_), y, **options)
        self.warnings_: list[str] = []
        if "callbacks" in options:
            self._guard_early_stop(data, y)
        self.train_seconds_ = time.perf_counter() - started
        trees = int(getattr(self.estimator_, "best_iteration_", 0) or getattr(self.estimator_, "n_estimators_", 0) or 0)
        self.epochs_run_ = trees or 1  # LightGBM: trees used; logreg: one fit
        return self

    def _guard_early_stop(self, data: PostData, y: np.ndarray) -> None:
        """Refit on every round when validation picked fewer than ``min_rounds`` trees (see module docstring)."""
        best = int(getattr(self.estimator_, "best_iteration_", 0) or 0)
        if best >= self.min_rounds:
            return
        self.estimator_ = self._estimator().fit(data.flat(self.modalities_), y)
        self.warnings_.append(
            f"LightGBM early stopping found the best validation loss after {best} tree(s) (fewer than "
            f"min_rounds={self.min_rounds}), which predicts little more than the majority class: refitted "
            f"without early stopping on all {self.n_estimators} rounds. Validation disagrees with training "
            "(a later period? too few posts?): read the per-class figures")

    def predict(self, data: PostData) -> np.ndarray:
        return np.asarray(self.estimator_.predict(data.flat(self.modalities_)))

    def predict_proba(self, data: PostData) -> np.ndarray:
        return np.asarray(self.estimator_.predict_proba(data.flat(self.modalities_)))

    def predict_value(self, data: PostData) -> np.ndarray:
        return self.predict(data).astype(float)

    def save(self, folder: Path) -> None:
        import joblib

        joblib.dump(self.estimator_, folder / "model.joblib")
        (folder / "baseline.json").write_text(json.dumps(
            {"params": self.get_params(), "modalities": self.modalities_, "dims": self.dims_,
             "meta_names": self.meta_names_, "warnings": getattr(self, "warnings_", [])}, indent=2))

    @classmethod
    def load(cls, folder: Path) -> "BaselineModel":
        import joblib

        state = json.loads((folder / "baseline.json").read_text())
        model = cls(**state["params"])
        model.modalities_, model.dims_, model.meta_names_ = state["modalities"], state["dims"], state["meta_names"]
        model.warnings_ = state.get("warnings", [])
        model.estimator_ = joblib.load(folder / "model.joblib")
        return model


def _eval_options(lgb: Any, estimator: Any, x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """LightGBM >= 4.7 takes eval_X / eval_y (eval_set warns); older versions only eval_set."""
    import inspect

    if "eval_X" in inspect.signature(estimator.fit).parameters:
        return {"eval_X": (x,), "eval_y": (y,)}
    return {"eval_set": [(x, y)]}


def idle_threads(requested: int, *, window: float = 0.2) -> int:
    """``requested`` capped to the cores other processes leave idle right now, at least 1.

    OpenMP teams larger than the idle cores make every barrier wait for a descheduled thread:
    measured 9x slower, not 2x faster (see the module docstring). Sampled from /proc/stat over
    ``window`` seconds while this process is idle (the load average would count our own work
    from a moment ago); elsewhere the request is trusted.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    requested = max(1, min(requested, cores))
    if requested == 1:
        return 1
    try:
        first = _cpu_times()
        time.sleep(window)
        second = _cpu_times()
    except (OSError, ValueError, IndexError):
        return requested
    total = sum(second) - sum(first)
    idle = (second[3] + second[4]) - (first[3] + first[4])  # idle + iowait
    if total <= 0:
        return requested
    idle_cores = (os.cpu_count() or cores) * idle / total
    return max(1, min(requested, math.floor(idle_cores + 0.5)))


def _cpu_times() -> list[int]:
    with open("/proc/stat", encoding="ascii") as handle:
        return [int(v) for v in handle.readline().split()[1:9]]
