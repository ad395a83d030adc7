"""The best offline text classifier postlens has: fine-tuned MiniLM blended with a linear model on frozen features.

The two make different mistakes: the fine-tuned transformer reads context and negation, the linear
model on [cached sentence vectors | VADER | TF-IDF of the training posts] reads exact words, emoji and
hashtags. Their class probabilities are averaged with a weight, and the weight, the linear model's
``C`` and the fine-tuned model's best epoch are all chosen on the validation side handed to ``fit``
(for ``postlens train``: the part carved from the training rows), never on the held-out side. After
the choice the linear model is refitted on train + validation (it is cheap; the transformer is not).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin

from postlens.errors import ConfigError
from postlens.evaluation.metrics import classification_metrics
from postlens.models.estimator import PostlensEstimator
from postlens.models.finetune import FineTunedTextModel
from postlens.models.inputs import PostData

C_GRID = (0.25, 0.5, 1.0, 2.0, 4.0)
WEIGHT_GRID = tuple(round(w, 2) for w in np.linspace(0.0, 1.0, 21))
FINETUNE_FOLDER = "finetune"


class TextFeatures:
    """[cached vectors of ``modalities`` | VADER (4) | TF-IDF fitted on the training texts], as one sparse matrix."""

    def __init__(self, modalities: list[str], *, vader: bool = True, tfidf: bool = True) -> None:
        self.modalities, self.vader, self.tfidf = modalities, vader, tfidf

    def fit(self, data: PostData) -> TextFeatures:
        if self.tfidf:
            from postlens.encoders.text.tfidf import TfidfFeaturizer

            self.tfidf_ = TfidfFeaturizer().fit(_texts(data))
        from sklearn.preprocessing import StandardScaler

        self.scaler_ = StandardScaler().fit(self._dense(data))
        return self

    def _dense(self, data: PostData) -> np.ndarray:
        blocks = [data.flat(self.modalities)] if self.modalities else []
        if self.vader:
            from postlens.encoders.text.lexicon import VaderEncoder

            scored = VaderEncoder().encode(_texts(data))
            blocks.append(np.stack([f.vector if f.vector is not None else np.zeros(4, np.float32) for f in scored]))
        return np.concatenate(blocks, axis=1) if blocks else np.zeros((len(data), 0), np.float32)

    def transform(self, data: PostData) -> Any:
        from scipy.sparse import csr_matrix, hstack

        dense = csr_matrix(self.scaler_.transform(self._dense(data)).astype(np.float32))
        return hstack([dense, self.tfidf_.transform(_texts(data))]).tocsr() if self.tfidf else dense


def _texts(data: PostData) -> list[str]:
    if data.texts is None:
        raise ConfigError(
            "the text ensemble needs raw texts: pass a Series or list of strings, a DataFrame with a "
            "'text' column, or PostData with texts"
        )
    return [t or "" for t in data.texts]


class TextEnsembleModel(ClassifierMixin, PostlensEstimator):
    """``weight`` x fine-tuned MiniLM + (1 - ``weight``) x logistic regression on ``TextFeatures``.

    Fine-tuning parameters are ``FineTunedTextModel``'s. ``modalities``: cached blocks the linear
    model reads (None: every block of X, usually the ``text`` MiniLM vectors). ``val`` in ``fit``
    chooses the epoch, C and the weight; without it a stratified ``val_size`` slice of X is held out.
    """

    kind = "ensemble"

    def __init__(
        self,
        *,
        epochs: int = 4,
        batch_size: int = 32,
        lr: float = 8e-5,
        head_lr: float = 2e-3,
        max_length: int = 64,
        layer_decay: float = 0.9,
        warmup: float = 0.1,
        schedule: str = "linear",
        freeze_embeddings: bool = True,
        class_weight: str | None = None,
        modalities: list[str] | None = None,
        vader: bool = True,
        tfidf: bool = True,
        val_size: float = 0.15,
        refit_linear: bool = True,
        seed: int = 0,
        num_threads: int | None = None,
    ) -> None:
        self.epochs, self.batch_size, self.lr, self.head_lr, self.max_length = (
            epochs,
            batch_size,
            lr,
            head_lr,
            max_length,
        )
        self.layer_decay, self.warmup, self.schedule, self.freeze_embeddings = (
            layer_decay,
            warmup,
            schedule,
            freeze_embeddings,
        )
        self.class_weight, self.modalities, self.vader, self.tfidf = class_weight, modalities, vader, tfidf
        self.val_size, self.refit_linear, self.seed, self.num_threads = val_size, refit_linear, seed, num_threads

    def _finetune(self) -> FineTunedTextModel:
        return FineTunedTextModel(
            epochs=self.epochs,
            batch_size=self.batch_size,
            lr=self.lr,
            head_lr=self.head_lr,
            max_length=self.max_length,
            class_weight=self.class_weight,
            seed=self.seed,
            num_threads=self.num_threads,
            layer_decay=self.layer_decay,
            warmup=self.warmup,
            schedule=self.schedule,
            freeze_embeddings=self.freeze_embeddings,
            length_batches=True,
        )

    def fit(
        self,
        X: PostData,
        y: np.ndarray,
        *,
        val: tuple[PostData, np.ndarray] | None = None,
        on_epoch: Callable[[dict[str, Any]], None] | None = None,
        **unused: Any,
    ) -> TextEnsembleModel:
        """``on_epoch``: the fine-tuning epochs' progress (``FineTunedTextModel.fit``)."""
        started = time.perf_counter()
        y = np.asarray(y)
        self.n_classes_ = len(self.classes_)
        if val is None or not len(val[1]):
            X, y, val = _hold_out(X, y, self.val_size, self.seed)
        val_data, val_y = val[0], np.asarray(val[1])
        self.modalities_ = sorted(X.modalities) if self.modalities is None else list(self.modalities)
        self.dims_ = {m: X.dims[m] for m in self.modalities_}
        self.meta_names_ = list(X.meta_names)
        self.finetune_ = self._finetune().fit(
            X, y, val=(val_data, val_y), classes=np.arange(self.n_classes_), on_epoch=on_epoch
        )
        finetuned = np.asarray(self.finetune_.predict_proba(val_data))
        self.features_ = TextFeatures(self.modalities_, vader=self.vader, tfidf=self.tfidf).fit(X)
        train_x, val_x = self.features_.transform(X), self.features_.transform(val_data)
        self.choices_: dict[str, Any] = {"C": {}, "weight": {}}
        best_c, linear = None, None
        for c in C_GRID:
            model = _logreg(c, self.class_weight).fit(train_x, y)
            proba = _full_proba(model, val_x, self.n_classes_)
            score = _macro_f1(val_y, proba, self.n_classes_)
            self.choices_["C"][str(c)] = score
            if best_c is None or score > self.choices_["C"][str(best_c)] + 1e-12:
                best_c, linear = c, proba
        assert best_c is not None and linear is not None
        best_w = max(
            WEIGHT_GRID,
            key=lambda w: (
                round(_macro_f1(val_y, w * finetuned + (1 - w) * linear, self.n_classes_), 12),
                -abs(w - 0.5),
            ),
        )
        for w in WEIGHT_GRID:
            self.choices_["weight"][str(w)] = _macro_f1(val_y, w * finetuned + (1 - w) * linear, self.n_classes_)
        self.C_, self.weight_ = float(best_c), float(best_w)
        if self.refit_linear:  # the choice is made; give the cheap model the validation rows too
            both = _concat(X, val_data)
            self.features_ = TextFeatures(self.modalities_, vader=self.vader, tfidf=self.tfidf).fit(both)
            self.linear_ = _logreg(self.C_, self.class_weight).fit(
                self.features_.transform(both), np.concatenate([y, val_y])
            )
        else:
            self.linear_ = _logreg(self.C_, self.class_weight).fit(train_x, y)
        self.val_scores_ = {
            "finetune": _macro_f1(val_y, finetuned, self.n_classes_),
            "linear": self.choices_["C"][str(best_c)],
            "ensemble": self.choices_["weight"][str(best_w)],
        }
        self.epoch_seconds_ = list(self.finetune_.epoch_seconds_)
        self.epochs_run_ = self.finetune_.epochs_run_
        self.train_seconds_ = time.perf_counter() - started
        return self

    def predict_proba(self, X: PostData) -> np.ndarray:
        finetuned = np.asarray(self.finetune_.predict_proba(X))
        linear = _full_proba(self.linear_, self.features_.transform(X), self.n_classes_)
        return self.weight_ * finetuned + (1 - self.weight_) * linear

    def decision_function(self, X: PostData) -> np.ndarray:
        """Log-probabilities: the logits a student learns from (``distill``)."""
        return np.log(np.clip(self.predict_proba(X), 1e-7, 1.0))

    def predict(self, X: PostData) -> np.ndarray:
        return self.predict_proba(X).argmax(axis=1)

    def save(self, folder: Path) -> None:
        import joblib

        (folder / FINETUNE_FOLDER).mkdir(exist_ok=True)
        self.finetune_.save(folder / FINETUNE_FOLDER)
        joblib.dump({"features": self.features_, "linear": self.linear_}, folder / "linear.joblib")
        (folder / "ensemble.json").write_text(
            json.dumps(
                {
                    "params": self.get_params(),
                    "n_classes": self.n_classes_,
                    "weight": self.weight_,
                    "C": self.C_,
                    "modalities": self.modalities_,
                    "dims": self.dims_,
                    "meta_names": self.meta_names_,
                    "choices": self.choices_,
                    "val_scores": self.val_scores_,
                },
                indent=2,
            )
        )

    @classmethod
    def load(cls, folder: Path) -> TextEnsembleModel:
        import joblib

        state = json.loads((folder / "ensemble.json").read_text())
        model = cls(**state["params"])
        model.n_classes_, model.weight_, model.C_ = state["n_classes"], state["weight"], state["C"]
        model.modalities_, model.dims_, model.meta_names_ = state["modalities"], state["dims"], state["meta_names"]
        model.choices_, model.val_scores_ = state.get("choices", {}), state.get("val_scores", {})
        model.finetune_ = FineTunedTextModel.load(folder / FINETUNE_FOLDER)
        parts = joblib.load(folder / "linear.joblib")
        model.features_, model.linear_ = parts["features"], parts["linear"]
        return model


