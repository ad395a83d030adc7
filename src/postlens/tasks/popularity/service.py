"""Popularity over a workspace: fit (with its honest figures), predict, explain.

Featurizing is not done here (tasks never import the pipeline): ``predict_popularity`` takes a
featurizer, as ``postlens.pipeline.popularity`` passes, or reads what the cache holds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa

from postlens.store.predictions import PREDICTIONS_SCHEMA, write_predictions
from postlens.store.workspace import Workspace
from postlens.tasks.popularity.artifact import check_encoders, encoder_names
from postlens.tasks.popularity.config import PopularityConfig
from postlens.tasks.popularity.curve import evaluate_curve, load_series
from postlens.tasks.popularity.evaluate import Evaluation, evaluate
from postlens.tasks.popularity.frame import PopularityFrame, chosen_posts, load_frame
from postlens.tasks.popularity.model import Explanation, PopularityModel

Featurizer = Callable[[Workspace, list[str], list[str]], int]
"""(workspace, registry encoder names, post ids) -> items computed; fills the feature cache for those posts."""
CURVE_DAYS = (1, 3, 7)
MIN_CURVE_POSTS = 30


@dataclass
class FitResult:
    """The fitted model, its test-period figures against the baselines, and the curve's figures."""

    model: PopularityModel
    evaluation: Evaluation
    curve: dict[str, Any] | None
    feature_keys: dict[str, str]
    dims: dict[str, int]
    notes: dict[str, int] = field(default_factory=dict)
    importance: dict[str, float] = field(default_factory=dict)  # driver -> mean |contribution| on the test period
    modality_importance: dict[str, float] = field(default_factory=dict)

    def figures(self) -> dict[str, Any]:
        out: dict[str, Any] = {"publish_time": self.evaluation.figures, "split": self.evaluation.notes}
        if self.curve is not None:
            out["curve"] = self.curve
        return out


def fit_popularity(workspace: Workspace, config: PopularityConfig) -> FitResult:
    """Read every post of the configured platforms, fit on a time split, score it, fit the curve."""
    frame = load_frame(workspace, config)
    evaluation = evaluate(frame, config)
    model = evaluation.model
    curve: dict[str, Any] | None = None
    if config.curve.enabled:
        series = [s for s in load_series(workspace, config.target.metric, frame.ids) if len(s.times) >= 2]
        if len(series) >= MIN_CURVE_POSTS:
            curve = evaluate_curve(series, metric=config.target.metric, min_gap_hours=config.curve.min_gap_hours,
                                   test_size=config.split.test_size, val_size=config.split.val_size, seed=config.seed)
            model.curve_ = curve.pop("curve")
        else:
            curve = {"skipped": f"{len(series)} posts have two or more dated {config.target.metric} snapshots; "
                                f"a curve needs {MIN_CURVE_POSTS}"}
    importance, by_modality = mean_effects(model.explain(frame.subset(evaluation.split.test)))
    return FitResult(model=model, evaluation=evaluation, curve=curve, feature_keys=frame.feature_keys,
                     dims=frame.dims, notes=frame.notes, importance=importance, modality_importance=by_modality)


def mean_effects(explanation: Explanation) -> tuple[dict[str, float], dict[str, float]]:
    """Mean |contribution| per driver and per modality, largest first: what moves predictions overall."""
    per_driver = np.abs(explanation.values).mean(axis=0) if len(explanation.ids) else np.zeros(len(explanation.names))
    kinds, summed = explanation.by_modality()
    per_kind = np.abs(summed).mean(axis=0) if len(explanation.ids) else np.zeros(len(kinds))
    order = lambda pairs: dict(sorted(((k, float(v)) for k, v in pairs), key=lambda kv: -kv[1]))  # noqa: E731
    return order(zip(explanation.names, per_driver)), order(zip(kinds, per_kind))


@dataclass
class PopularityPredictions:
    """``frame``: one row per post (see ``prediction_frame``); ``explanation``: the drivers of each row."""

    frame: Any
    explanation: Explanation
    lacking: dict[str, int] = field(default_factory=dict)
    featurized: int = 0
    written: int = 0


