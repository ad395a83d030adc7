"""The popularity model: follower prior + weight * residual(inputs), with drivers.

prediction = prior(followers) + weight * residual(author facts, post form, sentiment, metadata,
                                                  author history, tags[, text embedding])

The residual (a ridge line by default, or LightGBM) learns only what followers do not explain, and
by default only within each day: what sets a post apart from the others of its day, not which day
or event was big. Its penalty, whether it reads embeddings, and its weight (0: the prior alone) are
chosen on forward folds inside the fitted period (``settings.choose_settings``). Each prediction's
drivers are the residual's exact per-column contributions (the line's terms, or LightGBM's
``pred_contrib``) times the weight, plus the prior's own terms: ``base + sum(drivers) == prediction``.
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
from postlens.tasks.popularity.residual import LinearResidual, within_period
from postlens.tasks.popularity.settings import choose_settings

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
        summed = (
            np.column_stack(
                [self.values[:, [j for j, m in enumerate(self.modality) if m == kind]].sum(axis=1) for kind in kinds]
            )
            if kinds
            else np.zeros((len(self.ids), 0))
        )
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
    def fit(
        self, frame: PopularityFrame, train_rows: np.ndarray, val_rows: np.ndarray | None = None
    ) -> PopularityModel:
        train_rows = np.asarray(train_rows, int)
        if len(train_rows) < 10 or np.isnan(frame.y[train_rows]).any():
            raise ConfigError(
                f"popularity needs at least 10 training posts with a target, got {len(train_rows)} "
                "(rows without a target cannot be fitted)"
            )
        val = np.asarray(val_rows if val_rows is not None else [], int)
        self.choice_ = choose_settings(self.config, frame, train_rows, val)
        self._fit_once(frame, train_rows, val)
        fitted = np.concatenate([train_rows, val])
        everything = frame.subset(fitted)
        self.comparables_ = Comparables(min_group=self.config.percentile.min_group).fit(
            self.predict(everything), everything.platform, everything.followers
        )
        return self

    def fit_inner(self, frame: PopularityFrame, train_rows: np.ndarray, val_rows: np.ndarray) -> PopularityModel:
        """A fit with the config's settings as they are (used by the inner folds that choose them)."""
        m = self.config.model
        self.choice_ = {"alpha": m.alpha or 1.0, "embeddings": bool(m.embeddings), "weight": 1.0, "chosen_by": "inner"}
        self._fit_once(frame, np.asarray(train_rows, int), np.asarray(val_rows, int))
        return self

    def _fit_once(self, frame: PopularityFrame, train_rows: np.ndarray, val_rows: np.ndarray) -> None:
        """One fit with the settings in ``choice_`` (no inner folds, no percentile reference)."""
        m, f = self.config.model, self.config.features
        self.curve_: Any = None  # an EngagementCurve, set by fit_popularity when snapshots allow one
        self.weight_ = float(self.choice_["weight"])
        if m.residual == "linear" and len(val_rows):  # a line needs no early stopping: it fits on both
            train_rows, val_rows = np.concatenate([train_rows, val_rows]), np.zeros(0, int)
        train = frame.subset(train_rows)
        self.prior_ = FollowerPrior(enabled=m.prior == "followers").fit(train.followers, train.y)
        residual = self._target(train)
        self.projections_: dict[str, Projection] = {}
        blocks = {
            name: block for name, block in frame.blocks.items() if block.kind != EMBEDDING or self.choice_["embeddings"]
        }
        for name, block in blocks.items():
            if block.kind == EMBEDDING and f.embedding_components:
                self.projections_[name] = Projection.fit_pca(
                    block.matrix[train_rows], f.embedding_components, seed=self.config.seed
                )
        has_tags = any(train.tags)
        self.tags_ = (
            TagProjection.fit(train.tags, f.tag_components, seed=self.config.seed)
            if f.tag_components and has_tags
            else None
        )
        self.block_columns_ = {name: list(block.columns) for name, block in blocks.items()}
        self.kinds_ = {name: block.kind for name, block in blocks.items()}
        self.columns_ = self._columns()
        self.history_ = (
            AuthorHistory(shrinkage=m.history_shrinkage).fit(train.author, residual) if f.author_history else None
        )
        history = self.history_.expanding(train.author, train.times, residual) if self.history_ else None
        x_train = self._design(train, history)
        if m.residual == "linear":
            self.booster_: Any = LinearResidual(float(self.choice_["alpha"]) * len(train)).fit(x_train, residual)
            self.best_iteration_ = 0
            self.fitted_design_ = (x_train, residual)  # lets the inner folds try other penalties without a refit
        else:
            valid = None
            if len(val_rows):
                val = frame.subset(val_rows)
                valid = (self._design(val, self._history(val)), self._target(val))
            self.booster_, self.best_iteration_ = _fit_trees(self.config, x_train, residual, valid)
        fitted = np.concatenate([train_rows, val_rows])
        if self.history_ is not None:  # a new post's author history: every post the model has seen
            everything = frame.subset(fitted)
            self.history_.fit(everything.author, self._target(everything))

    def _target(self, frame: PopularityFrame) -> np.ndarray:
        """What the residual model learns: log engagement over the prior, within each day when asked."""
        residual = frame.y - self.prior_.predict(frame.followers)
        return within_period(frame.times, residual) if self.config.model.within_period else residual

    def design(self, frame: PopularityFrame) -> np.ndarray:
        """The residual model's input columns for ``frame`` (``columns_`` names them)."""
        return self._design(frame, self._history(frame))

    def residual(self, frame: PopularityFrame) -> np.ndarray:
        """The residual model's output for ``frame`` before its weight."""
        if len(frame) == 0:
            return np.zeros(0)
        return np.asarray(self.booster_.predict(self.design(frame), num_iteration=self.best_iteration_ or None))

    def describe(self) -> str:
        """One line: which residual, with the settings the inner folds chose."""
        c = self.choice_
        what = (
            f"linear residual (ridge {c['alpha']:g} per post)"
            if self.config.model.residual == "linear"
            else f"tree residual ({self.best_iteration_} trees)"
        )
        return (
            f"{what}, embeddings {'on' if c['embeddings'] else 'off'}, weight {c['weight']:.2f} over the prior"
            f" ({c['chosen_by']})"
        )

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
                raise ConfigError(
                    f"the posts' {name!r} inputs differ from the model's ({columns[:4]}...); "
                    "read them with the model's settings (load_frame(..., feature_keys=model.feature_keys))"
                )
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
        return self.prior(frame) + self.weight_ * self.residual(frame)

    def explain(self, frame: PopularityFrame) -> Explanation:
        """Drivers of each prediction: tree contributions per driver (embedding blocks summed, other columns
        by name) plus the prior's terms added to log_followers / followers_known."""
        x = self._design(frame, self._history(frame))
        contrib = self.weight_ * np.asarray(
            self.booster_.predict(x, num_iteration=self.best_iteration_ or None, pred_contrib=True)
        )
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
        return Explanation(
            ids=list(frame.ids),
            base=base,
            names=drivers,
            modality=[modality.get(d, "author") for d in drivers],
            values=values,
            prediction=base + values.sum(axis=1),
        )

    def percentile(self, frame: PopularityFrame, predicted: np.ndarray | None = None) -> tuple[np.ndarray, list[str]]:
        """Percentile of each prediction among comparable fitted posts, and the group it was compared in."""
        values = self.predict(frame) if predicted is None else predicted
        return self.comparables_.percentile(values, frame.platform, frame.followers)

    def bands(self, frame: PopularityFrame) -> list[str]:
        return [follower_band(v) for v in frame.followers]


