"""FusionModel: the sklearn-style estimator around FusionNet (fit / predict / predict_proba / save / load).

Tasks: "classification" (softmax), "multilabel" (sigmoid per label), "regression" (one value).
A classifier can also learn popularity on a second head (``y_value``): multi-task.
Imbalance handling inside training: class weights, focal loss, balanced batches.

``fusion``: "attention" / "concat" train the joint FusionNet; "late" trains one expert per modality
and a pool learnt on grouped out-of-fold predictions (``models.late_fusion``), the default, because
the joint network learns reposted pictures as label ids (see bench/fusion_study.py).
``duplicate_weighting`` ("none", "sqrt", "inverse") weights each post by 1/n^p, n = posts sharing
its picture (or other media vector): a picture reposted 1,000 times is one example, not 1,000.
"""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from postlens.errors import ConfigError
from postlens.evaluation.group_folds import group_kfold_splits
from postlens.evaluation.image_groups import combine_groups
from postlens.evaluation.metrics import classification_metrics
from postlens.models.duplicates import media_keys, post_weights
from postlens.models.estimator import PostlensEstimator
from postlens.models.fusion_select import DEFAULT_CANDIDATES, select_variant, variant_params
from postlens.models.inputs import PostData
from postlens.models.torch_utils import balanced_batches, balanced_class_weights, focal_loss, seeded_generator

TREND_EPOCHS = 3
"""Early stopping watches the mean of this many latest validation figures (see ``fit``)."""


