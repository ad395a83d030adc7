"""What engagement the author alone predicts: the follower prior and the author's own history.

Engagement scales with audience, so log(engagement) is first explained by log(followers) with a
straight line; the learned model only has to explain what is left (the residual). An author seen
before adds the mean of their earlier residuals, shrunk towards 0 by ``shrinkage`` pseudo-posts,
so one lucky post does not make an author "big". Both are plain arrays: saved as JSON, no pickle.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import numpy as np

PRIOR_COLUMNS = ("log_followers", "followers_known")
HISTORY_COLUMNS = ("author_history", "author_posts_seen")


def prior_inputs(followers: np.ndarray) -> np.ndarray:
    """(n, 2): log1p(followers) (0 when unknown) and whether it is known."""
    known = ~np.isnan(followers)
    return np.column_stack([np.where(known, np.log1p(np.where(known, followers, 0.0)), 0.0), known.astype(float)])


class FollowerPrior:
    """y ~ a + b * log1p(followers) + c * known, least squares; ``enabled=False`` is the training mean."""

    def __init__(self, *, enabled: bool = True) -> None:
        self.enabled = enabled

    def fit(self, followers: np.ndarray, y: np.ndarray) -> FollowerPrior:
        x = prior_inputs(followers)
        self.means_ = x.mean(axis=0)
        if not self.enabled:
            self.intercept_, self.coef_ = float(np.mean(y)), np.zeros(x.shape[1])
            return self
        centred = x - self.means_
        usable = centred.std(axis=0) > 0  # a column constant in training (every follower count unknown) says nothing
        coef = np.zeros(x.shape[1])
        if usable.any():
            coef[usable] = np.linalg.lstsq(centred[:, usable], y - y.mean(), rcond=None)[0]
        self.coef_ = coef
        self.intercept_ = float(y.mean() - self.means_ @ coef)
        return self

    def predict(self, followers: np.ndarray) -> np.ndarray:
        return self.intercept_ + prior_inputs(followers) @ self.coef_

    @property
    def mean_value(self) -> float:
        """The prior at the training means: the base every contribution is measured from."""
        return float(self.intercept_ + self.means_ @ self.coef_)

    def contributions(self, followers: np.ndarray) -> np.ndarray:
        """(n, 2) per column, summing to ``predict - mean_value``."""
        return (prior_inputs(followers) - self.means_) * self.coef_

    def to_json(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "intercept": self.intercept_,
            "coef": self.coef_.tolist(),
            "means": self.means_.tolist(),
        }

    @classmethod
    def from_json(cls, state: dict[str, Any]) -> FollowerPrior:
        prior = cls(enabled=bool(state["enabled"]))
        prior.intercept_ = float(state["intercept"])
        prior.coef_, prior.means_ = np.asarray(state["coef"], float), np.asarray(state["means"], float)
        return prior


class AuthorHistory:
    """Per author: the sum and count of residuals of the posts the model was fitted on."""

    def __init__(self, *, shrinkage: float = 3.0) -> None:
        self.shrinkage = shrinkage

    def fit(self, authors: np.ndarray, residuals: np.ndarray) -> AuthorHistory:
        sums: dict[str, float] = defaultdict(float)
        counts: dict[str, int] = defaultdict(int)
        for author, value in zip(authors, residuals):
            sums[str(author)] += float(value)
            counts[str(author)] += 1
        self.table_ = {a: (sums[a], counts[a]) for a in sums}
        return self

    def _row(self, total: float, count: int) -> tuple[float, float]:
        return (total / (count + self.shrinkage) if count else math.nan), math.log1p(count)

    def features(self, authors: np.ndarray) -> np.ndarray:
        """(n, 2) from every fitted post: what a new post of that author is given."""
        return np.array([self._row(*self.table_.get(str(a), (0.0, 0))) for a in authors], float).reshape(-1, 2)

    def expanding(self, authors: np.ndarray, times: np.ndarray, residuals: np.ndarray) -> np.ndarray:
        """(n, 2) for training rows: only the same author's STRICTLY earlier rows, as at publish time."""
        out = np.zeros((len(authors), 2))
        order = np.argsort(np.nan_to_num(times, nan=-np.inf), kind="stable")
        sums: dict[str, float] = defaultdict(float)
        counts: dict[str, int] = defaultdict(int)
        start = 0
        while start < len(order):
            stop = start
            while stop < len(order) and _same_time(times[order[stop]], times[order[start]]):
                stop += 1
            group = order[start:stop]
            for i in group:
                out[i] = self._row(sums[str(authors[i])], counts[str(authors[i])])
            for i in group:
                sums[str(authors[i])] += float(residuals[i])
                counts[str(authors[i])] += 1
            start = stop
        return out

    def to_json(self) -> dict[str, Any]:
        return {"shrinkage": self.shrinkage, "table": {a: list(v) for a, v in self.table_.items()}}

    @classmethod
    def from_json(cls, state: dict[str, Any]) -> AuthorHistory:
        history = cls(shrinkage=float(state["shrinkage"]))
        history.table_ = {str(a): (float(v[0]), int(v[1])) for a, v in state["table"].items()}
        return history


def _same_time(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))