def _logreg(c: float, class_weight: str | None) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, max_iter=3000, class_weight=class_weight)


def _full_proba(model: Any, x: Any, n_classes: int) -> np.ndarray:
    """One column per class index, 0 for a class the linear model never saw."""
    proba = model.predict_proba(x)
    full = np.zeros((proba.shape[0], n_classes))
    full[:, np.asarray(model.classes_, dtype=np.int64)] = proba
    return full


def _macro_f1(y: np.ndarray, proba: np.ndarray, n_classes: int) -> float:
    return float(classification_metrics(y, proba.argmax(axis=1), n_classes)["macro_f1"])


def _hold_out(
    X: PostData, y: np.ndarray, size: float, seed: int
) -> tuple[PostData, np.ndarray, tuple[PostData, np.ndarray]]:
    from sklearn.model_selection import train_test_split

    rows = np.arange(len(y))
    counts = np.bincount(y)
    stratify = y if counts[counts > 0].min() >= 2 else None
    fit_rows, val_rows = train_test_split(rows, test_size=size, random_state=seed, stratify=stratify)
    return X.subset(fit_rows), y[fit_rows], (X.subset(val_rows), y[val_rows])


def _concat(a: PostData, b: PostData) -> PostData:
    return PostData(
        modalities={m: np.concatenate([a.modalities[m], b.modalities[m]]) for m in a.modalities},
        masks={m: np.concatenate([a.masks[m], b.masks[m]]) for m in a.masks},
        meta=np.concatenate([a.meta, b.meta]),
        meta_names=list(a.meta_names),
        texts=None if a.texts is None or b.texts is None else [*a.texts, *b.texts],
        ids=None if a.ids is None or b.ids is None else [*a.ids, *b.ids],
    )