def _fit_trees(
    config: PopularityConfig, x: np.ndarray, y: np.ndarray, valid: tuple[np.ndarray, np.ndarray] | None
) -> tuple[Any, int]:
    """LightGBM on the residual, stopped early on the validation period when there is one."""
    import lightgbm as lgb

    from postlens.models.baselines import idle_threads

    m = config.model
    params = {
        "objective": "regression",
        "learning_rate": m.learning_rate,
        "num_leaves": m.num_leaves,
        "min_child_samples": m.min_child_samples,
        "feature_fraction": m.colsample,
        "lambda_l2": m.l2,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "seed": config.seed,
        "deterministic": True,
        "force_col_wise": True,
        "max_bin": 63,
        "verbose": -1,
        "num_threads": idle_threads(config.num_threads or available_cores()),
    }
    train_set = lgb.Dataset(x, y, free_raw_data=True)
    if valid is None:
        booster = lgb.train(params, train_set, num_boost_round=m.n_estimators)
        return booster, booster.current_iteration()
    val_set = lgb.Dataset(valid[0], valid[1], reference=train_set)
    booster = lgb.train(
        params,
        train_set,
        num_boost_round=m.n_estimators,
        valid_sets=[val_set],
        callbacks=[lgb.early_stopping(m.early_stopping_rounds, verbose=False)],
    )
    return booster, max(int(booster.best_iteration or booster.current_iteration()), 1)
