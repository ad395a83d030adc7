"""k-fold cross-validation folds that do not leak, each with its own validation rows.

A single split of 1-2k posts moves by several points of macro-F1 from seed to seed; k folds give
a mean and a spread. Kinds:

    plain       shuffled rows dealt into k folds
    stratified  every class dealt evenly into the folds
    group       whole groups (authors, events) per fold, largest first into the smallest fold
    time        forward chaining: the timed posts are cut into k+1 periods at day (or timestamp)
                boundaries; fold i trains on periods 0..i-1 and is tested on period i, never on
                the past. Posts without a time only ever train.

Validation for early stopping comes from each fold's training part, carved with the same kind
(the latest period for "time", whole groups for "group"), never from the held-out fold.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np

from postlens.errors import ConfigError, unknown_name
from postlens.evaluation.splits import boundary_cut, make_split, time_buckets

FoldKind = Literal["plain", "stratified", "group", "time"]
FOLD_KINDS: tuple[str, ...] = get_args(FoldKind)
_INNER_STRATEGY = {"plain": "random", "stratified": "stratified", "group": "group", "time": "time"}


@dataclass(frozen=True)
class Fold:
    """Row indices: ``train`` fits, ``val`` stops early (carved from the fold's training part), ``test`` is held out."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "val": len(self.val), "test": len(self.test)}


def make_folds(kind: str, n: int, k: int, *, y: np.ndarray | None = None, groups: np.ndarray | None = None,
               times: np.ndarray | None = None, val_size: float = 0.1, seed: int = 0,
               time_boundary: str = "day") -> list[Fold]:
    """``k`` folds over rows ``0..n-1``; the held-out parts are disjoint (and, except for "time",
    cover every row once)."""
    if kind not in FOLD_KINDS:
        raise unknown_name("fold kind", kind, FOLD_KINDS)
    if k < 2:
        raise ConfigError(f"cross-validation needs at least 2 folds, got {k}")
    if not 0 <= val_size < 1:
        raise ConfigError(f"val_size={val_size} must be in [0, 1)")
    if n < 2 * k:
        raise ConfigError(f"{n} posts are too few for {k} folds")
    rows = np.arange(n)
    rng = np.random.default_rng(seed)
    if kind == "plain":
        held_out = [np.sort(part) for part in np.array_split(rng.permutation(rows), k)]
    elif kind == "stratified":
        if y is None:
            raise ConfigError("stratified folds need a class per post")
        held_out = _stratified_parts(np.asarray(y), k, rng)
    elif kind == "group":
        if groups is None:
            raise ConfigError("grouped folds need a group per post (author id or the group label)")
        held_out = _group_parts(np.asarray(groups, dtype=object), k, rng)
    else:
        if times is None:
            raise ConfigError("time folds need post times; the posts have no created_at")
        return _forward_chaining(np.asarray(times, float), k, val_size, time_boundary)
    folds = []
    for test in held_out:
        rest = np.setdiff1d(rows, test)
        train, val = carve_validation(kind, rest, val_size, y=y, groups=groups, times=times, seed=seed,
                                      time_boundary=time_boundary)
        folds.append(Fold(train, val, test))
    return folds


def carve_validation(kind: str, rows: np.ndarray, val_size: float, *, y: np.ndarray | None = None,
                     groups: np.ndarray | None = None, times: np.ndarray | None = None, seed: int = 0,
                     time_boundary: str = "day") -> tuple[np.ndarray, np.ndarray]:
    """Split ``rows`` (one fold's training part) into rows to fit on and rows to stop early on."""
    if val_size <= 0:
        return np.sort(rows), np.array([], int)
    pick = lambda a: None if a is None else np.asarray(a)[rows]  # noqa: E731
    inner = make_split(_INNER_STRATEGY[kind], len(rows), y=pick(y), groups=pick(groups), times=pick(times),
                       test_size=val_size, val_size=0.0, seed=seed, time_boundary=time_boundary)
    return np.sort(rows[inner.train]), np.sort(rows[inner.test])


def _stratified_parts(y: np.ndarray, k: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Each class's shuffled rows dealt round-robin; the dealing starts where the last class ended,
    so fold sizes differ by at most one."""
    parts: list[list[int]] = [[] for _ in range(k)]
    start = 0
    for label in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == label))
        for i, row in enumerate(members):
            parts[(start + i) % k].append(int(row))
        start = (start + len(members)) % k
    return [np.sort(np.array(p, int)) for p in parts]


def _group_parts(groups: np.ndarray, k: int, rng: np.random.Generator) -> list[np.ndarray]:
    keys = np.array(["" if g is None else str(g) for g in groups], dtype=object)
    unique, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    if len(unique) < k:
        raise ConfigError(f"grouped {k}-fold cross-validation needs at least {k} groups, found {len(unique)}")
    shuffled = rng.permutation(len(unique))
    order = shuffled[np.argsort(-counts[shuffled], kind="stable")]  # largest first, ties in seeded order
    fold_of = np.empty(len(unique), int)
    filled = np.zeros(k, int)
    for g in order:
        target = int(np.argmin(filled))
        fold_of[g] = target
        filled[target] += counts[g]
    return [np.sort(np.flatnonzero(fold_of[inverse] == f)) for f in range(k)]


def _forward_chaining(times: np.ndarray, k: int, val_size: float, boundary: str) -> list[Fold]:
    rows = np.arange(len(times))
    known, unknown = rows[~np.isnan(times)], rows[np.isnan(times)]
    ordered = known[np.argsort(times[known], kind="stable")]
    buckets = time_buckets(times[ordered], boundary)
    cuts = [0]
    for i in range(1, k + 1):
        wanted = round(len(ordered) * i / (k + 1))
        cut = boundary_cut(buckets, wanted, cuts[-1], len(ordered))
        if cut is None:
            unit = "calendar days (UTC)" if boundary == "day" else "distinct timestamps"
            raise ConfigError(f"the timed posts span too few {unit} for {k} forward-chaining folds; "
                              "use fewer folds" + (" or split.time_boundary: timestamp" if boundary == "day" else ""))
        cuts.append(cut)
    cuts.append(len(ordered))
    folds = []
    for i in range(1, k + 1):
        past = np.concatenate([ordered[: cuts[i]], unknown])
        test = np.sort(ordered[cuts[i] : cuts[i + 1]])
        train, val = carve_validation("time", past, val_size, times=times, time_boundary=boundary)
        folds.append(Fold(train, val, test))
    return folds
