"""The linear residual: ridge regression on standardised inputs, with exact per-column contributions.

On PHEME, trees on the residual memorise which event a post belongs to (each event was collected
with its own retweet threshold) and lose to followers alone on the next event; a heavily penalised
straight line over the same inputs carries over (bench/popularity.py prints both). A missing value
(NaN) is read as the training mean, so it contributes nothing. It answers ``predict(x,
pred_contrib=True)`` like a LightGBM booster (last column: the bias), so drivers and the saved
folder treat both alike; stored as JSON arrays, no pickle.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np


class LinearResidual:
    """y ~ intercept + sum_j coef_j * (x_j - mean_j) / scale_j; ``alpha``: the ridge penalty (total, not per row)."""

    def __init__(self, alpha: float) -> None:
        self.alpha = alpha

    def fit(self, x: np.ndarray, y: np.ndarray) -> LinearResidual:
        x = np.asarray(x, float)
        with warnings.catch_warnings():  # an all-NaN column (no such fact on this platform): 0, replaced below
            warnings.simplefilter("ignore", RuntimeWarning)
            means = np.nanmean(x, axis=0) if len(x) else np.zeros(x.shape[1])
        self.means_ = np.nan_to_num(means)
        z = self._filled(x) - self.means_
        scales = z.std(axis=0)
        self.scales_ = np.where(scales > 0, scales, 1.0)
        z /= self.scales_
        self.intercept_ = float(np.mean(y)) if len(y) else 0.0
        gram = z.T @ z + self.alpha * np.eye(z.shape[1])
        self.coef_ = np.linalg.solve(gram, z.T @ (y - self.intercept_)) if z.shape[1] else np.zeros(0)
        return self

    def _filled(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, float)
        return np.where(np.isnan(x), self.means_, x)

    def predict(self, x: np.ndarray, *, pred_contrib: bool = False, **_: Any) -> np.ndarray:
        """The residual; ``pred_contrib``: (n, columns + 1) whose rows sum to it."""
        terms = (self._filled(x) - self.means_) / self.scales_ * self.coef_
        bias = np.full((len(terms), 1), self.intercept_)
        if pred_contrib:
            return np.column_stack([terms, bias])
        return terms.sum(axis=1) + bias[:, 0]

    def to_json(self) -> dict[str, Any]:
        return {
            "alpha": self.alpha,
            "intercept": self.intercept_,
            "coef": self.coef_.tolist(),
            "means": self.means_.tolist(),
            "scales": self.scales_.tolist(),
        }

    @classmethod
    def from_json(cls, state: dict[str, Any]) -> LinearResidual:
        line = cls(float(state["alpha"]))
        line.intercept_ = float(state["intercept"])
        line.coef_, line.means_, line.scales_ = (np.asarray(state[k], float) for k in ("coef", "means", "scales"))
        return line


def within_period(times: np.ndarray, values: np.ndarray, seconds: float = 86400.0) -> np.ndarray:
    """``values`` minus the mean of the values in the same period (UTC day); undated rows form one group.

    Training the residual on this keeps what sets a post apart from the others of its day (its
    form, its author beyond followers) and drops which day, or event, was big: that level is not
    known when a post is written, and a model that learns it does not carry over to the next event.
    """
    period = np.where(np.isnan(times), -np.inf, np.floor(np.nan_to_num(times) / seconds))
    out = np.asarray(values, float)
    _, group = np.unique(period, return_inverse=True)  # one pass, whatever the number of days
    means = np.bincount(group, weights=out) / np.bincount(group)
    return out - means[group]


def residual_weight(residual: np.ndarray, predicted: np.ndarray) -> float:
    """The least-squares weight of out-of-fold residual predictions, at least 0: 0 when they do not line
    up with what the prior misses (the model then gives the prior alone)."""
    power = float(predicted @ predicted)
    if power <= 0:
        return 0.0
    return max(float(residual @ predicted) / power, 0.0)
