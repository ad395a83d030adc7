"""Engagement curves: later engagement from the first dated snapshot (YouTube trending: day one -> later days).

For each post with two or more dated snapshots (times from the data, not a file's mtime), the first
snapshot's counts and the time since it predict the count at a later time, as GROWTH
log1p(later) - log1p(first): a straight line in log(1 + gap hours) fitted on the training period
(most of the growth: measured on YouTube trending, per-post trees alone extrapolate worse to gaps
longer than most training pairs), plus trees on what the line misses, constrained to rise with the
gap, so a post's curve never goes down. ``curve`` draws one for any list of ages. Baselines: no
growth (persistence) and the line alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from postlens.errors import ConfigError
from postlens.evaluation.metrics import regression_metrics
from postlens.evaluation.splits import make_split
from postlens.store.workspace import Workspace
from postlens.tasks.popularity.frame import register_ids

COUNTS = ("views", "likes", "comments", "shares")
CURVE_COLUMNS = ("log_first", *(f"log_first_{c}" for c in COUNTS), "log_gap_hours")


@dataclass
class Series:
    """A post's dated snapshots, oldest first: seconds since epoch and the four counts (NaN when absent)."""

    post_id: str
    times: np.ndarray
    counts: dict[str, np.ndarray]


def load_series(workspace: Workspace, metric: str, post_ids: list[str] | None = None) -> list[Series]:
    """Every post's dated snapshots that have ``metric`` (inferred times are left out)."""
    if metric not in COUNTS:
        raise ConfigError(f"unknown engagement metric {metric!r}; known: {', '.join(COUNTS)}")
    where = f"WHERE NOT observed_inferred AND {metric} IS NOT NULL"
    if post_ids is not None:
        register_ids(workspace, "_curve_ids", list(post_ids))
        where += " AND post_id IN (SELECT id FROM _curve_ids)"
    try:
        rows = workspace.db.execute(
            f"SELECT post_id, observed_at, {', '.join(COUNTS)} FROM engagement {where} ORDER BY post_id, observed_at"
        ).fetchall()
    finally:
        if post_ids is not None:
            workspace.db.unregister("_curve_ids")
    grouped: dict[str, list[tuple[Any, ...]]] = {}
    for row in rows:
        grouped.setdefault(row[0], []).append(row)
    out = []
    for post_id, snaps in grouped.items():
        counts = {
            c: np.array([np.nan if s[2 + j] is None else float(s[2 + j]) for s in snaps]) for j, c in enumerate(COUNTS)
        }
        out.append(Series(post_id, np.array([s[1].timestamp() for s in snaps]), counts))
    return out


def first_features(series: Series, metric: str, gap_hours: np.ndarray) -> np.ndarray:
    """(len(gap_hours), CURVE_COLUMNS) for this post's first snapshot at each gap."""
    first = [math.log1p(series.counts[metric][0])] + [
        math.log1p(v) if not math.isnan(v := float(series.counts[c][0])) and v >= 0 else math.nan for c in COUNTS
    ]
    gaps = np.log1p(np.maximum(np.asarray(gap_hours, float), 0.0))
    return np.column_stack([np.tile(first, (len(gaps), 1)), gaps]).astype(np.float32)


