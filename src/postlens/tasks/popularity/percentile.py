"""Where a predicted engagement stands among comparable posts.

Comparable = the same platform and the same follower decade (``follower_band``: <100, 100-1k, 1k-10k,
10k-100k, 100k-1M, >=1M, unknown), among the posts the model was fitted on, compared by their
PREDICTED engagement at the same horizon (so age is the same for all, see ``TargetConfig``). A
group with fewer than ``min_group`` posts falls back to the whole platform, then to every post; the
group used is returned with each percentile.

Percentile = 100 * (reference values below + half of those equal) / reference size: in [0, 100] and
non-decreasing in the value within a group. Large groups are summarised by ``MAX_KEPT`` quantiles.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

BAND_EDGES = (100, 1_000, 10_000, 100_000, 1_000_000)
BAND_NAMES = ("<100", "100-1k", "1k-10k", "10k-100k", "100k-1M", ">=1M")
UNKNOWN_BAND = "followers unknown"
MAX_KEPT = 2001
EVERY = "*"


def follower_band(followers: float | None) -> str:
    if followers is None or (isinstance(followers, float) and math.isnan(followers)) or followers < 0:
        return UNKNOWN_BAND
    return BAND_NAMES[int(np.searchsorted(BAND_EDGES, followers, side="right"))]


def _key(platform: str, band: str) -> str:
    return f"{platform} | {band}"


class Comparables:
    """Sorted reference values per (platform, band) group, per platform, and over every post."""

    def __init__(self, *, min_group: int = 30) -> None:
        self.min_group = min_group

    def fit(self, values: np.ndarray, platforms: np.ndarray, followers: np.ndarray) -> Comparables:
        values = np.asarray(values, float)
        groups: dict[str, list[float]] = {EVERY: list(values)}
        for value, platform, count in zip(values, platforms, followers):
            groups.setdefault(str(platform), []).append(float(value))
            groups.setdefault(_key(str(platform), follower_band(count)), []).append(float(value))
        self.sizes_ = {k: len(v) for k, v in groups.items()}
        self.reference_ = {k: _summary(np.sort(np.asarray(v, float))) for k, v in groups.items()}
        return self

    def group_of(self, platform: str, followers: float | None) -> str:
        for key in (_key(platform, follower_band(followers)), platform):
            if self.sizes_.get(key, 0) >= self.min_group:
                return key
        return EVERY

    def percentile(
        self, values: np.ndarray, platforms: np.ndarray, followers: np.ndarray
    ) -> tuple[np.ndarray, list[str]]:
        out = np.zeros(len(values))
        used = []
        for i, (value, platform, count) in enumerate(zip(values, platforms, followers)):
            key = self.group_of(str(platform), count)
            reference = self.reference_[key]
            below = np.searchsorted(reference, value, side="left")
            upto = np.searchsorted(reference, value, side="right")
            out[i] = 100.0 * (below + upto) / 2 / len(reference)
            used.append(key)
        return out, used

    def to_json(self) -> dict[str, Any]:
        return {
            "min_group": self.min_group,
            "sizes": self.sizes_,
            "reference": {k: v.tolist() for k, v in self.reference_.items()},
        }

    @classmethod
    def from_json(cls, state: dict[str, Any]) -> Comparables:
        comparables = cls(min_group=int(state["min_group"]))
        comparables.sizes_ = {k: int(v) for k, v in state["sizes"].items()}
        comparables.reference_ = {k: np.sort(np.asarray(v, float)) for k, v in state["reference"].items()}
        return comparables


def _summary(ordered: np.ndarray) -> np.ndarray:
    """The values themselves, or MAX_KEPT evenly spaced quantiles of them (still sorted)."""
    if len(ordered) <= MAX_KEPT:
        return ordered
    return np.quantile(ordered, np.linspace(0, 1, MAX_KEPT))
