"""Train / validation / test splits that do not leak.

Social posts leak easily: one image is reposted by many accounts, one event is covered by thousands
of tweets, and the future explains the past. So the default split is by time (train on the past,
test on the future); group splits keep every post of one author or event on one side; a column
split takes the sides a benchmark ships with (``train`` / ``val`` / ``test`` values in a label). The
``duplicates`` split is a group split whose groups are joined by duplicate clusters (``postlens
dedupe``): a picture or text reposted in two events pulls both events to one side, so no copy of a
post is on the other side.

Time boundaries fall between calendar days (UTC) by default: posts of one day share the news
they react to, so no day is on two sides (``time_boundary="day"``). ``"timestamp"`` only keeps
equal timestamps together, for corpora that span a day or two.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import numpy as np

from postlens.errors import ConfigError, unknown_name
from postlens.evaluation.image_groups import combine_groups

SplitStrategy = Literal["time", "author", "group", "duplicates", "stratified", "random", "column"]
TimeBoundary = Literal["day", "timestamp"]
STRATEGIES: tuple[str, ...] = get_args(SplitStrategy)
"""The one list of split strategies: configs type their field ``SplitStrategy``, code checks ``STRATEGIES``."""
TIME_BOUNDARIES: tuple[str, ...] = get_args(TimeBoundary)
SECONDS_PER_DAY = 86400.0
# Spellings of the sides in a split column (compared lower-cased, stripped).
SIDE_SPELLINGS: dict[str, tuple[str, ...]] = {
    "train": ("train", "training", "trn"),
    "val": ("val", "valid", "validation", "dev", "development", "devel"),
    "test": ("test", "testing", "tst"),
}
NO_VALUE = "(no value)"


@dataclass(frozen=True)
class Split:
    """Row indices of each side; disjoint, sorted. ``info``: what a report should say about it."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "val": len(self.val), "test": len(self.test)}


def make_split(
    strategy: str,
    n: int,
    *,
    times: np.ndarray | None = None,
    groups: np.ndarray | None = None,
    y: np.ndarray | None = None,
    values: np.ndarray | None = None,
    clusters: np.ndarray | None = None,
    test_size: float = 0.2,
    val_size: float = 0.1,
    seed: int = 0,
    time_boundary: str = "day",
) -> Split:
    """Split ``n`` rows. ``times`` (float seconds, NaN = unknown) for "time"; ``groups`` for
    "author"/"group"; ``y`` (class index per row) for "stratified"; ``values`` (the split column's
    value per row, None when absent) for "column"; ``clusters`` (duplicate cluster per row, "" or
    None for a post in none) and optionally ``groups`` for "duplicates".

    Validation is carved out of the training side with the same strategy, so early stopping
    never sees test groups or test-period posts.
    """
    if strategy not in STRATEGIES:
        raise unknown_name("split strategy", strategy, STRATEGIES)
    if strategy == "column":
        if values is None:
            raise ConfigError("split 'column' needs the split column's value per post")
        if not 0 <= val_size < 1:
            raise ConfigError(f"val_size={val_size} must be in [0, 1)")
        return column_split(np.asarray(values, dtype=object), val_size=val_size, y=y, seed=seed)
    if not 0 < test_size < 1 or not 0 <= val_size < 1 or test_size + val_size >= 1:
        raise ConfigError(f"test_size={test_size} and val_size={val_size} must be in (0, 1) and sum below 1")
    rows = np.arange(n)
    if strategy == "time":
        if times is None:
            raise ConfigError(
                "split 'time' needs post times; the posts have no created_at: use 'group' or 'stratified'"
            )
        if time_boundary not in TIME_BOUNDARIES:
            raise unknown_name("time boundary", time_boundary, TIME_BOUNDARIES)
        return _time_split(rows, np.asarray(times, dtype=float), test_size, val_size, time_boundary)
    if strategy == "duplicates":
        if clusters is None:
            raise ConfigError(
                "split 'duplicates' needs the duplicate cluster of every post: run 'postlens dedupe' first"
            )
        joined = duplicate_groups(groups, clusters)
        split = _group_split(rows, joined, test_size, val_size, seed)
        split.info["duplicate_clusters"] = len({str(c) for c in clusters if c})
        if groups is not None:
            split.info["groups_before_joining"] = len({str(g) for g in groups})
        return split
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


def time_buckets(times: np.ndarray, boundary: str) -> np.ndarray:
    """The unit no boundary may cut: the UTC day (``floor(seconds / 86400)``) or the timestamp itself."""
    return np.floor(times / SECONDS_PER_DAY) if boundary == "day" else times


