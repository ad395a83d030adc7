"""A linear model trained by ``partial_fit`` over batches: ``model: {kind: sgd}`` for corpora whose
vectors do not fit in memory.

Input columns are those of logreg (``PostData.flat``: each block * mask, the masks, metadata). A
first pass fits a ``StandardScaler`` and counts classes (``partial_fit`` both: nothing is kept but
running sums); then ``epochs`` passes of ``SGDClassifier(loss="log_loss")`` (logistic regression by
stochastic gradient) or ``SGDRegressor``, each over the batches in a new seeded order. With
``class_weight="balanced"`` the weights come from the streamed class counts (scikit-learn refuses
"balanced" in ``partial_fit``, since it cannot see every row).

``fit(X, y)`` batches an in-memory X (the scikit-learn contract); ``fit_batches`` takes a function
that yields (PostData, y) batches for a pass, so the training pipeline can read each batch from
a scratch file written by one pass over the feature cache (``models/stream.py``) and never hold
the corpus.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from postlens.models.estimator import PostlensEstimator
from postlens.models.inputs import PostData
from postlens.models.threads import limited_threads

TASKS = ("classification", "regression")
Batches = Callable[[int], Iterable[tuple[PostData, np.ndarray]]]
"""pass number (0: the scaling pass, 1..epochs: training) -> (PostData, y) batches."""


class StreamedLinearModel(PostlensEstimator):
    """Logistic (classification) or least-squares (regression) linear model fitted by SGD in batches.

    ``alpha``: L2 strength; ``epochs``: passes over the training posts; ``batch_size``: posts per
    ``partial_fit`` when ``fit`` is given X in memory; ``class_weight``: None or "balanced".
    """

    uses_torch = False

    def __init__(
        self,
        *,
        kind: str = "sgd",
        task: str = "classification",
        alpha: float = 1e-4,
        epochs: int = 5,
        batch_size: int = 4096,
        class_weight: str | None = None,
        seed: int = 0,
        num_threads: int | None = None,
    ) -> None:
        self.kind, self.task, self.alpha, self.epochs, self.batch_size = kind, task, alpha, epochs, batch_size
        self.class_weight, self.seed, self.num_threads = class_weight, seed, num_threads

    def fit(self, X: PostData, y: np.ndarray, **unused: Any) -> StreamedLinearModel:
        """Batches of ``batch_size`` rows of X, in a new seeded order each epoch."""
        y = np.asarray(y)
        classes = getattr(self, "classes_", None)
        n_classes = None if classes is None else len(classes)

        def batches(number: int) -> Iterable[tuple[PostData, np.ndarray]]:
            order = np.random.default_rng([self.seed, number]).permutation(len(y))
            for start in range(0, len(order), self.batch_size):
                rows = order[start : start + self.batch_size]
                yield X.subset(rows), y[rows]

        return self._fit(batches, n_classes)

    def fit_batches(self, batches: Batches, *, n_classes: int | None = None) -> StreamedLinearModel:
        """Fit on the batches ``batches(pass)`` yields; ``n_classes``: classes are 0..n_classes-1
        (indices, as the training pipeline passes them). Runs with ``num_threads`` threads."""
        if self.task == "classification":
            if n_classes is None or n_classes < 2:
                raise ValueError(f"classification needs n_classes >= 2, got {n_classes}")
            self.classes_ = np.arange(n_classes)
        with limited_threads(self._threads(), torch_too=False):
            return self._fit(batches, n_classes)

    def _fit(self, batches: Batches, n_classes: int | None) -> StreamedLinearModel:
        from sklearn.linear_model import SGDClassifier, SGDRegressor
        from sklearn.preprocessing import StandardScaler

        if self.task not in TASKS:
            raise ValueError(f"task must be one of {', '.join(TASKS)} for sgd, got {self.task!r}")
        started = time.perf_counter()
        scaler = StandardScaler()
        counts = np.zeros(n_classes or 0, np.int64)
        seen = 0
        for data, y in batches(0):  # pass 0: scaling statistics and class counts, nothing else kept
            if not seen:
                self.modalities_, self.dims_, self.meta_names_ = (
                    sorted(data.modalities),
                    data.dims,
                    list(data.meta_names),
                )
            scaler.partial_fit(data.flat(self.modalities_))
            if n_classes:
                counts += np.bincount(np.asarray(y, np.int64), minlength=n_classes)
            seen += len(y)
        if not seen:
            raise ValueError("no training rows: the batches were empty")
        self.class_counts_ = counts.tolist()
        if self.task == "regression":
            model: Any = SGDRegressor(alpha=self.alpha, random_state=self.seed, average=True)
        else:  # averaged SGD: the mean of the weights over the steps, far less noisy after a few epochs
            model = SGDClassifier(
                loss="log_loss",
                alpha=self.alpha,
                random_state=self.seed,
                class_weight=self._weights(counts),
                average=True,
            )
        self.history_: list[dict[str, Any]] = []
        for epoch in range(1, self.epochs + 1):
            began = time.perf_counter()
            for data, y in batches(epoch):
                x = scaler.transform(data.flat(self.modalities_))
                if self.task == "regression":
                    model.partial_fit(x, np.asarray(y, float))
                else:
                    model.partial_fit(x, np.asarray(y, np.int64), classes=np.arange(n_classes or 0))
            self.history_.append({"epoch": epoch, "epochs": self.epochs, "seconds": time.perf_counter() - began})
        self.scaler_, self.estimator_ = scaler, model
        self.rows_seen_ = seen
        self.epochs_run_ = self.epochs
        self.warnings_: list[str] = []
        self.train_seconds_ = time.perf_counter() - started
        return self

    def _weights(self, counts: np.ndarray) -> dict[int, float] | None:
        """ "balanced" from the streamed counts: n / (classes present * count), as scikit-learn's."""
        if self.class_weight is None:
            return None
        if self.class_weight != "balanced":
            raise ValueError(f"class_weight must be None or 'balanced', got {self.class_weight!r}")
        present = counts > 0
        return {int(c): float(counts.sum() / (present.sum() * counts[c])) for c in np.flatnonzero(present)}

    def predict(self, X: PostData) -> np.ndarray:
        return np.asarray(self.estimator_.predict(self.scaler_.transform(X.flat(self.modalities_))))

    def predict_proba(self, X: PostData) -> np.ndarray:
        if self.task == "regression":
            raise AttributeError("a regression model has no predict_proba")
        return np.asarray(self.estimator_.predict_proba(self.scaler_.transform(X.flat(self.modalities_))))

    def predict_value(self, X: PostData) -> np.ndarray:
        return self.predict(X).astype(float)

    def save(self, folder: Path) -> None:
        import joblib

        joblib.dump({"scaler": self.scaler_, "estimator": self.estimator_}, folder / "model.joblib")
        (folder / "sgd.json").write_text(
            json.dumps(
                {
                    "params": self.get_params(),
                    "modalities": self.modalities_,
                    "dims": self.dims_,
                    "meta_names": self.meta_names_,
                    "class_counts": getattr(self, "class_counts_", []),
                },
                indent=2,
            )
        )

    @classmethod
    def load(cls, folder: Path) -> StreamedLinearModel:
        import joblib

        state = json.loads((folder / "sgd.json").read_text())
        model = cls(**state["params"])
        model.modalities_, model.dims_, model.meta_names_ = state["modalities"], state["dims"], state["meta_names"]
        model.class_counts_ = state.get("class_counts", [])
        model.warnings_ = []
        fitted = joblib.load(folder / "model.joblib")
        model.scaler_, model.estimator_ = fitted["scaler"], fitted["estimator"]
        return model
