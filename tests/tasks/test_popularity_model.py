"""The popularity model on a real workspace with planted engagement: drivers, percentiles, the
event-id switch, publish-time prediction, the saved folder, the curve."""

from __future__ import annotations

import json

import numpy as np
import pytest
from _popularity_workspace import base_config, build
from scipy.stats import spearmanr

from postlens.errors import ConfigError
from postlens.store.workspace import Workspace
from postlens.tasks.popularity import (
    EVENT_ID_METADATA,
    PopularityModel,
    evaluate,
    load_frame,
    load_popularity_model,
    parse_popularity_config,
    save_popularity_model,
    time_split,
)
from postlens.tasks.popularity.curve import EngagementCurve, load_series
from postlens.tasks.popularity.percentile import Comparables, follower_band
from postlens.tasks.popularity.prior import AuthorHistory


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    root = tmp_path_factory.mktemp("popularity")
    fresh = build(root)
    config = parse_popularity_config(base_config())
    with Workspace(root, read_only=True) as ws:
        frame = load_frame(ws, config)
    result = evaluate(frame, config)
    return root, fresh, config, frame, result


def test_drivers_and_base_sum_to_the_prediction(planted):
    _, _, _, frame, result = planted
    explanation = result.model.explain(frame)
    predicted = result.model.predict(frame)
    assert np.allclose(explanation.base + explanation.values.sum(axis=1), predicted, atol=1e-6)
    assert np.allclose(explanation.prediction, predicted, atol=1e-6)
    kinds, summed = explanation.by_modality()
    assert np.allclose(summed.sum(axis=1), explanation.values.sum(axis=1))
    assert {"text", "author"} <= set(kinds)
    # the planted text signal is what moves predictions most after followers
    effect = dict(zip(explanation.names, np.abs(explanation.values).mean(axis=0)))
    assert effect["text"] > effect["n_hashtags"]


def test_learned_model_beats_followers_when_text_carries_signal(planted):
    _, _, _, _, result = planted
    learned, followers = result.figures["learned (prior + residual)"], result.figures["followers only (linear)"]
    assert learned["spearman"] > followers["spearman"] + 0.03
    assert learned["mae"] < 0.8 * followers["mae"]


def test_percentile_in_range_and_monotone_within_a_group(planted):
    _, _, _, frame, result = planted
    predicted = result.model.predict(frame)
    percentile, groups = result.model.percentile(frame, predicted)
    assert ((percentile >= 0) & (percentile <= 100)).all()
    groups = np.array(groups)
    assert len(set(groups)) > 1  # the follower-less platform is compared apart from twitter
    for group in set(groups):
        rows = np.flatnonzero(groups == group)
        order = rows[np.argsort(predicted[rows], kind="stable")]
        assert (np.diff(percentile[order]) >= -1e-12).all(), group


def test_comparables_fall_back_to_the_platform_when_a_band_is_small():
    values = np.arange(100, dtype=float)
    platforms = np.array(["x"] * 100, object)
    followers = np.array([50.0] * 95 + [5e6] * 5)
    comparables = Comparables(min_group=30).fit(values, platforms, followers)
    assert comparables.group_of("x", 50.0) == "x | <100"
    assert comparables.group_of("x", 5e6) == "x"  # 5 posts in the >=1M band: too few
    assert comparables.group_of("unseen", 10.0) == "*"
    high, _ = comparables.percentile(np.array([1e9, -1e9]), np.array(["x", "x"], object), np.array([50.0, 50.0]))
    assert high.tolist() == [100.0, 0.0]
    assert follower_band(float("nan")) == "followers unknown" and follower_band(999) == "100-1k"


def test_event_id_switch_removes_hour_and_weekday(planted):
    root, _, _, _, _ = planted
    with Workspace(root, read_only=True) as ws:
        dropped = load_frame(ws, parse_popularity_config(base_config(drop_event_id_metadata=True)))
        kept = load_frame(ws, parse_popularity_config(base_config(drop_event_id_metadata=False)))
        narrower = load_frame(
            ws, parse_popularity_config(base_config(drop_event_id_metadata=False, exclude_metadata=["hour_sin"]))
        )
    assert not set(EVENT_ID_METADATA) & set(dropped.blocks["metadata"].columns)
    assert set(EVENT_ID_METADATA) <= set(kept.blocks["metadata"].columns)
    assert "hour_sin" not in narrower.blocks["metadata"].columns and "hour_cos" in narrower.blocks["metadata"].columns
    split = time_split(dropped, parse_popularity_config(base_config()))
    model = PopularityModel(parse_popularity_config(base_config())).fit(dropped, split.train, split.val)
    assert not set(EVENT_ID_METADATA) & {c.name for c in model.columns_}
    assert not set(EVENT_ID_METADATA) & set(model.explain(dropped.subset(split.test)).names)


