"""Late fusion: one expert per modality, pooled with weights learnt on grouped out-of-fold predictions.

Why not only the joint network: on MediaEval every image carries one label and is reposted up to
1,051 times, so inside the training events the picture IS the label. A joint network fits that
(99.9% of its training logit variance is image identity, measured in bench/fusion_study.py) and
the shortcut does not transfer to new events. Here:

* each modality has its own expert (logistic regression on that modality's vectors; ridge for
  regression), trained on the posts that have it, each repeated input weighted once
  (``duplicate_weighting``): a picture reposted 1,000 times is one example for the image expert;
* the experts are pooled log-linearly over the modalities the post HAS (see ``pool_outputs``):
  a weighted mean of their log-probabilities, scaled up by ``beta`` when several agree; a post
  with one modality gets that expert's own opinion, a missing modality simply drops out;
* the weights and ``beta`` are fitted on out-of-fold predictions of inner folds that keep groups (the events /
  authors the caller passes) and identical media on one side, so a modality earns weight only for
  what transfers to unseen groups and unseen pictures, never for memorising them.

Optionally the joint FusionNet joins as one more expert (``joint=True``) and earns its weight the
same way.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from postlens.errors import ConfigError
from postlens.evaluation.group_folds import group_kfold_splits
from postlens.models.duplicates import duplicate_weights, post_weights, vector_keys
from postlens.models.inputs import PostData

META = "meta"
JOINT = "joint"
TASKS = ("classification", "multilabel", "regression")
POOLS = ("evidence", "mean")
"""evidence: weighted mean of the present experts, scaled up by beta (0, 1/2 or 1, chosen) per extra expert;
mean: the weighted mean alone (beta = 0)."""
_FLOOR = np.log(1e-6)


class Expert:
    """A linear model on one modality's vectors (or the metadata): log-probabilities per class,
    logits per label, or a value."""

    def __init__(self, task: str, n_outputs: int, C: float) -> None:
        self.task, self.n_outputs, self.C = task, n_outputs, C

    def fit(self, x: np.ndarray, y: np.ndarray, weights: np.ndarray) -> Expert:
        from sklearn.linear_model import Ridge
        from sklearn.preprocessing import StandardScaler

        self.scaler_ = StandardScaler().fit(x)
        z = self.scaler_.transform(x)
        self.models_: list[Any] = []
        if self.task == "regression":
            self.models_.append(Ridge(alpha=1.0 / self.C).fit(z, y, sample_weight=weights))
        elif self.task == "classification":
            self.models_.append(_fit_classifier(z, y, weights, self.C))
        else:
            self.models_.extend(_fit_classifier(z, y[:, j].astype(int), weights, self.C) for j in range(y.shape[1]))
        return self

    def output(self, x: np.ndarray) -> np.ndarray:
        z = self.scaler_.transform(x)
        if self.task == "regression":
            return self.models_[0].predict(z)[:, None]
        if self.task == "classification":
            return _log_proba(self.models_[0], z, self.n_outputs)
        return np.column_stack([_binary_logit(model, z) for model in self.models_])


def _fit_classifier(z: np.ndarray, y: np.ndarray, weights: np.ndarray, C: float) -> Any:
    """Logistic regression, or the observed class when training rows hold a single class."""
    from sklearn.linear_model import LogisticRegression

    if len(np.unique(y)) < 2:
        return int(y[0])
    return LogisticRegression(C=C, max_iter=2000).fit(z, y, sample_weight=weights)


def _log_proba(model: Any, z: np.ndarray, n_classes: int) -> np.ndarray:
    out = np.full((len(z), n_classes), _FLOOR)
    if isinstance(model, int):
        out[:, model] = 0.0
        return out
    out[:, model.classes_] = np.log(np.maximum(model.predict_proba(z), np.exp(_FLOOR)))
    return out


def _binary_logit(model: Any, z: np.ndarray) -> np.ndarray:
    if isinstance(model, int):
        return np.full(len(z), -_FLOOR if model == 1 else _FLOOR)
    return model.decision_function(z)


class LateFusion:
    """Per-modality experts + a learnt log-linear pool (see the module docstring)."""

    def __init__(
        self,
        *,
        task: str = "classification",
        C: float = 1.0,
        inner_folds: int = 5,
        duplicate_weighting: str = "inverse",
        use_meta: bool = True,
        joint: bool = False,
        joint_params: dict[str, Any] | None = None,
        pool: str = "mean",
        seed: int = 0,
        num_threads: int = 1,
    ) -> None:
        if task not in TASKS:
            raise ConfigError(f"late fusion task must be one of {', '.join(TASKS)}, got {task!r}")
        if pool not in POOLS:
            raise ConfigError(f"unknown late fusion pool {pool!r}; known: {', '.join(POOLS)}")
        self.pool = pool
        self.task, self.C, self.inner_folds, self.duplicate_weighting = task, C, inner_folds, duplicate_weighting
        self.use_meta, self.joint, self.joint_params = use_meta, joint, dict(joint_params or {})
        self.seed, self.num_threads = seed, num_threads

    # ------------------------------------------------------------------ inputs per expert

    def _names(self, data: PostData) -> list[str]:
        names = [m for m in sorted(data.modalities) if data.masks[m].any()]
        if self.use_meta and data.meta.shape[1]:
            names.append(META)
        if self.joint:
            names.append(JOINT)
        return names

    @staticmethod
    def _input(data: PostData, name: str) -> tuple[np.ndarray, np.ndarray]:
        if name == META:
            return data.meta, np.ones(len(data), bool)
        return data.modalities[name], data.masks[name].astype(bool)

    def _n_outputs(self, y: np.ndarray) -> int:
        if self.task == "classification":
            return int(y.max()) + 1
        return int(y.shape[1]) if self.task == "multilabel" else 1

    # ------------------------------------------------------------------ fit

    def fit(
        self,
        data: PostData,
        y: np.ndarray,
        *,
        groups: np.ndarray | None = None,
        sample_weight: np.ndarray | None = None,
        val: tuple[PostData, np.ndarray] | None = None,
    ) -> LateFusion:
        """``groups`` (event, author...) are kept whole inside the inner folds, with identical media and texts."""
        if any(any(w is not None for w in crops) for crops in data.waveforms.values()):
            raise ConfigError(
                "late fusion reads vectors only; waveforms train end to end: use model.fusion 'attention'"
            )
        started = time.perf_counter()
        y = np.asarray(y)
        self.n_outputs_ = self._n_outputs(y)
        self.names_ = self._names(data)
        if not self.names_:
            raise ConfigError("late fusion found no modality with any vector and no metadata to learn from")
        self.dims_ = data.dims
        base = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, float)
        keys = self.inner_groups(data, groups)
        outputs, present = self._out_of_fold(data, y, keys, base)
        row_weights = base * post_weights(data, self.duplicate_weighting)
        self.prior_ = output_prior(y, base, self.task, self.n_outputs_)  # the posts' shares: what a post is a priori
        self.weights_, self.beta_ = fit_pool(
            outputs, present, y, row_weights, self.task, self.prior_, learn_beta=self.pool == "evidence"
        )
        self.oof_scores_ = {
            name: _score(
                self.task,
                y,
                pool_outputs(outputs[[i]], present[:, [i]], np.ones(1), 0.0, self.prior_, self.task),
                row_weights,
            )
            for i, name in enumerate(self.names_)
        }
        self.oof_scores_["pool"] = _score(
            self.task, y, pool_outputs(outputs, present, self.weights_, self.beta_, self.prior_, self.task), row_weights
        )
        self.experts_ = self._fit_experts(data, y, base, val, groups=keys)
        self.train_seconds_ = time.perf_counter() - started
        return self

    def inner_groups(self, data: PostData, groups: np.ndarray | None) -> np.ndarray:
        """Caller's groups joined with identical vectors of every modality: a reposted picture or a
        copied text never sits on both sides of an inner fold."""
        from postlens.models.fusion_select import duplicate_groups

        return duplicate_groups(data, groups)

    def _out_of_fold(
        self, data: PostData, y: np.ndarray, keys: np.ndarray, base: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        k = min(self.inner_folds, len(np.unique(keys.astype(str))))
        outputs = np.zeros((len(self.names_), len(y), self.n_outputs_))
        present = np.zeros((len(y), len(self.names_)), bool)
        for name_index, name in enumerate(self.names_):
            present[:, name_index] = self._input(data, name)[1] if name != JOINT else True
        if k < 2:
            return outputs, present & False  # one group only: no honest estimate, equal weights
        folds = group_kfold_splits(keys, k, y=y if self.task == "classification" else None, seed=self.seed)
        for train_rows, held_rows in folds:
            experts = self._fit_experts(
                data.subset(train_rows), y[train_rows], base[train_rows], None, groups=keys[train_rows]
            )
            outputs[:, held_rows] = self._outputs(experts, data.subset(held_rows))
        return outputs, present

    def _fit_experts(
        self,
        data: PostData,
        y: np.ndarray,
        base: np.ndarray,
        val: tuple[PostData, np.ndarray] | None,
        *,
        groups: np.ndarray | None = None,
    ) -> dict[str, Any]:
        experts: dict[str, Any] = {}
        for name in self.names_:
            if name == JOINT:
                experts[name] = self._fit_joint(data, y, base, val, groups)
                continue
            x, mask = self._input(data, name)
            if not mask.any():
                experts[name] = None
                continue
            weights = base[mask] * duplicate_weights(
                vector_keys(x[mask], np.ones(mask.sum(), bool)), self.duplicate_weighting
            )
            experts[name] = Expert(self.task, self.n_outputs_, self.C).fit(x[mask], y[mask], weights)
        return experts

    def _fit_joint(
        self,
        data: PostData,
        y: np.ndarray,
        base: np.ndarray,
        val: tuple[PostData, np.ndarray] | None,
        groups: np.ndarray | None,
    ) -> Any:
        from postlens.models.fusion import FusionModel

        params = {
            "fusion": "attention",
            "seed": self.seed,
            "num_threads": self.num_threads,
            "duplicate_weighting": self.duplicate_weighting,
            **self.joint_params,
            "task": self.task,
        }
        model = FusionModel(**params)
        if val is None:  # early stopping on whole groups of the training part
            keys = self.inner_groups(data, groups)
            fit_rows, stop_rows = group_kfold_splits(
                keys,
                min(5, len(np.unique(keys.astype(str)))),
                y=y if self.task == "classification" else None,
                seed=self.seed,
            )[0]
            return model.fit(
                data.subset(fit_rows),
                y[fit_rows],
                val=(data.subset(stop_rows), y[stop_rows], None),
                sample_weight=base[fit_rows],
            )
        return model.fit(data, y, val=(val[0], val[1], None), sample_weight=base)

    def _outputs(self, experts: dict[str, Any], data: PostData) -> np.ndarray:
        out = np.zeros((len(self.names_), len(data), self.n_outputs_))
        for i, name in enumerate(self.names_):
            expert = experts.get(name)
            if expert is None:
                continue
            if name == JOINT:
                if self.task == "classification":
                    out[i] = np.maximum(np.log(np.maximum(expert.predict_proba(data), 1e-12)), _FLOOR)
                elif self.task == "multilabel":
                    out[i] = expert.decision_function(data)
                else:
                    out[i] = expert.predict_value(data)[:, None]
                continue
            x, mask = self._input(data, name)
            if mask.any():
                out[i, mask] = expert.output(x[mask])
        return out

    def _present(self, data: PostData) -> np.ndarray:
        present = np.zeros((len(data), len(self.names_)), bool)
        for i, name in enumerate(self.names_):
            present[:, i] = (
                True if name == JOINT else (self._input(data, name)[1] & (self.experts_.get(name) is not None))
            )
        return present

    # ------------------------------------------------------------------ predict

    def weights(self) -> dict[str, float]:
        """The pool's weight per expert (they sum to 1) and ``beta``, how far agreeing experts add up."""
        return {**dict(zip(self.names_, np.round(self.weights_, 4).tolist())), "beta": round(float(self.beta_), 4)}

    def decision(self, data: PostData) -> np.ndarray:
        """Pooled log-probabilities (classification), logits (multi-label) or values (n, 1)."""
        return pool_outputs(
            self._outputs(self.experts_, data), self._present(data), self.weights_, self.beta_, self.prior_, self.task
        )


