"""The duplicate-aware split: no duplicate cluster and no group (event) is ever on two sides."""

from __future__ import annotations

import numpy as np
import pytest

from postlens.errors import ConfigError
from postlens.evaluation.folds import make_folds
from postlens.evaluation.splits import STRATEGIES, duplicate_groups, make_split
from postlens.models.config import SplitConfig


def _sides(split) -> dict[int, str]:
    return {
        int(r): side for side, rows in (("train", split.train), ("val", split.val), ("test", split.test)) for r in rows
    }


def _one_side_each(keys: np.ndarray, side_of: dict[int, str]) -> bool:
    seen: dict[str, set[str]] = {}
    for row, key in enumerate(keys):
        if key:
            seen.setdefault(str(key), set()).add(side_of[row])
    return all(len(sides) == 1 for sides in seen.values())


def _events_and_clusters(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """120 events; 12 clusters of 2-5 posts drawn across events (a reposted picture travels)."""
    rng = np.random.default_rng(seed)
    events = np.array([f"e{k}" for k in rng.integers(0, 120, n)], dtype=object)
    clusters = np.full(n, "", dtype=object)
    rows = rng.permutation(n)
    start = 0
    for number in range(12):
        size = int(rng.integers(2, 6))
        clusters[rows[start : start + size]] = f"c{number}"
        start += size
    return events, clusters


@pytest.mark.parametrize("seed", range(6))
def test_no_cluster_and_no_event_on_two_sides(seed):
    n = 600
    events, clusters = _events_and_clusters(n, seed)
    split = make_split("duplicates", n, groups=events, clusters=clusters, seed=seed)
    sides = _sides(split)
    assert sorted(sides) == list(range(n))  # a partition
    assert _one_side_each(clusters, sides) and _one_side_each(events, sides)
    assert len(split.test) > 0 and len(split.val) > 0
    assert split.info["duplicate_clusters"] == 12


def test_a_plain_group_split_does_put_clusters_on_two_sides():
    """The case the strategy exists for (so the test above could fail): events alone leak copies."""
    n = 600
    leaked = 0
    for seed in range(6):
        events, clusters = _events_and_clusters(n, seed)
        split = make_split("group", n, groups=events, seed=seed)
        leaked += not _one_side_each(clusters, _sides(split))
    assert leaked > 0


def test_without_crossing_clusters_it_is_exactly_the_group_split():
    """Clusters inside events change nothing: same seed, same sides as the plain event split."""
    n = 300
    rng = np.random.default_rng(4)
    events = np.array([f"e{k}" for k in rng.integers(0, 20, n)], dtype=object)
    clusters = np.array([f"c{events[i]}" if i % 3 == 0 else "" for i in range(n)], dtype=object)
    for seed in range(3):
        plain = make_split("group", n, groups=events, seed=seed)
        aware = make_split("duplicates", n, groups=events, clusters=clusters, seed=seed)
        assert _sides(plain) == _sides(aware)


def test_clusters_alone_without_groups():
    n = 200
    clusters = np.array([f"c{i // 4}" if i < 120 else "" for i in range(n)], dtype=object)
    split = make_split("duplicates", n, clusters=clusters, seed=3)
    assert _one_side_each(clusters, _sides(split))
    assert "groups_before_joining" not in split.info


def test_duplicate_groups_chain_events_through_a_shared_cluster():
    events = np.array(["a", "a", "b", "b", "c"], dtype=object)
    clusters = np.array(["", "x", "x", "", None], dtype=object)
    keys = duplicate_groups(events, clusters)
    assert len(set(keys[:4])) == 1 and keys[4] != keys[0]
    assert keys.tolist() == ["a", "a", "a", "a", "c"]  # named after the smallest event it holds
    with pytest.raises(ConfigError, match="groups but"):
        duplicate_groups(events[:3], clusters)


def test_missing_clusters_say_to_run_dedupe():
    assert "duplicates" in STRATEGIES
    with pytest.raises(ConfigError, match="postlens dedupe"):
        make_split("duplicates", 10, groups=np.array(["a"] * 10, dtype=object))
    assert SplitConfig(strategy="duplicates").strategy == "duplicates"


def test_grouped_folds_over_duplicate_groups_keep_clusters_whole():
    n = 400
    events, clusters = _events_and_clusters(n, 9)
    folds = make_folds("group", n, 4, groups=duplicate_groups(events, clusters), val_size=0.1, seed=0)
    for fold in folds:
        sides = {int(r): "held" for r in fold.test} | {int(r): "fit" for r in np.concatenate([fold.train, fold.val])}
        assert _one_side_each(clusters, sides)