def boundary_cut(buckets: np.ndarray, wanted: int, low: int, high: int) -> int | None:
    """The index nearest ``wanted`` in (low, high) where the (sorted) bucket changes, so rows before
    it and rows from it on share no bucket; None when no such index exists. Ties go forward
    (the boundary bucket joins the earlier side, as a strictly-later test side wants)."""
    changes = np.flatnonzero(buckets[1:] != buckets[:-1]) + 1
    changes = changes[(changes > low) & (changes < high)]
    if len(changes) == 0:
        return None
    distance = np.abs(changes - wanted)
    best = np.flatnonzero(distance == distance.min())
    return int(changes[best[-1]])


def _time_split(rows: np.ndarray, times: np.ndarray, test_size: float, val_size: float, boundary: str) -> Split:
    """Oldest posts train, then validation, newest test; no time bucket lies on two sides.
    Posts with no time only ever train."""
    known = rows[~np.isnan(times)]
    unknown = rows[np.isnan(times)]
    ordered = known[np.argsort(times[known], kind="stable")]
    buckets = time_buckets(times[ordered], boundary)
    n_test = max(1, int(round(len(rows) * test_size)))
    n_val = int(round(len(rows) * val_size))
    if n_test + n_val >= len(ordered):
        raise ConfigError(f"only {len(ordered)} posts have a time: too few for a time split")
    unit = "calendar day (UTC)" if boundary == "day" else "timestamp"
    hint = " or set split.time_boundary: timestamp" if boundary == "day" else ""
    cut_test = boundary_cut(buckets, len(ordered) - n_test, 0, len(ordered))
    if cut_test is None:
        raise ConfigError(
            f"every timed post falls in one {unit}: a time split cannot keep test strictly later; "
            f"use another split strategy{hint}"
        )
    cut_val: int | None = cut_test
    if n_val > 0:
        cut_val = boundary_cut(buckets, cut_test - n_val, 0, cut_test)
        if cut_val is None:
            raise ConfigError(
                f"the posts before the test period fall in one {unit}: no validation period "
                f"strictly before test and after train; set split.val_size: 0{hint}"
            )
    train = np.concatenate([ordered[:cut_val], unknown])
    info: dict[str, Any] = {"time_boundary": boundary}
    if len(unknown):
        info["posts without a time (train only)"] = int(len(unknown))
    return Split(np.sort(train), np.sort(ordered[cut_val:cut_test]), np.sort(ordered[cut_test:]), info)


def _group_split(rows: np.ndarray, groups: np.ndarray, test_size: float, val_size: float, seed: int) -> Split:
    """Whole groups go to one side; groups are shuffled, then filled up to the wanted sizes.
    At least half the groups train (one when there are 3), and one group is left for validation when asked."""
    keys = np.array(["" if g is None else str(g) for g in groups], dtype=object)
    unique, counts = np.unique(keys, return_counts=True)
    need = 3 if val_size > 0 else 2
    if len(unique) < need:
        raise ConfigError(
            f"a group split with {'train, val and test' if need == 3 else 'train and test'} needs "
            f"at least {need} groups, found {len(unique)}: {_group_sizes(unique, counts)}"
        )
    order = np.random.default_rng(seed).permutation(len(unique))
    n = len(rows)
    keep = _train_share(len(unique))
    spare = len(unique) - keep  # the groups test and validation share, in proportion to their sizes
    test_most = max(1, round(spare * test_size / (test_size + val_size)))
    test_groups = _fill(unique, counts, order, test_size * n, set(), reserve=max(need - 1, len(unique) - test_most))
    val_groups = _fill(unique, counts, order, val_size * n, test_groups, reserve=keep) if val_size > 0 else set()
    in_test = np.array([k in test_groups for k in keys])
    in_val = np.array([k in val_groups for k in keys])
    split = Split(
        rows[~in_test & ~in_val],
        rows[in_val],
        rows[in_test],
        {
            "groups": {
                "train": len(unique) - len(test_groups) - len(val_groups),
                "val": len(val_groups),
                "test": len(test_groups),
            }
        },
    )
    if len(split.train) == 0:  # cannot happen with the reserve above; kept as the guard the message needs
        raise ConfigError(f"the group split left no post for training; groups: {_group_sizes(unique, counts)}")
    return split


def _group_sizes(unique: np.ndarray, counts: np.ndarray, limit: int = 8) -> str:
    order = np.argsort(-counts, kind="stable")[:limit]
    shown = ", ".join(f"{str(unique[i]) or NO_VALUE!r}: {int(counts[i])}" for i in order)
    return "{" + shown + (", ..." if len(unique) > limit else "") + "}"


def _train_share(n_groups: int) -> int:
    """Groups kept for training: at least half of them.

    Rows alone would let many small groups fill the test and validation sides and leave one giant
    group to train on (MediaEval: 13 events in test, Sandy alone in train); a model trained on one
    event learns that event."""
    return max(1, int(np.ceil(n_groups / 2)))


