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
    split = make_split("time", 300, times=times)
    _check_partition(split, 300)
    assert np.nanmax(times[split.train]) <= np.min(times[split.val])
    assert np.max(times[split.val]) < np.min(times[split.test])
    assert set(range(10)) <= set(split.train)


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
