"""Grouped k folds that keep every class in every fold when the groups allow it.

Dealing whole groups largest-first into the smallest fold balances sizes only: on MediaEval (17
events, most of them one class) it leaves a fold of fake posts alone, whose macro-F1 then says
nothing. Here each group goes to the fold where it brings the per-class counts closest to an even
share (a chi-square-like cost), largest groups first, ties broken by a seeded shuffle. Without
classes (regression, multi-label) the cost is the fold size alone.
"""

from __future__ import annotations

import numpy as np

from postlens.errors import ConfigError


def stratified_group_folds(
    groups: np.ndarray, k: int, *, y: np.ndarray | None = None, seed: int = 0
) -> list[np.ndarray]:
    """``k`` disjoint, sorted arrays of row indices covering every row; a group is never split."""
    keys = np.array(["" if g is None else str(g) for g in groups], dtype=object)
    unique, inverse = np.unique(keys, return_inverse=True)
    if k < 2:
        raise ConfigError(f"grouped folds need k >= 2, got {k}")
    if len(unique) < k:
        raise ConfigError(f"grouped {k}-fold needs at least {k} groups, found {len(unique)}")
    labels = np.zeros(len(keys), int) if y is None or np.asarray(y).ndim != 1 else np.unique(y, return_inverse=True)[1]
    counts = np.zeros((len(unique), int(labels.max()) + 1))
    np.add.at(counts, (inverse, labels), 1)
    target = np.maximum(counts.sum(axis=0) / k, 1e-9)
    shuffled = np.random.default_rng(seed).permutation(len(unique))
    order = shuffled[np.argsort(-counts[shuffled].sum(axis=1), kind="stable")]
    filled = np.zeros((k, counts.shape[1]))
    fold_of = np.empty(len(unique), int)
    for group in order:
        after = filled + counts[group]  # (k, classes): each fold's counts if the group went there
        cost = (((after - target) ** 2 - (filled - target) ** 2) / target).sum(axis=1)
        chosen = int(np.argmin(cost))
        fold_of[group] = chosen
        filled[chosen] += counts[group]
    return [np.flatnonzero(fold_of[inverse] == f) for f in range(k)]


def group_kfold_splits(
    groups: np.ndarray, k: int, *, y: np.ndarray | None = None, seed: int = 0
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train rows, held-out rows) per fold, from ``stratified_group_folds``."""
    rows = np.arange(len(groups))
    return [(np.setdiff1d(rows, held), held) for held in stratified_group_folds(groups, k, y=y, seed=seed)]