def output_prior(y: np.ndarray, weights: np.ndarray, task: str, n_outputs: int) -> np.ndarray:
    """What the pool says with no expert: log class shares, label log-odds, or the mean value."""
    weights = weights / weights.sum()
    if task == "classification":
        shares = np.bincount(np.asarray(y, int), weights=weights, minlength=n_outputs) + 1e-3
        return np.log(shares / shares.sum())
    if task == "multilabel":
        rate = np.clip((np.asarray(y, float) * weights[:, None]).sum(axis=0), 1e-3, 1 - 1e-3)
        return np.log(rate / (1 - rate))
    return np.array([float(np.sum(np.asarray(y, float) * weights))])


def pool_outputs(
    outputs: np.ndarray, present: np.ndarray, weights: np.ndarray, beta: float, prior: np.ndarray, task: str
) -> np.ndarray:
    """Pool expert outputs (experts, n, d) over each row's present experts (n, experts).

    Classification / multi-label: ``(1 + beta (k - 1)) mean - beta (k - 1) prior``, ``mean`` being
    the ``weights``-weighted mean of the experts a post has and k their number counted by weight
    (sum of their weights / the largest: two equal experts count 2). A post with one modality gets exactly
    that expert's opinion (even a zero-weight one): the pool never overrules a lone expert, so a pool
    fitted where "nothing transfers" cannot collapse every post onto the majority class. With
    several experts the weights decide whom to trust, and ``beta`` in [0, 1] lets them add up their
    evidence (beta = 1 with equal weights: the product of experts, the class prior counted once).
    Regression: the weighted mean. No expert at all: the prior.
    """
    mixed = present * (np.asarray(weights, float) + _LONE)[None, :]
    total = mixed.sum(axis=1, keepdims=True)
    mean = np.einsum("nm,mnd->nd", mixed, outputs) / np.maximum(total, 1e-300)
    none = present.sum(axis=1, keepdims=True) == 0
    if task == "regression":
        return np.where(none, prior[None, :], mean)
    # experts counted by weight: (0.5, 0.5) counts 2, (1, 0) counts 1 - a zero-weight expert adds nothing
    counted = total / np.maximum(mixed.max(axis=1, keepdims=True), 1e-300)
    extra = beta * np.maximum(counted - 1, 0)
    pooled = np.where(none, prior[None, :], (1 + extra) * mean - extra * prior[None, :])
    if task == "classification":
        pooled = pooled - np.logaddexp.reduce(pooled, axis=1, keepdims=True)
    return pooled


