"""Honest baselines: logistic regression and LightGBM on [all modality vectors | presence flags | metadata].

A fusion network has to beat these to earn its cost; they also train in seconds, so they are the
first thing to run on a new label.

LightGBM speed (bench/train.py, 10k posts x 1683 features, 4 classes): it used to take minutes,
not seconds, for three reasons fixed here. (1) OpenMP threads spin-wait at LightGBM's many
small barriers; on a 2-core machine already busy with other work, 2 spinning threads took 140 s
for 20 rounds where 1 thread took 15 s: threads are now capped to the idle cores
(``idle_threads``). Setting ``OMP_WAIT_POLICY=PASSIVE`` before Python starts helps further on a
shared machine; ``fit`` does not set it (it changes no process-wide state). (2) 300 rounds x 4
classes = 1200 trees always ran: training now stops early on the validation side. (3) 255 bins
per dense embedding dimension: 63 bins halve the histogram work without a measurable loss on
embeddings.

Early stopping can stop at the very first tree when validation disagrees with training (a time
split whose last period differs, a tiny validation side): one tree at learning rate 0.05 barely
moves the class prior, so every post gets the majority class. When the best round is below
``min_rounds``, the model is refitted without early stopping for all ``n_estimators`` rounds (the
model a user gets without validation) and ``warnings_`` says so; the training report shows it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from postlens.models.estimator import PostlensEstimator
from postlens.models.inputs import PostData
from postlens.models.threads import idle_threads

KINDS = ("logreg", "lightgbm")
TASKS = ("classification", "multilabel", "regression")


class BaselineModel(PostlensEstimator):
    """kind "logreg" (ridge for regression) or "lightgbm"; ``class_weight="balanced"`` for imbalance.

    ``C`` (logreg), ``num_leaves`` / ``learning_rate`` / ``min_child_samples`` (LightGBM): the training
    pipeline chooses them on the validation side (``models/tuning.py``); here they are used as given.

    ``num_threads``: None = every core of this machine (``resolve_threads``); LightGBM further caps
    it to the cores idle right now. X: anything ``as_post_data`` reads (see ``PostlensEstimator``).
    """

    uses_torch = False

    def __init__(self, *, kind: str = "logreg", task: str = "classification", C: float = 1.0,
                 n_estimators: int = 300, num_leaves: int = 31, learning_rate: float = 0.05,
                 min_child_samples: int = 20, class_weight: str | None = None, seed: int = 0,
                 num_threads: int | None = None, early_stopping_rounds: int = 30, max_bin: int = 63,
                 min_rounds: int = 10, unscaled: tuple[str, ...] = ()) -> None:
        self.kind, self.task, self.C, self.n_estimators = kind, task, C, n_estimators
        self.num_leaves, self.learning_rate, self.min_child_samples = num_leaves, learning_rate, min_child_samples
        self.class_weight, self.seed, self.num_threads = class_weight, seed, num_threads
        self.early_stopping_rounds, self.max_bin, self.min_rounds = early_stopping_rounds, max_bin, min_rounds
        self.unscaled = unscaled

    def _scaler(self) -> Any:
        """Standardise every column but those of the ``unscaled`` blocks (TF-IDF: standardising sparse term
        weights blows rare terms up; on TweetEval emotion logreg on TF-IDF fell from 0.595 to 0.535 macro-F1)."""
        from sklearn.preprocessing import StandardScaler

        if not self.unscaled:
            return StandardScaler()
        from sklearn.compose import ColumnTransformer

        at, kept = 0, []  # the columns of those blocks in X.flat(modalities_)
        for name in self.modalities_:
            if name in self.unscaled:
                kept += range(at, at + self.dims_[name])
            at += self.dims_[name]
        return ColumnTransformer([("as_is", "passthrough", kept)], remainder=StandardScaler())

    def _estimator(self) -> Any:
        from sklearn.pipeline import make_pipeline

        if self.kind == "logreg":
            from sklearn.linear_model import LogisticRegression, Ridge

            if self.task == "regression":
                return make_pipeline(self._scaler(), Ridge(alpha=1.0 / self.C))
            base = LogisticRegression(C=self.C, max_iter=2000, class_weight=self.class_weight)
        else:
            import lightgbm as lgb

            self.threads_used_ = idle_threads(self._threads())
            common: dict[str, Any] = {
                "n_estimators": self.n_estimators, "learning_rate": self.learning_rate, "num_leaves": self.num_leaves,
                "min_child_samples": self.min_child_samples, "subsample": 0.8,
                "subsample_freq": 1, "colsample_bytree": 0.5, "random_state": self.seed, "n_jobs": self.threads_used_,
                "verbose": -1, "deterministic": True, "force_col_wise": True, "max_bin": self.max_bin}
            if self.task == "regression":
                return lgb.LGBMRegressor(**common)
            base = lgb.LGBMClassifier(class_weight=self.class_weight, **common)
        if self.task == "multilabel":
            from sklearn.multiclass import OneVsRestClassifier

            base = OneVsRestClassifier(base)
        return make_pipeline(self._scaler(), base) if self.kind == "logreg" else base

    def fit(self, X: PostData, y: np.ndarray, *, val: tuple[PostData, np.ndarray] | None = None,
            **unused: Any) -> BaselineModel:
        """``val`` (LightGBM only): stop adding trees once the validation loss stops improving."""
        if self.kind not in KINDS:
            raise ValueError(f"baseline kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {', '.join(TASKS)}, got {self.task!r}")
        self.modalities_ = sorted(X.modalities)
        self.dims_ = X.dims
        self.meta_names_ = list(X.meta_names)
        started = time.perf_counter()
        estimator = self._estimator()
        options: dict[str, Any] = {}
        if self.kind == "lightgbm" and val is not None and len(val[1]) and self.task != "multilabel":
            import lightgbm as lgb

            val_y = np.asarray(val[1])
            if self.task == "regression" or set(np.unique(val_y)) <= set(np.unique(y)):
                options = _eval_options(lgb, estimator, val[0].flat(self.modalities_), val_y)
                options["callbacks"] = [lgb.early_stopping(self.early_stopping_rounds, verbose=False)]
        self.estimator_ = estimator.fit(X.flat(self.modalities_), y, **options)
        self.warnings_: list[str] = []
        if "callbacks" in options:
            self._guard_early_stop(X, y)
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

    def predict(self, X: PostData) -> np.ndarray:
        return np.asarray(self.estimator_.predict(X.flat(self.modalities_)))

    def predict_proba(self, X: PostData) -> np.ndarray:
        """One column per class of ``classes_``; a class absent from the training rows gets 0."""
        proba = np.asarray(self.estimator_.predict_proba(X.flat(self.modalities_)))
        classes = getattr(self, "classes_", None)
        if self.task != "classification" or classes is None or proba.shape[1] == len(classes):
            return proba
        full = np.zeros((len(proba), len(classes)), proba.dtype)
        full[:, np.asarray(self.estimator_.classes_, dtype=np.int64)] = proba
        return full

    def predict_value(self, X: PostData) -> np.ndarray:
        return self.predict(X).astype(float)

    def save(self, folder: Path) -> None:
        import joblib

        joblib.dump(self.estimator_, folder / "model.joblib")
        (folder / "baseline.json").write_text(json.dumps(
            {"params": self.get_params(), "modalities": self.modalities_, "dims": self.dims_,
             "meta_names": self.meta_names_, "warnings": getattr(self, "warnings_", [])}, indent=2))

    @classmethod
    def load(cls, folder: Path) -> BaselineModel:
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
