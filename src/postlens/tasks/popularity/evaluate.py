"""The honest figures of a popularity model: one time split, the learned model and its baselines on it.

Baselines, computed on exactly the same train / test posts:
- followers only: a straight line in log(followers), fitted on the training period (step 4's 0.665);
- author mean: each author's mean target over the fitted posts, else the overall mean (for YouTube
  the channel-mean baseline: the channel is the author);
- prior + history: the learned model's own first stage, without the rest of the residual.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from postlens.errors import ConfigError
from postlens.evaluation.metrics import regression_metrics
from postlens.evaluation.splits import Split, make_split
from postlens.tasks.popularity.config import PopularityConfig
from postlens.tasks.popularity.frame import PopularityFrame
from postlens.tasks.popularity.model import PopularityModel
from postlens.tasks.popularity.prior import FollowerPrior


@dataclass
class Evaluation:
    """``figures``: name -> regression figures on the test period; ``split``: row indices into the frame."""

    model: PopularityModel
    split: Split
    figures: dict[str, dict[str, Any]]
    test_predictions: np.ndarray
    notes: dict[str, Any] = field(default_factory=dict)


def time_split(frame: PopularityFrame, config: PopularityConfig) -> Split:
    """Train / val / test by reference time over the posts that have a target (row indices of ``frame``)."""
    usable = np.flatnonzero(~np.isnan(frame.y) & ~np.isnan(frame.times))
    if len(usable) < 20:
        raise ConfigError(
            f"only {len(usable)} posts have both a time and a {config.target.metric} count; "
            "popularity needs at least 20 to split by time"
        )
    s = config.split
    split = make_split(
        "time",
        len(usable),
        times=frame.times[usable],
        test_size=s.test_size,
        val_size=s.val_size,
        seed=config.seed,
        time_boundary=s.time_boundary,
    )
    return Split(usable[split.train], usable[split.val], usable[split.test], split.info)


def followers_only(frame: PopularityFrame, train: np.ndarray, rows: np.ndarray) -> np.ndarray:
    return FollowerPrior().fit(frame.followers[train], frame.y[train]).predict(frame.followers[rows])


def author_mean(frame: PopularityFrame, fitted: np.ndarray, rows: np.ndarray) -> np.ndarray:
    sums: dict[str, list[float]] = {}
    for i in fitted:
        sums.setdefault(str(frame.author[i]), []).append(float(frame.y[i]))
    overall = float(np.mean(frame.y[fitted]))
    return np.array([float(np.mean(sums[str(a)])) if str(a) in sums else overall for a in frame.author[rows]])


def evaluate(frame: PopularityFrame, config: PopularityConfig, *, split: Split | None = None) -> Evaluation:
    """Fit on the training period (early stopping on validation), score every model on the test period."""
    split = split or time_split(frame, config)
    if len(split.test) == 0 or len(split.train) == 0:
        raise ConfigError(f"the time split left an empty side {split.sizes()}; lower split.test_size or add posts")
    model = PopularityModel(config).fit(frame, split.train, split.val)
    test = frame.subset(split.test)
    fitted = np.concatenate([split.train, split.val])
    predicted = model.predict(test)
    y = test.y
    figures = {"learned (prior + residual)": regression_metrics(y, predicted)}
    if not np.isnan(frame.followers[split.train]).all():
        figures["followers only (linear)"] = regression_metrics(y, followers_only(frame, split.train, split.test))
    figures["author mean"] = regression_metrics(y, author_mean(frame, fitted, split.test))
    if model.history_ is not None:
        history = model.history_.features(test.author)[:, 0]
        figures["prior + author history"] = regression_metrics(y, model.prior(test) + np.nan_to_num(history))
    seen = np.isin(test.author, frame.author[fitted])
    notes = {
        "sizes": split.sizes(),
        "trees": model.best_iteration_,
        "residual": model.describe(),
        "inner folds": model.choice_.get("inner", {}),
        "test posts whose author was seen in training": int(seen.sum()),
    }
    return Evaluation(model=model, split=split, figures=figures, test_predictions=predicted, notes=notes)
