"""Splits never leak: no group on two sides, time split ordered, seeded."""

from __future__ import annotations

import numpy as np
import pytest

from postlens.errors import ConfigError
from postlens.evaluation.splits import make_split


def _check_partition(split, n):
    joined = np.concatenate([split.train, split.val, split.test])
    assert len(joined) == n and len(np.unique(joined)) == n


def test_time_split_is_ordered_and_unknown_times_only_train():
    rng = np.random.default_rng(0)
    times = rng.integers(0, 50, 300).astype(float)  # many ties
    times[:10] = np.nan
    split = make_split("time", 300, times=times, time_boundary="timestamp")
    _check_partition(split, 300)
    assert np.nanmax(times[split.train]) < np.min(times[split.val])  # no shared timestamp at either boundary
    assert np.max(times[split.val]) < np.min(times[split.test])
    assert set(range(10)) <= set(split.train)


@pytest.mark.parametrize("seed", range(5))
def test_time_split_by_day_shares_no_calendar_day(seed):
    """Posts at many hours of a few days: no UTC day may lie on two sides, at either boundary."""
    rng = np.random.default_rng(seed)
    n = 400
    times = 1_700_000_000 + rng.integers(0, 12 * 86400, n).astype(float)
    times[rng.random(n) < 0.05] = np.nan
    split = make_split("time", n, times=times, test_size=0.2, val_size=0.15)
    _check_partition(split, n)
    day = lambda rows: set(np.floor(times[rows][~np.isnan(times[rows])] / 86400))  # noqa: E731
    assert not day(split.train) & day(split.val) and not day(split.val) & day(split.test)
    assert not day(split.train) & day(split.test)
    assert (
        np.nanmax(times[split.train]) < np.min(times[split.val]) < np.max(times[split.val]) < np.min(times[split.test])
    )
    assert 0.1 * n <= len(split.test) <= 0.3 * n  # the boundary moved to a day edge, not far


def test_time_split_by_day_on_one_day_says_how_to_proceed():
    times = 1_700_006_400 + np.arange(100, dtype=float) * 60  # 100 minutes of one day
    with pytest.raises(ConfigError, match=r"one calendar day.*time_boundary: timestamp"):
        make_split("time", 100, times=times)
    split = make_split("time", 100, times=times, time_boundary="timestamp")
    assert np.max(times[split.train]) < np.min(times[split.val])


def test_time_split_with_ties_at_both_boundaries_moves_them_to_edges():
    """Equal timestamps straddling both wanted cuts (rows 70 and 80 of 100) stay on one side."""
    times = np.repeat(np.arange(10, dtype=float), 10)  # ten timestamps, ten posts each
    times[65:85] = 6.5  # one timestamp across both cut positions
    split = make_split("time", 100, times=times, test_size=0.2, val_size=0.1, time_boundary="timestamp")
    for a, b in ((split.train, split.val), (split.val, split.test), (split.train, split.test)):
        assert not set(times[a]) & set(times[b])


@pytest.mark.parametrize("strategy", ["author", "group"])
def test_group_split_shares_no_group(strategy):
    groups = np.array([f"g{i % 17}" for i in range(500)], dtype=object)
    split = make_split(strategy, 500, groups=groups, seed=1)
    _check_partition(split, 500)
    sides = [set(groups[s]) for s in (split.train, split.val, split.test)]
    assert not (sides[0] & sides[2]) and not (sides[0] & sides[1]) and not (sides[1] & sides[2])
    assert len(split.test) > 0 and len(split.val) > 0
    again = make_split(strategy, 500, groups=groups, seed=1)
    assert np.array_equal(again.test, split.test)


def test_stratified_keeps_class_shares_and_is_seeded():
    y = np.array([0] * 400 + [1] * 100)
    split = make_split("stratified", 500, y=y, seed=2)
    _check_partition(split, 500)
    assert abs(y[split.test].mean() - 0.2) < 0.02
    assert np.array_equal(split.test, make_split("stratified", 500, y=y, seed=2).test)
    assert not np.array_equal(split.test, make_split("stratified", 500, y=y, seed=3).test)


def test_bad_strategy_lists_known():
    with pytest.raises(ConfigError, match="known: author"):
        make_split("chronological", 10)


@pytest.mark.parametrize("sizes", [[10, 10, 80], [5, 5, 5, 85], [1, 1, 98], [30, 30, 40]])
@pytest.mark.parametrize("seed", range(4))
def test_group_split_always_leaves_train_and_val_a_group(sizes, seed):
    """Few groups with one giant: the sides are filled without ever emptying train (was an IndexError)."""
    groups = np.array([f"g{i}" for i, size in enumerate(sizes) for _ in range(size)], dtype=object)
    split = make_split("group", len(groups), groups=groups, seed=seed)
    _check_partition(split, len(groups))
    assert len(split.train) and len(split.val) and len(split.test)
    sides = [set(groups[s]) for s in (split.train, split.val, split.test)]
    assert not (sides[0] & sides[1]) and not (sides[0] & sides[2]) and not (sides[1] & sides[2])


def test_group_split_with_too_few_groups_names_them():
    groups = np.array(["a"] * 10 + ["b"] * 30, dtype=object)
    with pytest.raises(ConfigError, match=r"at least 3 groups, found 2: \{'b': 30, 'a': 10\}"):
        make_split("group", 40, groups=groups)
    split = make_split("group", 40, groups=groups, val_size=0.0)  # train and test need two groups only
    assert set(groups[split.train]) ^ set(groups[split.test]) == {"a", "b"}


def test_group_split_spreads_groups_like_rows():
    """One giant event and many small ones: the small ones must not all fill test and val while the
    giant one trains alone (MediaEval: Sandy alone in train, 13 events in test)."""
    sizes = [10_000, 900, 700, 600, 500, 400, 380, 300, 250, 200, 180, 150, 120, 100, 80, 60, 40]
    groups = np.array([f"e{i}" for i, size in enumerate(sizes) for _ in range(size)], dtype=object)
    for seed in range(5):
        split = make_split("group", len(groups), groups=groups, seed=seed)
        _check_partition(split, len(groups))
        counts = {side: len(set(groups[getattr(split, side)])) for side in ("train", "val", "test")}
        assert counts["train"] >= len(sizes) / 2, counts
        assert counts["test"] > counts["val"] >= 2, counts  # the spare groups shared like the sizes (0.2 : 0.1)