def read_posts(model: PopularityModel, info: dict[str, Any], workspace: Workspace, post_ids: Sequence[str] | None = None,
               *, featurizer: Featurizer | None = None) -> tuple[PopularityFrame, int]:
    """The model's inputs for these posts (default: every post of its platforms), featurized first if asked."""
    check_encoders(model.config, info.get("feature_keys", {}), name=info.get("name", "?"))
    ids = list(dict.fromkeys(post_ids)) if post_ids is not None else chosen_posts(workspace, model.config)
    featurized = 0
    names = list(dict.fromkeys(n for n in encoder_names(model.config).values() if "@" not in n))
    if featurizer is not None and ids and names:  # pinned name@version inputs are read as cached, never computed
        featurized = int(featurizer(workspace, names, ids) or 0)
    frame = load_frame(workspace, model.config, ids, feature_keys=info.get("feature_keys"), dims=info.get("dims"),
                       meta_columns=model.block_columns_.get("metadata"))
    return frame, featurized


def predict_popularity(model: PopularityModel, info: dict[str, Any], workspace: Workspace,
                       post_ids: Sequence[str] | None = None, *, featurizer: Featurizer | None = None,
                       save: bool = False, model_name: str = "popularity") -> PopularityPredictions:
    """Predicted engagement at publish time, its percentile among comparable posts, its drivers, and
    (for posts with a dated snapshot, when the model has a curve) the count expected 1, 3 and 7 days on."""
    frame, featurized = read_posts(model, info, workspace, post_ids, featurizer=featurizer)
    explanation = model.explain(frame)
    table = prediction_frame(model, frame, explanation)
    if model.curve_ is not None:
        _add_curve(model, workspace, frame, table)
    lacking = {name: int(np.isnan(block.matrix).all(axis=1).sum()) for name, block in frame.blocks.items()
               if block.kind == "embedding" or name == "sentiment"}
    written = _save(workspace, model, info, frame, explanation, model_name) if save and len(frame) else 0
    return PopularityPredictions(frame=table, explanation=explanation, lacking=lacking, featurized=featurized,
                                 written=written)


def prediction_frame(model: PopularityModel, frame: PopularityFrame, explanation: Explanation) -> Any:
    """post_id, platform, predicted (count), predicted_log, followers_prior (count), vs_followers (x times
    the follower prior), percentile, compared_with, follower_band, observed (the target when known)."""
    import pandas as pd

    predicted = explanation.prediction
    prior = model.prior(frame)
    percentile, groups = model.percentile(frame, predicted)
    return pd.DataFrame({
        "post_id": frame.ids, "platform": frame.platform.astype(str), "predicted": np.expm1(predicted),
        "predicted_log": predicted, "followers_prior": np.expm1(prior), "vs_followers": np.exp(predicted - prior),
        "percentile": percentile, "compared_with": groups, "follower_band": model.bands(frame),
        "observed": np.expm1(frame.y),
    })


def _add_curve(model: PopularityModel, workspace: Workspace, frame: PopularityFrame, table: Any) -> None:
    curve = model.curve_
    series = {s.post_id: s for s in load_series(workspace, curve.metric, frame.ids)}
    for day in CURVE_DAYS:
        table[f"{curve.metric}_day_{day}"] = np.nan
    for i, post_id in enumerate(frame.ids):
        if post_id in series:
            values = curve.curve(series[post_id], [24.0 * d for d in CURVE_DAYS])
            for day, value in zip(CURVE_DAYS, values):
                table.loc[i, f"{curve.metric}_day_{day}"] = value


def _save(workspace: Workspace, model: PopularityModel, info: dict[str, Any], frame: PopularityFrame,
          explanation: Explanation, name: str) -> int:
    """Upsert into the predictions table (value = predicted log1p count)."""
    now = datetime.now(UTC)
    saved = info.get("saved_at")
    trained_at = datetime.fromisoformat(saved) if saved else None
    n = len(frame)
    missing = [[b for b, block in frame.blocks.items() if block.kind == "embedding" and np.isnan(block.matrix[i]).all()]
               for i in range(n)]
    rows = pa.table({
        "model": [name] * n, "model_fingerprint": [str(info.get("fingerprint", ""))] * n, "trained_at": [trained_at] * n,
        "post_id": frame.ids, "task": ["regression"] * n, "label": [None] * n,
        "value": [float(v) for v in explanation.prediction], "probabilities": [None] * n,
        "missing_modalities": missing, "predicted_at": [now] * n,
    }, schema=PREDICTIONS_SCHEMA)
    return write_predictions(workspace.db, rows)
