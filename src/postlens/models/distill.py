"""Knowledge distillation: a small MLP on cheap inputs (text + metadata) learns from the fusion teacher.

The student needs neither image nor video encoders at inference, which is where most of the per-post
cost is; softened teacher probabilities (temperature T) carry what the teacher learnt from images.
"""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin

from postlens.evaluation.metrics import classification_metrics
from postlens.models.estimator import PostlensEstimator
from postlens.models.inputs import PostData
from postlens.models.torch_utils import seeded_generator


class StudentModel(ClassifierMixin, PostlensEstimator):
    """An MLP on the flat features of ``modalities`` (+ metadata), trained on the teacher's logits.

    ``fit(X, y, teacher_logits=...)``; X: anything ``as_post_data`` reads. ``num_threads``: None =
    every core of this machine (``resolve_threads``).
    """

    kind = "student"

    def __init__(
        self,
        *,
        modalities: tuple[str, ...] | list[str] = ("text",),
        hidden: int = 128,
        temperature: float = 3.0,
        alpha: float = 0.7,
        epochs: int = 40,
        batch_size: int = 128,
        lr: float = 2e-3,
        patience: int = 6,
        seed: int = 0,
        num_threads: int | None = None,
    ) -> None:
        self.modalities, self.hidden, self.temperature, self.alpha = modalities, hidden, temperature, alpha
        self.epochs, self.batch_size, self.lr, self.patience = epochs, batch_size, lr, patience
        self.seed, self.num_threads = seed, num_threads

    def _net(self, n_in: int, n_classes: int) -> Any:
        from torch import nn

        return nn.Sequential(
            nn.LayerNorm(n_in),
            nn.Linear(n_in, self.hidden),
            nn.GELU(),
            nn.Dropout(0.1),
            nn.Linear(self.hidden, n_classes),
        )

    def _x(self, data: PostData) -> Any:
        import torch

        return torch.from_numpy(data.flat(list(self.modalities)))

    def fit(
        self, X: PostData, y: np.ndarray, *, teacher_logits: np.ndarray, val: tuple[PostData, np.ndarray] | None = None
    ) -> StudentModel:
        import torch
        import torch.nn.functional as F

        generator = seeded_generator(self.seed)
        self.dims_ = {m: X.dims[m] for m in self.modalities if m in X.dims}
        self.meta_names_ = list(X.meta_names)
        x = self._x(X)
        self.n_classes_ = int(teacher_logits.shape[1])
        self.n_in_ = int(x.shape[1])
        self.net_ = self._net(self.n_in_, self.n_classes_)
        soft = F.softmax(torch.from_numpy(teacher_logits.astype(np.float32)) / self.temperature, dim=-1)
        y_t = torch.from_numpy(np.asarray(y, np.int64))
        optimizer = torch.optim.AdamW(self.net_.parameters(), lr=self.lr, weight_decay=1e-4)
        best, best_state, stale = -np.inf, None, 0
        started = time.perf_counter()
        for _ in range(self.epochs):
            self.net_.train()
            perm = torch.randperm(len(x), generator=generator)
            for start in range(0, len(x), self.batch_size):
                rows = perm[start : start + self.batch_size]
                logits = self.net_(x[rows])
                kd = F.kl_div(F.log_softmax(logits / self.temperature, -1), soft[rows], reduction="batchmean")
                loss = self.alpha * kd * self.temperature**2 + (1 - self.alpha) * F.cross_entropy(logits, y_t[rows])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            if val is None:
                continue
            score = classification_metrics(val[1], self.predict(val[0]), self.n_classes_)["macro_f1"]
            if score > best + 1e-6:
                best, best_state, stale = score, copy.deepcopy(self.net_.state_dict()), 0
            else:
                stale += 1
                if stale >= self.patience:
                    break
        if best_state is not None:
            self.net_.load_state_dict(best_state)
        self.train_seconds_ = time.perf_counter() - started
        self.net_.eval()
        return self

    def predict_proba(self, X: PostData) -> np.ndarray:
        import torch

        with torch.no_grad():
            return torch.softmax(self.net_(self._x(X)), -1).numpy()

    def predict(self, X: PostData) -> np.ndarray:
        return self.predict_proba(X).argmax(axis=1)

    def save(self, folder: Path) -> None:
        import torch

        (folder / "student.json").write_text(
            json.dumps(
                {
                    "params": self.get_params(),
                    "n_in": self.n_in_,
                    "n_classes": self.n_classes_,
                    "dims": self.dims_,
                    "meta_names": self.meta_names_,
                },
                indent=2,
            )
        )
        torch.save(self.net_.state_dict(), folder / "weights.pt")

    @classmethod
    def load(cls, folder: Path) -> StudentModel:
        import torch

        state = json.loads((folder / "student.json").read_text())
        model = cls(**state["params"])
        model.n_in_, model.n_classes_ = state["n_in"], state["n_classes"]
        if "dims" in state:  # older folders: no input check at predict
            model.dims_, model.meta_names_ = state["dims"], state["meta_names"]
        model.net_ = model._net(model.n_in_, model.n_classes_)
        model.net_.load_state_dict(torch.load(folder / "weights.pt", weights_only=True))
        model.net_.eval()
        return model


def per_post_latency(model: Any, data: PostData, *, n: int = 200) -> dict[str, float]:
    """Milliseconds per post: one post per call (an API request) and in one batch (a backfill)."""
    n = min(n, len(data))
    sample = data.subset(np.arange(n))
    model.predict(sample.subset(np.arange(1)))  # warm up
    started = time.perf_counter()
    for i in range(n):
        model.predict(sample.subset(np.array([i])))
    single = (time.perf_counter() - started) / n * 1000
    started = time.perf_counter()
    model.predict(sample)
    batched = (time.perf_counter() - started) / n * 1000
    return {"ms_per_post_single": single, "ms_per_post_batched": batched}