class FusionModel(PostlensEstimator):
    kind = "fusion"

    def __init__(
        self,
        *,
        task: str = "classification",
        width: int = 128,
        fusion: str = "attention",
        epochs: int = 30,
        batch_size: int = 64,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        dropout: float = 0.1,
        modality_dropout: float = 0.25,
        patience: int = 5,
        loss: str = "ce",
        focal_gamma: float = 2.0,
        class_weight: str | None = None,
        sampler: str = "shuffle",
        value_weight: float = 0.5,
        seed: int = 0,
        num_threads: int | None = None,
        val_fraction: float = 0.1,
        verbose: bool = False,
        waveform_embed_dim: int = 64,
        waveform_frontend: str = "sinc",
        duplicate_weighting: str = "none",
        late_C: float = 1.0,
        late_folds: int = 5,
        late_meta: bool = True,
        late_joint: bool = False,
        late_pool: str = "mean",
        fusion_candidates: tuple[str, ...] | list[str] = DEFAULT_CANDIDATES,
        select_folds: int = 3,
    ) -> None:
        self.task, self.width, self.fusion, self.epochs = task, width, fusion, epochs
        self.batch_size, self.lr, self.weight_decay, self.dropout = batch_size, lr, weight_decay, dropout
        self.modality_dropout, self.patience, self.loss, self.focal_gamma = (
            modality_dropout,
            patience,
            loss,
            focal_gamma,
        )
        self.class_weight, self.sampler, self.value_weight = class_weight, sampler, value_weight
        self.seed, self.num_threads, self.val_fraction, self.verbose = seed, num_threads, val_fraction, verbose
        self.waveform_embed_dim, self.waveform_frontend = waveform_embed_dim, waveform_frontend
        self.duplicate_weighting = duplicate_weighting
        self.late_C, self.late_folds, self.late_meta, self.late_joint = late_C, late_folds, late_meta, late_joint
        self.late_pool, self.fusion_candidates, self.select_folds = late_pool, fusion_candidates, select_folds

    def _param(self, name: str) -> Any:
        """A parameter as fitted: the variant ``fusion: auto`` chose overrides the constructor's value."""
        return self.__dict__.get("variant_", {}).get(name, getattr(self, name))

    # ------------------------------------------------------------------ tensors

    def _tensors(self, data: PostData, rows: np.ndarray | None = None) -> dict[str, Any]:
        import torch

        from postlens.encoders.video.temporal import pad_sequences

        part = data if rows is None else data.subset(rows)
        inputs = {
            m: torch.from_numpy(np.ascontiguousarray(part.modalities[m], np.float32))
            for m in self.dims_
            if m in part.modalities
        }
        names = list(self.dims_) + list(getattr(self, "waveform_", {}))
        masks = {m: torch.from_numpy(part.masks[m].astype(bool)) for m in names if m in part.masks}
        meta = (
            torch.from_numpy(np.ascontiguousarray(part.meta, np.float32))
            if self.meta_dim_
            else torch.zeros(len(part), 0)
        )
        sequences = {}
        for m, dim in self.sequence_dims_.items():
            seqs = part.sequences.get(m)
            if seqs is None:
                continue
            filled = [s if s is not None and len(s) else np.zeros((1, dim), np.float32) for s in seqs]
            padded, lengths, _ = pad_sequences(filled, max_len=64)
            sequences[m] = (padded, lengths)
        waveforms = {m: part.waveforms.get(m) or [None] * len(part) for m in getattr(self, "waveform_", {})}
        return {"inputs": inputs, "masks": masks, "meta": meta, "sequences": sequences or None, "waveforms": waveforms}

    def _waveform_batch(
        self, lists: dict[str, list[np.ndarray | None]], masks: dict[str, Any], rows: np.ndarray, generator: Any = None
    ) -> dict[str, tuple[Any, Any]] | None:
        """RawNet input for ``rows``: one random crop per present row when training, all crops at eval."""
        import torch

        from postlens.models.waveform import pick_crops

        if not lists:
            return None
        out = {}
        for m, crops in lists.items():
            present = masks[m].numpy() if m in masks else np.zeros(len(rows), bool)
            picked = [crops[i] for i in rows]
            draws = None if generator is None else torch.rand(len(rows), generator=generator).numpy()
            chosen, owners = pick_crops(picked, present, draws, self.waveform_samples_)
            out[m] = (torch.from_numpy(chosen), torch.from_numpy(owners))
        return out

    def _build(self, data: PostData, n_classes: int, regression: bool) -> Any:
        from postlens.models.fusion_net import FusionNet

        self.dims_ = data.dims
        self.meta_dim_ = int(data.meta.shape[1])
        self.meta_names_ = list(data.meta_names)
        self.sequence_dims_ = {m: self.dims_[m] for m, s in data.sequences.items() if any(x is not None for x in s)}
        self.waveform_ = {
            m: {"embed_dim": self.waveform_embed_dim, "frontend": self.waveform_frontend}
            for m, w in data.waveforms.items()
            if any(x is not None for x in w)
        }
        self.waveform_samples_ = next(
            (int(np.atleast_2d(x).shape[1]) for w in data.waveforms.values() for x in w if x is not None), 0
        )
        self.n_classes_ = n_classes
        self.regression_ = regression
        return FusionNet(
            self.dims_,
            self.meta_dim_,
            width=self.width,
            n_classes=n_classes,
            regression=regression,
            fusion=self._param("fusion"),
            dropout=self.dropout,
            sequence_dims=self.sequence_dims_,
            waveform=self.waveform_,
        )

    # ------------------------------------------------------------------ fit

    def fit(
        self,
        data: PostData,
        y: np.ndarray,
        *,
        y_value: np.ndarray | None = None,
        val: tuple[PostData, np.ndarray, np.ndarray | None] | None = None,
        groups: np.ndarray | None = None,
        sample_weight: np.ndarray | None = None,
    ) -> FusionModel:
        """``groups`` (event, author...): kept whole in late fusion's inner folds and in the
        early-stopping slice carved when ``val`` is None; ``sample_weight`` multiplies each row's loss."""
        import torch
        import torch.nn.functional as F

        self.variant_: dict[str, Any] = {}
        self.__dict__.pop("tuning_", None)
        if self.fusion == "auto":  # chosen by grouped CV inside these training rows (fusion_select)
            chosen, self.tuning_ = select_variant(
                self.get_params(),
                self.fusion_candidates,
                data,
                np.asarray(y),
                groups=groups,
                sample_weight=sample_weight,
                y_value=y_value,
                folds=self.select_folds,
            )
            self.variant_ = variant_params(chosen)
        if self._param("fusion") == "late":
            return self._fit_late(data, y, val, groups, sample_weight, y_value)
        generator = seeded_generator(self.seed)
        rng = np.random.default_rng(self.seed)
        y = np.asarray(y)
        row_weight = self._row_weights(data, sample_weight)
        if val is None:
            fit_rows, val_rows = self._carve_val(data, y, groups, rng)
            val = (data.subset(val_rows), y[val_rows], None if y_value is None else y_value[val_rows])
            data, y, y_value = data.subset(fit_rows), y[fit_rows], None if y_value is None else y_value[fit_rows]
            row_weight = None if row_weight is None else row_weight[fit_rows]
        classify = self.task in ("classification", "multilabel")
        if self.task == "classification":
            n_classes = int(max(y.max(), val[1].max() if len(val[1]) else 0)) + 1
        elif self.task == "multilabel":
            n_classes = int(y.shape[1])
        else:
            n_classes = 0
        values = y.astype(np.float32) if self.task == "regression" else y_value
        self.net_ = self._build(data, n_classes, regression=values is not None)
        if values is not None:
            finite = values[~np.isnan(values)]
            self.value_mean_, self.value_std_ = float(finite.mean()), float(finite.std() or 1.0)
        weight = None
        if self.task == "classification" and self.class_weight == "balanced":
            weight = torch.from_numpy(balanced_class_weights(y.astype(int), n_classes))
        optimizer = torch.optim.AdamW(self.net_.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        tensors = self._tensors(data)
        y_t = torch.from_numpy(y.astype(np.int64 if self.task == "classification" else np.float32))
        v_t = (
            None
            if values is None
            else torch.from_numpy(((values - self.value_mean_) / self.value_std_).astype(np.float32))
        )
        w_t = None if row_weight is None else torch.from_numpy(row_weight.astype(np.float32))
        best, best_state, stale, best_trend = -np.inf, None, 0, -np.inf
        self.history_: list[dict[str, float]] = []
        started = time.perf_counter()
        for epoch in range(self.epochs):
            self.net_.train()
            if self.sampler == "balanced" and self.task == "classification":
                batches = balanced_batches(y.astype(int), self.batch_size, rng)
            else:
                perm = torch.randperm(len(data), generator=generator).numpy()
                batches = [perm[i : i + self.batch_size] for i in range(0, len(perm), self.batch_size)]
            total = 0.0
            for rows in batches:
                rows_t = torch.from_numpy(np.asarray(rows))
                batch = self._batch(tensors, rows_t, generator, train=True)
                logits, value = self.net_(**batch)
                w_rows = None if w_t is None else w_t[rows_t]
                loss = torch.zeros(())
                if classify and logits is not None:
                    if self.task == "multilabel":
                        per_row = F.binary_cross_entropy_with_logits(logits, y_t[rows_t], reduction="none").mean(1)
                    elif self.loss == "focal":
                        per_row = focal_loss(
                            logits, y_t[rows_t], gamma=self.focal_gamma, weight=weight, reduction="none"
                        )
                    else:
                        per_row = F.cross_entropy(logits, y_t[rows_t], weight=weight, reduction="none")
                    loss = _reduce(
                        per_row, w_rows, None if self.task == "multilabel" or weight is None else weight[y_t[rows_t]]
                    )
                if value is not None and v_t is not None:
                    target = v_t[rows_t]
                    known = ~torch.isnan(target)
                    if known.any():
                        per_value = F.smooth_l1_loss(value[known], target[known], reduction="none")
                        reg = _reduce(per_value, None if w_rows is None else w_rows[known], None)
                        loss = loss + (reg if not classify else self.value_weight * reg)
                optimizer.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(self.net_.parameters(), 5.0)
                optimizer.step()
                total += float(loss.detach()) * len(rows)
            score = self._val_score(*val)
            # stop on the trend (mean of the last TREND_EPOCHS val figures), keep the best single epoch's weights:
            # one lucky early epoch on a small or coarse (macro-F1) validation side no longer ends training
            trend = float(np.mean([h["val_score"] for h in self.history_[-(TREND_EPOCHS - 1) :]] + [score]))
            self.history_.append(
                {"epoch": epoch + 1, "train_loss": total / max(1, len(data)), "val_score": score, "val_trend": trend}
            )
            if self.verbose:
                print(f"epoch {epoch + 1}: loss {total / len(data):.4f} val {score:.4f} trend {trend:.4f}")
            if score > best + 1e-6:
                best, best_state = score, copy.deepcopy(self.net_.state_dict())
            if trend > best_trend + 1e-6:
                best_trend, stale = trend, 0
            else:
                stale += 1
                if stale >= self.patience:
                    break
        self.train_seconds_ = time.perf_counter() - started
        self.epochs_run_ = len(self.history_)
        if best_state is not None:
            self.net_.load_state_dict(best_state)
        self.best_val_score_ = float(best)
        self.net_.eval()
        return self

    def _row_weights(self, data: PostData, sample_weight: np.ndarray | None) -> np.ndarray | None:
        """Per-row loss weights: duplicate weighting times the caller's weights (None: plain mean)."""
        if self.duplicate_weighting == "none" and sample_weight is None:
            return None
        weights = post_weights(data, self.duplicate_weighting)
        return weights if sample_weight is None else weights * np.asarray(sample_weight, float)

    def _carve_val(
        self, data: PostData, y: np.ndarray, groups: np.ndarray | None, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Rows to fit and rows to stop early on, about ``val_fraction`` of them; whole groups and
        identical media (one picture's reposts) stay on one side, so early stopping does not
        reward memorising a picture. Falls back to a random slice when there are no two groups."""
        given = [np.asarray(groups, dtype=object)] if groups is not None else []
        media = list(media_keys(data).values())
        if given or media:
            keys = combine_groups(*given, *media)
            n_groups = len(np.unique(keys.astype(str)))
            k = min(max(2, int(round(1 / max(self.val_fraction, 1e-3)))), n_groups // 2)
            if k >= 2:
                splits = group_kfold_splits(keys, k, y=y if self.task == "classification" else None, seed=self.seed)
                wanted = len(np.unique(y)) if self.task == "classification" else 0
                # the first slice holding every class: a one-class slice makes macro-F1 early stopping blind
                fit_rows, val_rows = next((s for s in splits if len(np.unique(y[s[1]])) >= wanted), splits[0])
                return fit_rows, val_rows
        order = rng.permutation(len(data))
        n_val = max(1, int(len(data) * self.val_fraction))
        return np.sort(order[n_val:]), np.sort(order[:n_val])

    def _fit_late(
        self,
        data: PostData,
        y: np.ndarray,
        val: tuple[PostData, np.ndarray, np.ndarray | None] | None,
        groups: np.ndarray | None,
        sample_weight: np.ndarray | None,
        y_value: np.ndarray | None,
    ) -> FusionModel:
        """Late fusion; a classifier asked to learn popularity too (``y_value``) gets a second, regression
        late fusion on the posts whose popularity is known (no shared network to put a second head on)."""
        from postlens.models.late_fusion import LateFusion

        y = np.asarray(y)
        net = {
            k: getattr(self, k)
            for k in (
                "width",
                "epochs",
                "batch_size",
                "lr",
                "weight_decay",
                "dropout",
                "modality_dropout",
                "patience",
                "loss",
                "focal_gamma",
                "class_weight",
                "sampler",
                "val_fraction",
            )
        }
        if self.task == "classification" and (
            self.class_weight == "balanced" or self.loss == "focal" or self.sampler == "balanced"
        ):
            # the linear experts' nearest equivalent of every in-training imbalance method: balanced class
            # weights (given to the optional joint network too, instead of its own method)
            balanced = balanced_class_weights(y.astype(int), int(y.max()) + 1)[y.astype(int)]
            sample_weight = balanced if sample_weight is None else balanced * np.asarray(sample_weight, float)
            net.update(loss="ce", class_weight=None, sampler="shuffle")
        self.late_ = LateFusion(
            task=self.task,
            C=self.late_C,
            inner_folds=self.late_folds,
            duplicate_weighting=self.duplicate_weighting,
            use_meta=self.late_meta,
            joint=self._param("late_joint"),
            joint_params=net,
            pool=self._param("late_pool"),
            seed=self.seed,
            num_threads=self._threads(),
        )
        self.late_.fit(
            data, y, groups=groups, sample_weight=sample_weight, val=None if val is None else (val[0], val[1])
        )
        self.late_value_ = None
        if y_value is not None and self.task != "regression":
            known = np.flatnonzero(~np.isnan(np.asarray(y_value, float)))
            if len(known) < 2:
                raise ConfigError("popularity is known for fewer than 2 training posts; drop aux_popularity")
            self.late_value_ = LateFusion(
                task="regression",
                C=self.late_C,
                inner_folds=self.late_folds,
                duplicate_weighting=self.duplicate_weighting,
                use_meta=self.late_meta,
                seed=self.seed,
                num_threads=self._threads(),
            )
            self.late_value_.fit(
                data.subset(known),
                np.asarray(y_value, float)[known],
                groups=None if groups is None else np.asarray(groups, dtype=object)[known],
                sample_weight=None if sample_weight is None else np.asarray(sample_weight)[known],
            )
        self.dims_, self.meta_dim_, self.meta_names_ = data.dims, int(data.meta.shape[1]), list(data.meta_names)
        self.sequence_dims_, self.waveform_, self.waveform_samples_ = {}, {}, 0
        self.regression_ = self.task == "regression" or self.late_value_ is not None
        self.n_classes_ = self.late_.n_outputs_ if self.task != "regression" else 0
        if self.regression_:
            self.value_mean_, self.value_std_ = 0.0, 1.0
        score = self._val_score(*val) if val is not None and len(val[1]) else float(self.late_.oof_scores_["pool"])
        self.history_ = [{"epoch": 1, "train_loss": float("nan"), "val_score": score}]
        self.epochs_run_, self.best_val_score_ = 1, score
        self.train_seconds_ = self.late_.train_seconds_
        return self

    def _batch(self, tensors: dict[str, Any], rows: Any, generator: Any, *, train: bool) -> dict[str, Any]:
        import torch

        masks = {m: mask[rows] for m, mask in tensors["masks"].items()}
        if train and self.modality_dropout > 0:
            masks = {
                m: mask & (torch.rand(len(rows), generator=generator) >= self.modality_dropout)
                for m, mask in masks.items()
            }
        sequences = None
        if tensors["sequences"]:
            sequences = {}
            for m, (padded, lengths) in tensors["sequences"].items():
                sub_len = lengths[rows]
                sequences[m] = (padded[rows][:, : int(sub_len.max())], sub_len)
        waveforms = self._waveform_batch(tensors["waveforms"], masks, rows.numpy(), generator if train else None)
        return {
            "inputs": {m: x[rows] for m, x in tensors["inputs"].items()},
            "masks": masks,
            "meta": tensors["meta"][rows],
            "sequences": sequences,
            "waveforms": waveforms,
        }

    def _val_score(self, data: PostData, y: np.ndarray, y_value: np.ndarray | None) -> float:
        """Macro-F1 for classifiers (what imbalance-aware users care about), minus MAE for regression."""
        if self.task == "classification":
            return classification_metrics(y, self.predict(data), self.n_classes_)["macro_f1"]
        if self.task == "multilabel":
            from sklearn.metrics import f1_score

            return float(f1_score(y, self.predict(data), average="macro", zero_division=0))
        return -float(np.nanmean(np.abs(self.predict_value(data) - y)))

    # ------------------------------------------------------------------ predict

    def _forward(self, data: PostData, batch_size: int = 1024) -> tuple[np.ndarray | None, np.ndarray | None]:
        import torch

        if getattr(self, "late_", None) is not None:
            pooled = self.late_.decision(data)
            if self.task == "regression":
                return None, pooled[:, 0]
            second = getattr(self, "late_value_", None)
            return pooled, None if second is None else second.decision(data)[:, 0]
        self.net_.eval()
        logits_out, values_out = [], []
        with torch.no_grad():
            for start in range(0, len(data), batch_size):
                rows = np.arange(start, min(len(data), start + batch_size))
                tensors = self._tensors(data, rows)
                lists = tensors.pop("waveforms")
                tensors["waveforms"] = self._waveform_batch(lists, tensors["masks"], np.arange(len(rows)))
                logits, value = self.net_(**tensors)
                if logits is not None:
                    logits_out.append(logits.numpy())
                if value is not None:
                    values_out.append(value.numpy())
        logits_arr = np.concatenate(logits_out) if logits_out else None
        values_arr = np.concatenate(values_out) * self.value_std_ + self.value_mean_ if values_out else None
        return logits_arr, values_arr

    def decision_function(self, data: PostData) -> np.ndarray:
        logits, _ = self._forward(data)
        if logits is None:
            raise ValueError("this model has no classification head (task='regression'); use predict_value")
        return logits

    def predict_proba(self, data: PostData) -> np.ndarray:
        logits = self.decision_function(data)
        if self.task == "multilabel":
            return 1 / (1 + np.exp(-logits))
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)

    def predict_value(self, data: PostData) -> np.ndarray:
        _, values = self._forward(data)
        if values is None:
            raise ValueError("this model has no regression head; train with y_value or task='regression'")
        return values

    def predict(self, data: PostData) -> np.ndarray:
        if self.task == "regression":
            return self.predict_value(data)
        proba = self.predict_proba(data)
        return (proba >= 0.5).astype(np.float32) if self.task == "multilabel" else proba.argmax(axis=1)

    # ------------------------------------------------------------------ persistence

    def save(self, folder: Path) -> None:
        import torch

        state = {
            "params": self.get_params(),
            "dims": self.dims_,
            "meta_dim": self.meta_dim_,
            "meta_names": self.meta_names_,
            "sequence_dims": self.sequence_dims_,
            "n_classes": self.n_classes_,
            "waveform": self.waveform_,
            "waveform_samples": self.waveform_samples_,
            "regression": self.regression_,
            "value_mean": getattr(self, "value_mean_", 0.0),
            "value_std": getattr(self, "value_std_", 1.0),
            "variant": getattr(self, "variant_", {}),
        }
        (folder / "fusion.json").write_text(json.dumps(state, indent=2))
        if getattr(self, "late_", None) is not None:
            import joblib

            joblib.dump({"late": self.late_, "value": getattr(self, "late_value_", None)}, folder / "late.joblib")
            return
        torch.save(self.net_.state_dict(), folder / "weights.pt")

    @classmethod
    def load(cls, folder: Path) -> FusionModel:
        import torch

        from postlens.models.fusion_net import FusionNet

        state = json.loads((folder / "fusion.json").read_text())
        model = cls(**state["params"])
        model.dims_, model.meta_dim_, model.meta_names_ = state["dims"], state["meta_dim"], state["meta_names"]
        model.sequence_dims_, model.n_classes_, model.regression_ = (
            state["sequence_dims"],
            state["n_classes"],
            state["regression"],
        )
        model.value_mean_, model.value_std_ = state["value_mean"], state["value_std"]
        model.waveform_, model.waveform_samples_ = state.get("waveform", {}), state.get("waveform_samples", 0)
        model.variant_ = state.get("variant", {})
        if model._param("fusion") == "late":
            import joblib

            saved = joblib.load(folder / "late.joblib")
            model.late_, model.late_value_ = saved["late"], saved["value"]
            return model
        model.net_ = FusionNet(
            model.dims_,
            model.meta_dim_,
            width=model.width,
            n_classes=model.n_classes_,
            regression=model.regression_,
            fusion=model._param("fusion"),
            dropout=model.dropout,
            sequence_dims=model.sequence_dims_,
            waveform=model.waveform_,
        )
        model.net_.load_state_dict(torch.load(folder / "weights.pt", weights_only=True))
        model.net_.eval()
        return model


def _reduce(per_row: Any, row_weight: Any, normaliser: Any) -> Any:
    """Mean of per-row losses: weighted by ``row_weight`` when given; ``normaliser`` (class weights
    of the targets) reproduces torch's weighted cross-entropy mean."""
    if row_weight is None:
        return per_row.mean() if normaliser is None else per_row.sum() / normaliser.sum()
    scale = row_weight if normaliser is None else row_weight * normaliser
    return (per_row * row_weight).sum() / scale.sum().clamp_min(1e-12)