PARSIMONY = 0.005
"""Out-of-fold macro-F1 an extra expert must add to get any pool weight (see ``fit_pool``)."""
_LONE = 1e-9  # added to every weight: a zero-weight expert still speaks for a post it alone covers
BETAS = (0.0, 0.5, 1.0)


def simplex_grid(n_experts: int) -> np.ndarray:
    """Weight vectors on the simplex, steps of 1/10 (1/5 beyond 3 experts, 1/4 beyond 5), most even first."""
    steps = 10 if n_experts <= 3 else 5 if n_experts <= 5 else 4
    points: list[tuple[int, ...]] = []

    def compose(left: int, slots: int, prefix: tuple[int, ...]) -> None:
        if slots == 1:
            points.append((*prefix, left))
            return
        for part in range(left, -1, -1):
            compose(left - part, slots - 1, (*prefix, part))

    compose(steps, n_experts, ())
    grid = np.array(points, float) / steps
    evenness = -((grid - 1 / n_experts) ** 2).sum(axis=1)
    return grid[np.argsort(-evenness, kind="stable")]


def fit_pool(
    outputs: np.ndarray,
    present: np.ndarray,
    y: np.ndarray,
    row_weights: np.ndarray,
    task: str,
    prior: np.ndarray,
    *,
    learn_beta: bool = True,
) -> tuple[np.ndarray, float]:
    """(weights, beta) of the pool that scores best on out-of-fold outputs.

    Classifiers: a grid over the weight simplex (and beta in 0, 1/2, 1), scored by the figure the
    user is judged by (weighted macro-F1), not by log-loss: experts on 384-1280 dimensions are
    overconfident, so log-loss rewards whichever is most extreme, not whichever is right (on MediaEval
    it gave the picture expert 0.6-0.96 while text had the better macro-F1). Macro-F1 ties (to 4
    decimals) go to the lower log-loss, then to the most even weights; but a pool with fewer experts
    within ``PARSIMONY`` of the best figure wins over a fuller one. Regression: weighted least
    squares over the simplex.
    """
    n_experts = outputs.shape[0]
    if not present.any() or n_experts == 1:
        return np.full(n_experts, 1.0 / n_experts), 0.0
    if task == "regression":
        return _least_squares_weights(outputs[:, :, 0], present, np.asarray(y, float), row_weights), 0.0
    scored: list[tuple[tuple[float, float], np.ndarray, float]] = []
    for beta in BETAS if learn_beta else (0.0,):
        for weights in simplex_grid(n_experts):
            pooled = pool_outputs(outputs, present, weights, beta, prior, task)
            key = (round(_score(task, y, pooled, row_weights), 4), -_log_loss(task, y, pooled, row_weights))
            scored.append((key, weights, beta))
    top = max(key[0] for key, _, _ in scored)
    # parsimony: an expert joins the pool only if it buys more than PARSIMONY macro-F1 out of fold; smaller
    # gains did not carry over to held-out events (MediaEval: a 0.1 picture weight cost 0.004 on one fold)
    eligible = [entry for entry in scored if entry[0][0] >= top - PARSIMONY]
    key, weights, beta = min(eligible, key=lambda e: (int((e[1] > 0).sum()), -e[0][0], -e[0][1]))
    return weights, (beta if (weights > 0).sum() > 1 else 0.0)


