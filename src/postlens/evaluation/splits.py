"""Train / validation / test splits that do not leak.

Social posts leak easily: one image is reposted by many accounts, one event is covered by thousands
of tweets, and the future explains the past. So the default split is by time (train on the past,
test on the future); group splits keep every post of one author or event on one side.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from postlens.errors import ConfigError, unknown_name

STRATEGIES = ("time", "author", "group", "stratified", "random")


@dataclass(frozen=True)
class Split:
    """Row indices of each side; disjoint, sorted."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "val": len(self.val), "test": len(self.test)}


def make_split(
    strategy: str,
    n: int,
    *,
    times: np.ndarray | None = None,
    groups: np.ndarray | None = None,
    y: np.ndarray | None = None,
    test_size: float = 0.2,
    val_size: float = 0.1,
    seed: int = 0,
) -> Split:
    """Split ``n`` rows. ``times`` (float seconds, NaN = unknown) for "time"; ``groups`` for
    "author"/"group"; ``y`` (class index per row) for "stratified".

    Validation is carved out of the training side with the same strategy, so early stopping
    never sees test groups or test-period posts.
    """
    if strategy not in STRATEGIES:
        raise unknown_name("split strategy", strategy, STRATEGIES)
    if not 0 < test_size < 1 or not 0 <= val_size < 1 or test_size + val_size >= 1:
        raise ConfigError(f"test_size={test_size} and val_size={val_size} must be in (0, 1) and sum below 1")
    rows = np.arange(n)
    if strategy == "time":
        if times is None:
            raise ConfigError("split 'time' needs post times; the posts have no created_at: use 'group' or 'stratified'")
        return _time_split(rows, np.asarray(times, dtype=float), test_size, val_size)
    if strategy in ("author", "group"):
        if groups is None:
            raise ConfigError(f"split {strategy!r} needs a group per post (author id or the group label)")
        return _group_split(rows, np.asarray(groups, dtype=object), test_size, val_size, seed)
    rng = np.random.default_rng(seed)
    if strategy == "random" or y is None:
        shuffled = rng.permutation(rows)
        return _cut(shuffled, test_size, val_size)
    return _stratified_split(rows, np.asarray(y), test_size, val_size, rng)


def _cut(ordered: np.ndarray, test_size: float, val_size: float) -> Split:
    n = len(ordered)
    n_test = max(1, int(round(n * test_size)))
    n_val = int(round(n * val_size))
    train, val, test = ordered[: n - n_test - n_val], ordered[n - n_test - n_val : n - n_test], ordered[n - n_test :]
    return Split(np.sort(train), np.sort(val), np.sort(test))


def _time_split(rows: np.ndarray, times: np.ndarray, test_size: float, val_size: float) -> Split:
    """Oldest posts train, then validation, newest test. Posts with no time only ever train."""
    known = rows[~np.isnan(times)]
    unknown = rows[np.isnan(times)]
    ordered = known[np.argsort(times[known], kind="stable")]
    n_test = max(1, int(round(len(rows) * test_size)))
    n_val = int(round(len(rows) * val_size))
    if n_test + n_val >= len(ordered):
        raise ConfigError(f"only {len(ordered)} posts have a time: too few for a time split")
    cut_test, cut_val = len(ordered) - n_test, len(ordered) - n_test - n_val
    # Posts sharing the boundary timestamp go to the earlier side, so test is strictly later.
    while cut_test > cut_val and times[ordered[cut_test]] == times[ordered[cut_test - 1]]:
        cut_test += 1
        if cut_test >= len(ordered):
            raise ConfigError("too many posts share the last timestamps for a time split")
    train = np.concatenate([ordered[:cut_val], unknown])
    return Split(np.sort(train), np.sort(ordered[cut_val:cut_test]), np.sort(ordered[cut_test:]))


def _group_split(rows: np.ndarray, groups: np.ndarray, test_size: float, val_size: float, seed: int) -> Split:
    """Whole groups go to one side; groups are shuffled, then filled up to the wanted sizes."""
    keys = np.array(["" if g is None else str(g) for g in groups], dtype=object)
    unique, counts = np.unique(keys, return_counts=True)
    if len(unique) < 3:
        raise ConfigError(f"a group split needs at least 3 groups, found {len(unique)}: {list(unique)[:5]}")
    order = np.random.default_rng(seed).permutation(len(unique))
    n = len(rows)
    test_groups = _fill(unique, counts, order, test_size * n, set())
    val_groups = _fill(unique, counts, order, val_size * n, test_groups) if val_size > 0 else set()
    in_test = np.array([k in test_groups for k in keys])
    in_val = np.array([k in val_groups for k in keys])
    return Split(rows[~in_test & ~in_val], rows[in_val], rows[in_test])


def _fill(unique: np.ndarray, counts: np.ndarray, order: np.ndarray, target: float, taken: set[str]) -> set[str]:
    """Groups (in shuffled order) whose sizes add up to about ``target`` rows, never overshooting by
    more than half: one giant event must not swallow the test side. Always at least one group."""
    chosen: set[str] = set()
    filled = 0
    for index in order:
        group, count = str(unique[index]), int(counts[index])
        if group in taken or filled >= target:
            continue
        if filled + count <= target * 1.5 and len(chosen) + len(taken) < len(unique) - 1:
            chosen.add(group)
            filled += count
    if not chosen:  # every group is larger than the target: take the smallest one left
        left = [i for i in order if str(unique[i]) not in taken]
        chosen.add(str(unique[min(left, key=lambda i: counts[i])]))
    return chosen


def _stratified_split(
    rows: np.ndarray, y: np.ndarray, test_size: float, val_size: float, rng: np.random.Generator
) -> Split:
    parts: list[list[np.ndarray]] = [[], [], []]
    for label in np.unique(y):
        members = rng.permutation(rows[y == label])
        n = len(members)
        n_test = int(round(n * test_size))
        n_val = int(round(n * val_size))
        parts[2].append(members[:n_test])
        parts[1].append(members[n_test : n_test + n_val])
        parts[0].append(members[n_test + n_val :])
    train, val, test = (np.sort(np.concatenate(p)) if p else np.array([], int) for p in parts)
    return Split(train, val, test)
