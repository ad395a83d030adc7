"""Choose the residual's unset settings on forward-chaining folds inside the fitted period.

The test period never takes part: the fitted posts (train + validation) are cut by time into
``inner_folds`` forward folds (train on the past, score on the next period), and each candidate
(ridge penalty x embeddings on / off) is scored by its mean Spearman there (by its mean squared
error when the prior is flat: no follower counts), and the simplest candidate within one standard
error of the best is kept (no embeddings before embeddings, a stronger penalty before a weaker). The chosen residual's weight is the least-squares
weight of its out-of-fold predictions, clipped to [0, 1], and 0 when it does not beat the prior
alone on those folds by ``MIN_GAIN``: then the model IS the prior.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.stats import spearmanr

from postlens.errors import ConfigError
from postlens.evaluation.folds import make_folds
from postlens.tasks.popularity.config import RIDGE_ALPHAS, PopularityConfig
from postlens.tasks.popularity.frame import EMBEDDING, PopularityFrame
from postlens.tasks.popularity.residual import LinearResidual, residual_weight, within_period

if TYPE_CHECKING:
    from postlens.tasks.popularity.model import PopularityModel

MIN_INNER_POSTS = 60  # fewer fitted posts than this: no inner folds, the defaults below
MIN_GAIN = 0.005  # a residual must beat the prior by this much Spearman (or this share of its MSE) to count


def choose_settings(
    config: PopularityConfig, frame: PopularityFrame, train_rows: np.ndarray, val_rows: np.ndarray
) -> dict[str, Any]:
    """{alpha, embeddings, weight, chosen_by, inner}: the set values from ``config.model``, the rest chosen."""
    m = config.model
    has_embeddings = any(b.kind == EMBEDDING for b in frame.blocks.values())
    alphas = [m.alpha] if m.alpha is not None else list(RIDGE_ALPHAS) if m.residual == "linear" else [1.0]
    embeddings = [m.embeddings] if m.embeddings is not None else [True, False] if has_embeddings else [False]
    fixed = {
        "alpha": alphas[-1],  # without folds to judge by: the strongest penalty, no embeddings
        "embeddings": embeddings[-1],
        "weight": 1.0 if m.weight is None else m.weight,
    }
    if len(alphas) == 1 and len(embeddings) == 1 and m.weight is not None:
        return {**fixed, "chosen_by": "set in the config", "inner": {}}
    fitted = np.sort(np.concatenate([train_rows, val_rows]))
    fitted = fitted[~np.isnan(frame.times[fitted])]
    folds, why = _folds(config, frame.times[fitted])
    if not folds:
        return {**fixed, "chosen_by": f"defaults: no inner folds ({why})", "inner": {}}
    candidates = [(a, e) for e in embeddings for a in alphas]
    out_of_fold: dict[tuple[float, bool], list[_OutOfFold]] = {c: [] for c in candidates}
    held_out = 0
    for fold in folds:
        train, val, test = fitted[fold.train], fitted[fold.val], fitted[fold.test]
        if len(train) < 10 or len(test) < 3:
            continue
        held = frame.subset(test)
        for use in embeddings:
            model = _inner_model(config, alphas[0], use).fit_inner(frame, train, val)
            prior = model.prior(held)
            for alpha, residual in zip(alphas, _residuals(model, held, alphas)):
                out_of_fold[(alpha, use)].append(_OutOfFold(config, held, prior, residual))
        held_out += 1
    if not held_out:
        return {**fixed, "chosen_by": "defaults: the inner folds were too small", "inner": {}}
    flat = all(np.ptp(f.prior) == 0 for f in out_of_fold[candidates[0]])
    per_fold = {c: np.array([f.score(flat) for f in out_of_fold[c]]) for c in candidates}
    scores = {c: float(per_fold[c].mean()) for c in candidates}
    best = _simplest_within_noise(per_fold)
    baseline = float(np.mean([f.score(flat, prior_only=True) for f in out_of_fold[best]]))
    if m.weight is not None:
        weight = m.weight
    elif scores[best] - baseline <= (MIN_GAIN if not flat else MIN_GAIN * abs(baseline)):
        weight = 0.0  # no gain, or one within noise: the prior alone
    else:
        weight = 1.0 if flat else _calibrate(out_of_fold[best])
    measure = "minus MSE" if flat else "Spearman"
    inner = {
        f"prior {measure}": baseline,
        **{f"alpha {a:g}, embeddings {'on' if e else 'off'}": scores[(a, e)] for a, e in candidates},
    }
    return {
        "alpha": best[0],
        "embeddings": best[1],
        "weight": weight,
        "chosen_by": f"{held_out} inner forward folds: {measure} {scores[best]:.3f} vs the prior's {baseline:.3f}",
        "inner": inner,
    }


def _folds(config: PopularityConfig, times: np.ndarray) -> tuple[list[Any], str]:
    """Forward folds at the configured boundary, else at post timestamps (a corpus of a day or two)."""
    if len(times) < MIN_INNER_POSTS:
        return [], f"{len(times)} dated posts, {MIN_INNER_POSTS} needed"
    why = ""
    for boundary in dict.fromkeys([config.split.time_boundary, "timestamp"]):
        try:
            folds = make_folds(
                "time",
                len(times),
                config.model.inner_folds,
                times=times,
                val_size=config.split.val_size,
                seed=config.seed,
                time_boundary=boundary,
            )
            return folds, ""
        except ConfigError as exc:
            why = str(exc)
    return [], why


def _residuals(model: PopularityModel, held: PopularityFrame, alphas: list[float]) -> list[np.ndarray]:
    """The residual on ``held`` for each penalty: a line is refitted on the same design (cheap); trees
    have one penalty."""
    if model.config.model.residual != "linear":
        return [model.residual(held)]
    x, target = model.fitted_design_
    design = model.design(held)
    return [LinearResidual(alpha * len(x)).fit(x, target).predict(design) for alpha in alphas]


def _inner_model(config: PopularityConfig, alpha: float, embeddings: bool) -> PopularityModel:
    from postlens.tasks.popularity.model import PopularityModel

    fixed = config.model.model_copy(update={"alpha": alpha, "embeddings": embeddings, "weight": 1.0})
    return PopularityModel(config.model_copy(update={"model": fixed}))


def _simplest_within_noise(per_fold: dict[tuple[float, bool], np.ndarray]) -> tuple[float, bool]:
    """The one-standard-error rule: the simplest candidate (no embeddings before embeddings, then the
    strongest penalty) whose mean score is within one standard error of the best one's, the error
    taken over the per-fold differences (the folds differ in difficulty far more than the candidates do).
    A few small folds cannot tell a weaker penalty that fits one event from one that carries over."""
    top = max(per_fold, key=lambda c: float(per_fold[c].mean()))
    for candidate in sorted(per_fold, key=lambda c: (c[1], -c[0])):
        gap = per_fold[top] - per_fold[candidate]
        error = float(gap.std(ddof=1) / np.sqrt(len(gap))) if len(gap) > 1 else 0.0
        if gap.mean() <= error:
            return candidate
    return top


class _OutOfFold:
    """One inner fold's held-out posts: the target, the prior, the residual before any weight."""

    def __init__(self, config: PopularityConfig, held: PopularityFrame, prior: np.ndarray, residual: np.ndarray):
        self.y, self.prior, self.residual = held.y, prior, residual
        missed = held.y - prior
        if config.model.within_period:  # what the residual is asked to explain: within each day
            missed, residual = within_period(held.times, missed), within_period(held.times, residual)
        self.missed, self.centred = missed, residual

    def score(self, flat: bool, *, prior_only: bool = False) -> float:
        """Spearman of prior + residual; minus the mean squared error when the prior is flat (no follower
        counts: a ranking cannot tell a residual shrunk to nothing from a useful one)."""
        predicted = self.prior if prior_only else self.prior + self.residual
        return -float(np.mean((predicted - self.y) ** 2)) if flat else _spearman(predicted, self.y)


def _calibrate(folds: list[_OutOfFold]) -> float:
    """The least-squares weight of the residual over what the prior missed, all inner folds pooled, in [0, 1]."""
    weight = residual_weight(np.concatenate([f.missed for f in folds]), np.concatenate([f.centred for f in folds]))
    return min(weight, 1.0)


def _spearman(predicted: np.ndarray, y: np.ndarray) -> float:
    if np.ptp(predicted) == 0 or np.ptp(y) == 0:
        return 0.0
    return float(spearmanr(predicted, y).statistic)
