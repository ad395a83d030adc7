"""Honest baselines: logistic regression and LightGBM on [all modality vectors | presence flags | metadata].

A fusion network has to beat these to earn its cost; they also train in seconds, so they are the
first thing to run on a new label.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from postlens.models.inputs import PostData


class BaselineModel:
    """kind "logreg" (ridge for regression) or "lightgbm"; ``class_weight="balanced"`` for imbalance."""

    def __init__(self, *, kind: str = "logreg", task: str = "classification", C: float = 1.0,
                 n_estimators: int = 300, class_weight: str | None = None, seed: int = 0, num_threads: int = 2) -> None:
        if kind not in ("logreg", "lightgbm"):
            raise ValueError(f"baseline kind must be 'logreg' or 'lightgbm', got {kind!r}")
        self.kind, self.task, self.C, self.n_estimators = kind, task, C, n_estimators
        self.class_weight, self.seed, self.num_threads = class_weight, seed, num_threads

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
            import lightgbm as lgb

            common = dict(n_estimators=self.n_estimators, learning_rate=0.05, num_leaves=31, subsample=0.8,
                          subsample_freq=1, colsample_bytree=0.5, random_state=self.seed, n_jobs=self.num_threads,
                          verbose=-1, deterministic=True, force_row_wise=True)
            if self.task == "regression":
                return lgb.LGBMRegressor(**common)
            base = lgb.LGBMClassifier(class_weight=self.class_weight, **common)
        if self.task == "multilabel":
            from sklearn.multiclass import OneVsRestClassifier

            base = OneVsRestClassifier(base)
        return make_pipeline(StandardScaler(), base) if self.kind == "logreg" else base

    def fit(self, data: PostData, y: np.ndarray, **_: Any) -> "BaselineModel":
        self.modalities_ = sorted(data.modalities)
        self.dims_ = data.dims
        self.meta_names_ = list(data.meta_names)
        started = time.perf_counter()
        self.estimator_ = self._estimator().fit(data.flat(self.modalities_), y)
        self.train_seconds_ = time.perf_counter() - started
        self.epochs_run_ = 1
        return self

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
             "meta_names": self.meta_names_}, indent=2))

    @classmethod
    def load(cls, folder: Path) -> "BaselineModel":
        import joblib

        state = json.loads((folder / "baseline.json").read_text())
        model = cls(**state["params"])
        model.modalities_, model.dims_, model.meta_names_ = state["modalities"], state["dims"], state["meta_names"]
        model.estimator_ = joblib.load(folder / "model.joblib")
        return model
