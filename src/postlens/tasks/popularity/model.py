"""The popularity model: follower prior + author history + LightGBM on the residual, with drivers.

prediction = prior(followers) + trees(text, tags, sentiment, metadata, author facts, author history)

The trees learn only what followers do not explain, stop early on the next period (time split),
and their ``pred_contrib`` (exact per-feature additive contributions for a tree model) plus the
prior's own linear terms give each prediction's drivers: ``base + sum(drivers) == prediction``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from postlens.errors import ConfigError
from postlens.machine import available_cores
from postlens.tasks.popularity.config import PopularityConfig
from postlens.tasks.popularity.frame import EMBEDDING, PopularityFrame
from postlens.tasks.popularity.percentile import Comparables, follower_band
from postlens.tasks.popularity.prior import (
    HISTORY_COLUMNS,
    PRIOR_COLUMNS,
    AuthorHistory,
    FollowerPrior,
)
from postlens.tasks.popularity.reducers import Projection, TagProjection

TAGS = "tags"
HISTORY = "history"
AUTHOR_SIDE = {"log_followers", "followers_known", *HISTORY_COLUMNS}
MODALITY_OF_BLOCK = {"sentiment": "text", "author": "author", "post": "post", TAGS: TAGS, HISTORY: "author"}


@dataclass
class Explanation:
    """Per post: ``base + values.sum(axis=1) == prediction``; ``names[j]`` is driver j, ``modality[j]`` its block."""

    ids: list[str]
    base: float
    names: list[str]
    modality: list[str]
    values: np.ndarray
    prediction: np.ndarray

    def by_modality(self) -> tuple[list[str], np.ndarray]:
        """The drivers summed per modality / block (text, image, tags, author, post...)."""
        kinds = list(dict.fromkeys(self.modality))
        summed = np.column_stack([self.values[:, [j for j, m in enumerate(self.modality) if m == kind]].sum(axis=1)
                                  for kind in kinds]) if kinds else np.zeros((len(self.ids), 0))
        return kinds, summed

    def top(self, row: int, k: int = 6) -> list[tuple[str, str, float]]:
        """The ``k`` strongest drivers of one post: (name, modality, contribution), largest |effect| first."""
        order = np.argsort(-np.abs(self.values[row]), kind="stable")[:k]
        return [(self.names[j], self.modality[j], float(self.values[row, j])) for j in order]


@dataclass
class Column:
    name: str
    driver: str
    modality: str


@dataclass
class PopularityModel:
    """Fit with ``fit(frame, train_rows, val_rows)``; ``predict`` / ``explain`` / ``percentile`` on any frame."""

    config: PopularityConfig
    columns_: list[Column] = field(default_factory=list)
    block_columns_: dict[str, list[str]] = field(default_factory=dict)

    # ------------------------------------------------------------------ fitting
    def fit(self, frame: PopularityFrame, train_rows: np.ndarray, val_rows: np.ndarray | None = None) -> PopularityModel:
        train_rows = np.asarray(train_rows, int)
        if len(train_rows) < 10 or np.isnan(frame.y[train_rows]).any():
            raise ConfigError(f"popularity needs at least 10 training posts with a target, got {len(train_rows)} "
                              "(rows without a target cannot be fitted)")
        m, f = self.config.model, self.config.features
        self.curve_: Any = None  # an EngagementCurve, set by fit_popularity when snapshots allow one
        train = frame.subset(train_rows)
        self.prior_ = FollowerPrior(enabled=m.prior == "followers").fit(train.followers, train.y)
        residual = train.y - self.prior_.predict(train.followers)
        self.projections_: dict[str, Projection] = {}
        for name, block in frame.blocks.items():
            if block.kind == EMBEDDING and f.embedding_components:
                self.projections_[name] = Projection.fit_pca(block.matrix[train_rows], f.embedding_components, seed=self.config.seed)
        has_tags = any(train.tags)
        self.tags_ = TagProjection.fit(train.tags, f.tag_components, seed=self.config.seed) if f.tag_components and has_tags else None
        self.block_columns_ = {name: list(block.columns) for name, block in frame.blocks.items()}
        self.kinds_ = {name: block.kind for name, block in frame.blocks.items()}
        self.columns_ = self._columns()
        self.history_ = AuthorHistory(shrinkage=m.history_shrinkage).fit(train.author, residual) if f.author_history else None
        history = self.history_.expanding(train.author, train.times, residual) if self.history_ else None
        x_train = self._design(train, history)
        valid = None
        if val_rows is not None and len(val_rows):
            val = frame.subset(np.asarray(val_rows, int))
            x_val = self._design(val, self.history_.features(val.author) if self.history_ else None)
            valid = (x_val, val.y - self.prior_.predict(val.followers))
        self.booster_, self.best_iteration_ = _fit_trees(self.config, x_train, residual, valid)
        fitted = train_rows if valid is None else np.concatenate([train_rows, np.asarray(val_rows, int)])
        everything = frame.subset(fitted)
        if self.history_ is not None:  # a new post's author history: every post the model has seen
            self.history_.fit(everything.author, everything.y - self.prior_.predict(everything.followers))
        self.comparables_ = Comparables(min_group=self.config.percentile.min_group).fit(
            self.predict(everything), everything.platform, everything.followers)
        return self

    def _columns(self) -> list[Column]:
        out = []
        for name, columns in self.block_columns_.items():
            if name in self.projections_:
                out += [Column(f"{name}_pc{j}", name, name) for j in range(self.projections_[name].size)]
            elif self.kinds_[name] == EMBEDDING:
                out += [Column(c, name, name) for c in columns]
            else:
                modality = MODALITY_OF_BLOCK.get(name, "post")
                out += [Column(c, c, "author" if c in AUTHOR_SIDE else modality) for c in columns]
        if self.tags_ is not None:
            out += [Column(f"tags_c{j}", TAGS, TAGS) for j in range(self.tags_.size)]
        if self.config.features.author_history:
            out += [Column(c, c, "author") for c in HISTORY_COLUMNS]
        return out

    def _design(self, frame: PopularityFrame, history: np.ndarray | None) -> np.ndarray:
        parts = []
        for name, columns in self.block_columns_.items():
            block = frame.blocks.get(name)
            if block is None or block.columns != columns:
                raise ConfigError(f"the posts' {name!r} inputs differ from the model's ({columns[:4]}...); "
                                  "read them with the model's settings (load_frame(..., feature_keys=model.feature_keys))")
            parts.append(self.projections_[name].transform(block.matrix) if name in self.projections_ else block.matrix)
        if self.tags_ is not None:
            parts.append(self.tags_.transform(frame.tags))
        if history is not None:
            parts.append(history)
        return np.column_stack(parts).astype(np.float32) if parts else np.zeros((len(frame), 0), np.float32)

    def _history(self, frame: PopularityFrame) -> np.ndarray | None:
        return self.history_.features(frame.author) if self.history_ is not None else None

    # ------------------------------------------------------------------ use
    def prior(self, frame: PopularityFrame) -> np.ndarray:
        """What the author's followers alone predict (log1p scale)."""
        return self.prior_.predict(frame.followers)

    def predict(self, frame: PopularityFrame) -> np.ndarray:
        """log1p(engagement) at the target horizon, from what is known at publish time."""
        if len(frame) == 0:
            return np.zeros(0)
        trees = self.booster_.predict(self._design(frame, self._history(frame)), num_iteration=self.best_iteration_)
        return self.prior(frame) + trees

    def explain(self, frame: PopularityFrame) -> Explanation:
        """Drivers of each prediction: tree contributions per driver (embedding blocks summed, other columns
        by name) plus the prior's terms added to log_followers / followers_known."""
        x = self._design(frame, self._history(frame))
        contrib = self.booster_.predict(x, num_iteration=self.best_iteration_, pred_contrib=True)
        drivers = list(dict.fromkeys(c.driver for c in self.columns_))
        index = {d: j for j, d in enumerate(drivers)}
        values = np.zeros((len(frame), len(drivers)))
        for j, column in enumerate(self.columns_):
            values[:, index[column.driver]] += contrib[:, j]
        prior_terms = self.prior_.contributions(frame.followers)
        for j, name in enumerate(PRIOR_COLUMNS):
            if name not in index:
                index[name] = len(drivers)
                drivers.append(name)
                values = np.column_stack([values, np.zeros(len(frame))])
            values[:, index[name]] += prior_terms[:, j]
        modality = {c.driver: c.modality for c in self.columns_}
        base = self.prior_.mean_value + (float(contrib[0, -1]) if len(frame) else 0.0)
        return Explanation(ids=list(frame.ids), base=base, names=drivers,
                           modality=[modality.get(d, "author") for d in drivers], values=values,
                           prediction=base + values.sum(axis=1))

    def percentile(self, frame: PopularityFrame, predicted: np.ndarray | None = None) -> tuple[np.ndarray, list[str]]:
        """Percentile of each prediction among comparable fitted posts, and the group it was compared in."""
        values = self.predict(frame) if predicted is None else predicted
        return self.comparables_.percentile(values, frame.platform, frame.followers)

    def bands(self, frame: PopularityFrame) -> list[str]:
        return [follower_band(v) for v in frame.followers]