def _pairs(
    series: list[Series], metric: str, min_gap_hours: float, *, last_only: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(features, log1p(later), log1p(first)) over each post's later snapshots (or its last one)."""
    xs, later, first = [], [], []
    for s in series:
        gaps = (s.times - s.times[0]) / 3600
        chosen = [j for j in range(1, len(gaps)) if gaps[j] >= min_gap_hours]
        if last_only:
            chosen = chosen[-1:]
        if not chosen:
            continue
        xs.append(first_features(s, metric, gaps[chosen]))
        later += [math.log1p(max(s.counts[metric][j], 0.0)) for j in chosen]
        first += [math.log1p(max(s.counts[metric][0], 0.0))] * len(chosen)
    if not xs:
        return np.zeros((0, len(CURVE_COLUMNS)), np.float32), np.zeros(0), np.zeros(0)
    return np.vstack(xs), np.asarray(later), np.asarray(first)


def growth_line(log_gap: np.ndarray, growth: np.ndarray) -> tuple[float, float]:
    """Least-squares (intercept, slope) of growth on log(1 + gap hours); the slope is kept >= 0."""
    design = np.column_stack([np.ones(len(log_gap)), log_gap])
    intercept, slope = np.linalg.lstsq(design, growth, rcond=None)[0]
    if slope < 0:
        intercept, slope = float(np.mean(growth)), 0.0
    return float(intercept), float(slope)


class EngagementCurve:
    """Growth line in log(gap) plus trees on its residual (monotone in the gap), kept only when they help.

    The trees are dropped (``trees_kept_`` False) when the line alone has the lower validation MAE:
    on YouTube trending the per-video corrections did not carry over to later weeks.
    """

    def __init__(
        self, *, metric: str = "views", min_gap_hours: float = 12.0, seed: int = 0, num_threads: int = 1
    ) -> None:
        self.metric, self.min_gap_hours, self.seed, self.num_threads = metric, min_gap_hours, seed, num_threads

    def fit(self, series: list[Series], val: list[Series] | None = None) -> EngagementCurve:
        import lightgbm as lgb

        x, later, first = _pairs(series, self.metric, self.min_gap_hours)
        if len(x) < 20:
            raise ConfigError(f"only {len(x)} later snapshots to learn a {self.metric} curve from; it needs 20")
        gap = CURVE_COLUMNS.index("log_gap_hours")
        self.line_ = growth_line(x[:, gap], later - first)
        params = {
            "objective": "regression",
            "learning_rate": 0.05,
            "num_leaves": 7,
            "min_child_samples": 50,
            "monotone_constraints": [1 if j == gap else 0 for j in range(len(CURVE_COLUMNS))],
            "seed": self.seed,
            "deterministic": True,
            "force_col_wise": True,
            "verbose": -1,
            "num_threads": self.num_threads,
        }
        train_set = lgb.Dataset(x, later - first - self._line(x))
        vx, vlater, _ = _pairs(val or [], self.metric, self.min_gap_hours)
        callbacks: list[Any] = []
        valid_sets: list[Any] = []
        if len(vx):
            valid_sets = [lgb.Dataset(vx, vlater - vx[:, 0] - self._line(vx), reference=train_set)]
            callbacks = [lgb.early_stopping(30, verbose=False)]
        self.booster_ = lgb.train(params, train_set, num_boost_round=400, valid_sets=valid_sets, callbacks=callbacks)
        self.best_iteration_ = max(int(self.booster_.best_iteration or self.booster_.current_iteration()), 1)
        self.trees_kept_ = True
        lx, llater, _ = _pairs(val or [], self.metric, self.min_gap_hours, last_only=True)
        if len(lx):  # judged as it is used and reported: each post's last snapshot from its first
            with_trees = np.abs(self.predict_pairs(lx) - llater).mean()
            self.trees_kept_ = False
            self.trees_kept_ = bool(with_trees < np.abs(self.predict_pairs(lx) - llater).mean())
        return self

    def _line(self, x: np.ndarray) -> np.ndarray:
        return self.line_[0] + self.line_[1] * x[:, -1]

    def predict_pairs(self, x: np.ndarray) -> np.ndarray:
        """log1p(count) at each row's gap (growth never below 0: counts do not fall)."""
        if not len(x):
            return np.zeros(0)
        growth = self._line(x)
        if self.trees_kept_:
            growth = growth + self.booster_.predict(x, num_iteration=self.best_iteration_)
        return x[:, 0] + np.maximum(growth, 0.0)

    def curve(self, series: Series, hours: list[float]) -> np.ndarray:
        """Predicted counts (not logs) at these ages after the first snapshot."""
        return np.expm1(self.predict_pairs(first_features(series, self.metric, np.asarray(hours, float))))

    def to_json(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "min_gap_hours": self.min_gap_hours,
            "line": list(self.line_),
            "trees_kept": self.trees_kept_,
            "best_iteration": self.best_iteration_,
            "trees": self.booster_.model_to_string(num_iteration=self.best_iteration_),
        }

    @classmethod
    def from_json(cls, state: dict[str, Any]) -> EngagementCurve:
        import lightgbm as lgb

        curve = cls(metric=str(state["metric"]), min_gap_hours=float(state["min_gap_hours"]))
        curve.line_ = (float(state["line"][0]), float(state["line"][1]))
        curve.trees_kept_, curve.best_iteration_ = bool(state["trees_kept"]), int(state["best_iteration"])
        curve.booster_ = lgb.Booster(model_str=str(state["trees"]))
        return curve


def evaluate_curve(
    series: list[Series],
    *,
    metric: str,
    min_gap_hours: float = 12.0,
    test_size: float = 0.2,
    val_size: float = 0.1,
    seed: int = 0,
    num_threads: int = 1,
) -> dict[str, Any]:
    """Time split by first snapshot; each test post's LAST snapshot is predicted from its first."""
    usable = [s for s in series if len(s.times) >= 2]
    if len(usable) < 30:
        raise ConfigError(f"only {len(usable)} posts have two or more dated {metric} snapshots; a curve needs 30")
    split = make_split(
        "time",
        len(usable),
        times=np.array([s.times[0] for s in usable]),
        test_size=test_size,
        val_size=val_size,
        seed=seed,
    )
    pick = lambda rows: [usable[i] for i in rows]  # noqa: E731
    curve = EngagementCurve(metric=metric, min_gap_hours=min_gap_hours, seed=seed, num_threads=num_threads)
    curve.fit(pick(split.train), pick(split.val))
    x, later, first = _pairs(pick(split.test), metric, min_gap_hours, last_only=True)
    line = curve.line_
    mean_growth = first + np.maximum(line[0] + line[1] * x[:, -1], 0.0)
    return {
        "sizes": split.sizes(),
        "test_pairs": int(len(x)),
        "curve": curve,
        "trees_kept": curve.trees_kept_,
        "figures": {
            "curve model (first snapshot + gap)": regression_metrics(later, curve.predict_pairs(x)),
            "no growth (first snapshot)": regression_metrics(later, first),
            "growth line only": regression_metrics(later, mean_growth),
        },
        "median_gap_days": float(np.median(np.expm1(x[:, -1]) / 24)) if len(x) else 0.0,
    }