def test_unknown_metadata_column_is_named_with_the_valid_ones(planted):
    root, _, _, _, _ = planted
    with Workspace(root, read_only=True) as ws, pytest.raises(ConfigError, match=r"hour_sn.*log_followers"):
        load_frame(ws, parse_popularity_config(base_config(exclude_metadata=["hour_sn"])))


def test_post_without_engagement_is_predicted_at_publish_time(planted):
    root, fresh, config, _, result = planted
    with Workspace(root, read_only=True) as ws:
        frame = load_frame(ws, config, fresh)
    assert np.isnan(frame.y).all()  # nothing observed yet
    predicted = result.model.predict(frame)
    assert np.isfinite(predicted).all()
    percentile, _ = result.model.percentile(frame, predicted)
    assert ((percentile >= 0) & (percentile <= 100)).all()
    explanation = result.model.explain(frame)
    assert np.allclose(explanation.base + explanation.values.sum(axis=1), predicted)


def test_time_split_tests_on_the_latest_posts(planted):
    _, fresh, _, frame, result = planted
    split = result.split
    assert frame.times[split.train].max() < frame.times[split.test].min()
    used = {frame.ids[i] for i in np.concatenate([split.train, split.val, split.test])}
    assert used.isdisjoint(fresh)


def test_saved_folder_predicts_the_same_without_pickle(planted, tmp_path):
    _, _, _, frame, result = planted
    folder = save_popularity_model(result.model, tmp_path / "m", feature_keys=frame.feature_keys, dims=frame.dims)
    loaded, info = load_popularity_model(folder)
    assert np.allclose(loaded.predict(frame), result.model.predict(frame))
    assert info["feature_keys"] == frame.feature_keys
    assert sorted(p.name for p in folder.iterdir()) == ["popularity.json", "projections.npz"]  # a linear residual
    trees = parse_popularity_config(
        base_config() | {"model": {"min_child_samples": 10, "residual": "trees", "weight": 1.0}}
    )
    model = PopularityModel(trees).fit(frame, result.split.train, result.split.val)
    save_popularity_model(model, folder, feature_keys=frame.feature_keys, dims=frame.dims)
    assert (folder / "trees.txt").is_file() and np.allclose(
        load_popularity_model(folder)[0].predict(frame), model.predict(frame)
    )
    np.load(folder / "projections.npz", allow_pickle=False).close()
    (folder / "popularity.json").write_text(json.dumps({"format_version": 1, "config": {}}))
    with pytest.raises(ConfigError, match="damaged popularity model"):
        load_popularity_model(folder)


def test_author_history_sees_only_earlier_posts():
    history = AuthorHistory(shrinkage=0.0)
    authors = np.array(["a", "a", "b", "a"], object)
    times = np.array([1.0, 2.0, 2.0, 2.0])
    residuals = np.array([1.0, 5.0, 3.0, 7.0])
    out = history.expanding(authors, times, residuals)
    assert np.isnan(out[0, 0]) and np.isnan(out[2, 0])  # first post of each author: no history
    assert out[1, 0] == 1.0 and out[3, 0] == 1.0  # same-time posts do not see each other
    history.fit(authors, residuals)
    assert history.features(np.array(["a", "zz"], object))[0, 0] == pytest.approx(13 / 3)
    assert np.isnan(history.features(np.array(["zz"], object))[0, 0])


def test_curve_rises_with_age_and_beats_no_growth(planted):
    root, _, _, _, _ = planted
    with Workspace(root, read_only=True) as ws:
        series = load_series(ws, "views")
    curve = EngagementCurve(metric="views", min_gap_hours=12).fit(series[:300], series[300:350])
    values = curve.curve(series[400], [12, 24, 48, 72, 200])
    assert (np.diff(values) >= 0).all()
    later = np.array([s.counts["views"][-1] for s in series[350:450]])
    first = np.array([s.counts["views"][0] for s in series[350:450]])
    gaps = [(s.times[-1] - s.times[0]) / 3600 for s in series[350:450]]
    predicted = np.array([curve.curve(s, [g])[0] for s, g in zip(series[350:450], gaps)])
    assert np.abs(np.log1p(predicted) - np.log1p(later)).mean() < np.abs(np.log1p(first) - np.log1p(later)).mean()
    assert spearmanr(predicted, later).statistic > 0.9
    restored = EngagementCurve.from_json(json.loads(json.dumps(curve.to_json())))
    assert np.allclose(restored.curve(series[400], [24, 48]), curve.curve(series[400], [24, 48]))


def test_unknown_post_ids_are_named_even_without_embeddings(planted):
    root, _, _, _, _ = planted
    config = parse_popularity_config({"features": {"modalities": {}, "sentiment": None}})
    with Workspace(root, read_only=True) as ws, pytest.raises(ConfigError, match="nope:9"):
        load_frame(ws, config, ["t:0001", "nope:9"])