def _fit_trees(config: PopularityConfig, x: np.ndarray, y: np.ndarray,
               valid: tuple[np.ndarray, np.ndarray] | None) -> tuple[Any, int]:
    """LightGBM on the residual, stopped early on the validation period when there is one."""
    import lightgbm as lgb

    from postlens.models.baselines import idle_threads

    m = config.model
    params = {"objective": "regression", "learning_rate": m.learning_rate, "num_leaves": m.num_leaves,
              "min_child_samples": m.min_child_samples, "feature_fraction": m.colsample, "lambda_l2": m.l2,
              "bagging_fraction": 0.8, "bagging_freq": 1, "seed": config.seed, "deterministic": True,
              "force_col_wise": True, "max_bin": 63, "verbose": -1,
              "num_threads": idle_threads(config.num_threads or available_cores())}
    train_set = lgb.Dataset(x, y, free_raw_data=True)
    if valid is None:
        booster = lgb.train(params, train_set, num_boost_round=m.n_estimators)
        return booster, booster.current_iteration()
    val_set = lgb.Dataset(valid[0], valid[1], reference=train_set)
    booster = lgb.train(params, train_set, num_boost_round=m.n_estimators, valid_sets=[val_set],
                        callbacks=[lgb.early_stopping(m.early_stopping_rounds, verbose=False)])
    return booster, max(int(booster.best_iteration or booster.current_iteration()), 1)
