"""k-fold cross-validation folds: disjoint held-out parts, groups on one side, validation only from training."""

from __future__ import annotations

import numpy as np
import pytest

from postlens.errors import ConfigError
from postlens.evaluation.folds import make_folds

N = 300


def _inputs(seed: int = 0):
    rng = np.random.default_rng(seed)
    y = rng.choice(3, N, p=[0.7, 0.2, 0.1])
    groups = np.array([f"g{i}" for i in rng.integers(0, 25, N)], dtype=object)
    times = 1_700_000_000 + rng.integers(0, 40 * 86400, N).astype(float)
    times[:7] = np.nan
    return y, groups, times


def _check_fold_sides(fold):
    train, val, test = set(fold.train), set(fold.val), set(fold.test)
    assert not train & val and not train & test and not val & test  # validation never holds held-out rows


@pytest.mark.parametrize("kind", ["plain", "stratified", "group"])
@pytest.mark.parametrize("seed", [0, 3])
def test_held_out_folds_are_disjoint_and_cover_every_row(kind, seed):
    y, groups, times = _inputs(seed)
    folds = make_folds(kind, N, 5, y=y, groups=groups, times=times, val_size=0.15, seed=seed)
    assert len(folds) == 5
    held = np.concatenate([f.test for f in folds])
    assert len(held) == N and len(np.unique(held)) == N
    for fold in folds:
        _check_fold_sides(fold)
        assert len(fold.train) + len(fold.val) + len(fold.test) == N
        assert len(fold.val) > 0


def test_stratified_folds_keep_class_shares():
    y, _groups, _times = _inputs()
    for fold in make_folds("stratified", N, 5, y=y):
        counts = np.bincount(y[fold.test], minlength=3)
        assert np.all(np.abs(counts - np.bincount(y) / 5) <= 1)
        assert abs(len(fold.test) - N / 5) <= 1


def test_grouped_folds_keep_each_group_on_one_side_and_validation_groups_apart():
    _y, groups, _times = _inputs()
    for fold in make_folds("group", N, 4, groups=groups, val_size=0.2, seed=1):
        train, val, test = (set(groups[s]) for s in (fold.train, fold.val, fold.test))
        assert not train & test and not val & test and not train & val


def test_forward_chaining_trains_on_the_past_only():
    _y, _groups, times = _inputs()
    folds = make_folds("time", N, 4, times=times, val_size=0.1)
    day = lambda rows: np.floor(times[rows] / 86400)  # noqa: E731
    previous_end = -np.inf
    for fold in folds:
        _check_fold_sides(fold)
        known_train = fold.train[~np.isnan(times[fold.train])]
        assert (
            np.nanmax(day(known_train)) < np.min(day(fold.val)) < np.min(day(fold.test))
        )  # val after train, test after both
        assert np.min(times[fold.test]) > previous_end  # held-out periods follow each other, disjoint
        previous_end = np.max(times[fold.test])
        assert set(range(7)) <= set(fold.train)  # untimed posts only train
    assert len(folds[-1].train) > len(folds[0].train)


def test_seeded_and_seed_sensitive():
    y, _groups, _times = _inputs()
    a = make_folds("stratified", N, 5, y=y, seed=4)
    b = make_folds("stratified", N, 5, y=y, seed=4)
    c = make_folds("stratified", N, 5, y=y, seed=5)
    assert all(np.array_equal(f.test, g.test) for f, g in zip(a, b))
    assert not all(np.array_equal(f.test, g.test) for f, g in zip(a, c))


def test_bad_requests_are_clear():
    _y, groups, _times = _inputs()
    with pytest.raises(ConfigError, match="known: group, plain, stratified, time"):
        make_folds("leave-one-out", N, 5)
    with pytest.raises(ConfigError, match="at least 30 groups, found 25"):
        make_folds("group", N, 30, groups=groups)
    with pytest.raises(ConfigError, match="too few"):
        make_folds("plain", 7, 5)
    one_day = 1_700_006_400 + np.arange(N, dtype=float)
    with pytest.raises(ConfigError, match="too few calendar days"):
        make_folds("time", N, 5, times=one_day)