def _log_loss(task: str, y: np.ndarray, pooled: np.ndarray, weights: np.ndarray) -> float:
    if task == "classification":
        return float(-np.average(pooled[np.arange(len(y)), np.asarray(y, int)], weights=weights))
    logits, target = pooled, np.asarray(y, float)
    per_row = (np.logaddexp(0, logits) - target * logits).mean(axis=1)
    return float(np.average(per_row, weights=weights))


def _least_squares_weights(
    values: np.ndarray, present: np.ndarray, y: np.ndarray, row_weights: np.ndarray
) -> np.ndarray:
    """Simplex weights minimising the weighted squared error of the pooled value (grid, most even first)."""
    best, best_error = None, np.inf
    for weights in simplex_grid(values.shape[0]):
        pooled = pool_outputs(
            values[:, :, None], present, weights, 0.0, np.array([np.average(y, weights=row_weights)]), "regression"
        )[:, 0]
        error = float(np.average((pooled - y) ** 2, weights=row_weights))
        if error < best_error - 1e-12:
            best, best_error = weights, error
    return best if best is not None else np.full(values.shape[0], 1.0 / values.shape[0])


def _score(task: str, y: np.ndarray, pooled: np.ndarray, weights: np.ndarray) -> float:
    """Macro-F1 (classification, multi-label) or minus MAE (regression), rows weighted."""
    from sklearn.metrics import f1_score

    if task == "classification":
        predicted = pooled.argmax(axis=1)
        labels = np.union1d(np.unique(y), np.unique(predicted))
        return float(f1_score(y, predicted, labels=labels, average="macro", sample_weight=weights, zero_division=0))
    if task == "multilabel":
        return float(f1_score(y, pooled > 0, average="macro", sample_weight=weights, zero_division=0))
    return -float(np.average(np.abs(pooled[:, 0] - y), weights=weights))