def _fill(
    unique: np.ndarray,
    counts: np.ndarray,
    order: np.ndarray,
    target: float,
    taken: set[str],
    *,
    reserve: int,
) -> set[str]:
    """Groups (in shuffled order) whose sizes add up to about ``target`` rows, never overshooting by
    more than half: one giant event must not swallow the test side. Always at least one group;
    never so many that fewer than ``reserve`` groups are left for the sides still to fill (and training)."""
    chosen: set[str] = set()
    filled = 0
    room = len(unique) - len(taken) - reserve
    for index in order:
        group, count = str(unique[index]), int(counts[index])
        if group in taken or filled >= target or len(chosen) >= room:
            continue
        if filled + count <= target * 1.5:
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


def side_of(value: Any) -> str | None:
    """``"Validation "`` -> ``"val"``; None for a value that names no side."""
    if value is None:
        return None
    text = str(value).strip().lower()
    return next((side for side, names in SIDE_SPELLINGS.items() if text in names), None)


def column_split(values: np.ndarray, *, val_size: float = 0.1, y: np.ndarray | None = None, seed: int = 0) -> Split:
    """The sides a dataset ships with, read from one value per row.

    Rows whose value names no side (or have none) are left out and counted in ``info``. A file with
    train and val but no test: its val rows become the reported held-out side (``info["held_out"]``
    = "val") and validation for early stopping is carved from train (``val_size``, stratified by
    ``y`` when given), so nothing is both tuned on and reported. The same carving happens when the
    file has train and test but no val.
    """
    sides = np.array([side_of(v) for v in values], dtype=object)
    found = {side: np.flatnonzero(sides == side) for side in SIDE_SPELLINGS}
    left_out = Counter(
        NO_VALUE if v is None or str(v).strip() == "" else str(v) for v, s in zip(values, sides) if s is None
    )
    seen = dict(Counter(NO_VALUE if v is None or str(v).strip() == "" else str(v) for v in values).most_common(10))
    spellings = "; ".join(f"{side}: {', '.join(names)}" for side, names in SIDE_SPELLINGS.items())
    if len(found["train"]) == 0:
        raise ConfigError(
            f"the split column has no train rows; values seen (count): {seen}; accepted spellings: {spellings}"
        )
    if len(found["test"]) == 0 and len(found["val"]) == 0:
        raise ConfigError(
            f"the split column has train rows but no val or test rows to report on; "
            f"values seen (count): {seen}; accepted spellings: {spellings}"
        )
    info: dict[str, Any] = {"column_sides": {s: int(len(r)) for s, r in found.items()}, "left_out": dict(left_out)}
    train, val, test = found["train"], found["val"], found["test"]
    if len(test) == 0:
        info["held_out"] = "val"
        info["note"] = (
            "the split column has no test rows: its val rows are the reported held-out side; "
            "validation for early stopping is carved from train"
        )
        test, val = val, np.array([], int)
    else:
        info["held_out"] = "test"
    if len(val) == 0 and val_size > 0:
        carved = make_split(
            "stratified" if y is not None else "random",
            len(train),
            y=None if y is None else np.asarray(y)[train],
            test_size=val_size,
            val_size=0.0,
            seed=seed,
        )
        info["val_from"] = f"{val_size:.0%} of train"
        train, val = train[carved.train], train[carved.test]
    else:
        info["val_from"] = "column" if len(val) else "none"
    return Split(np.sort(train), np.sort(val), np.sort(test), info)


def duplicate_groups(groups: np.ndarray | None, clusters: np.ndarray) -> np.ndarray:
    """One key per row: rows sharing a group (the event) or a duplicate cluster share it, and links chain.

    A joined group is named after the smallest of its groups (or, without groups, of its clusters),
    so where no cluster joins two groups the keys are the groups themselves and a seeded split or
    fold over them is exactly the plain group split: the two differ only where copies cross groups.
    """
    if groups is not None and len(groups) != len(clusters):
        raise ConfigError(f"{len(groups)} groups but {len(clusters)} duplicate clusters")
    cluster_keys = ["" if c is None else str(c) for c in clusters]
    if groups is None:
        joined = combine_groups(cluster_keys)
        names = [key or f"?row{row}" for row, key in enumerate(cluster_keys)]
    else:
        joined = combine_groups(np.asarray(groups, dtype=object), cluster_keys)
        names = [f"?row{row}" if g is None or g == "" else str(g) for row, g in enumerate(groups)]
    smallest: dict[str, str] = {}
    for key, name in zip(joined, names):
        if key not in smallest or name < smallest[key]:
            smallest[key] = name
    return np.array([smallest[key] for key in joined], dtype=object)
