"""Burst detection over counts per bin, one vectorised step per bin, resumable from saved state.

The state after bin t depends only on the state after the previous bin with posts and on bin t's
counts, and every number is stored exactly (float64), so folding bins in one run or over many runs
gives the same numbers: that is what makes ``postlens trends`` incremental.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from postlens.tasks.trends.config import TrendSettings

DETECTOR_VERSION = "4"
"""Part of every saved stream's key: bump it when a change here would change results, so saved
states of the old code are recomputed rather than continued."""
STATES = ("emerging", "peaking", "declining", "steady")
NO_ALERT = -(2**62)


@dataclass
class StreamState:
    """Everything the detector remembers about one stream (a source at a bin width)."""

    n_slots: int
    volume: np.ndarray  # (n_slots,) decayed posts per daily slot
    terms: list[str] = field(default_factory=list)
    slot_counts: np.ndarray = field(default_factory=lambda: np.zeros((0, 1)))
    level: np.ndarray = field(default_factory=lambda: np.zeros(0))
    prev_level: np.ndarray = field(default_factory=lambda: np.zeros(0))
    expected_level: np.ndarray = field(default_factory=lambda: np.zeros(0))
    kleinberg_d: np.ndarray = field(default_factory=lambda: np.zeros(0))
    in_burst: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    last_alert: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    """Per term, the last bin it was bursting in: it alerts again only after ``cooldown`` without a burst."""
    first_bin: int | None = None
    last_bin: int | None = None
    index: dict[str, int] = field(default_factory=dict)

    @classmethod
    def empty(cls, settings: TrendSettings) -> StreamState:
        n = settings.n_slots
        return cls(n_slots=n, volume=np.zeros(n), slot_counts=np.zeros((0, n)))

    def copy(self) -> StreamState:
        return StreamState(
            n_slots=self.n_slots,
            volume=self.volume.copy(),
            terms=list(self.terms),
            slot_counts=self.slot_counts.copy(),
            level=self.level.copy(),
            prev_level=self.prev_level.copy(),
            expected_level=self.expected_level.copy(),
            kleinberg_d=self.kleinberg_d.copy(),
            in_burst=self.in_burst.copy(),
            last_alert=self.last_alert.copy(),
            first_bin=self.first_bin,
            last_bin=self.last_bin,
            index=dict(self.index),
        )

    def ensure_terms(self, names: list[str], settings: TrendSettings) -> np.ndarray:
        """Row indices of ``names``, adding unseen terms with an empty history."""
        new = [n for n in dict.fromkeys(names) if n not in self.index]
        if new:
            k = len(new)
            for name in new:
                self.index[name] = len(self.terms)
                self.terms.append(name)
            self.slot_counts = np.vstack([self.slot_counts, np.zeros((k, self.n_slots))])
            self.level = np.concatenate([self.level, np.zeros(k)])
            self.prev_level = np.concatenate([self.prev_level, np.zeros(k)])
            self.expected_level = np.concatenate([self.expected_level, np.zeros(k)])
            self.kleinberg_d = np.concatenate([self.kleinberg_d, np.full(k, settings.kleinberg_cost)])
            self.in_burst = np.concatenate([self.in_burst, np.zeros(k, dtype=bool)])
            self.last_alert = np.concatenate([self.last_alert, np.full(k, NO_ALERT, dtype=np.int64)])
        return np.array([self.index[n] for n in names], dtype=np.int64)


@dataclass
class BinResult:
    """What one bin did to the terms it touched (counted, or not steady)."""

    bin_index: int
    rows: np.ndarray  # term row indices
    count: np.ndarray
    expected: np.ndarray
    score: np.ndarray
    growth: np.ndarray  # per-bin change of the short average / max(its previous value, 1); NaN: a new term
    state: list[str]
    alert: np.ndarray  # bool


def slot_of(bin_index: int, settings: TrendSettings) -> int:
    """Daily slot of a bin (bins are counted from the Unix epoch, so slots are UTC times of day)."""
    return int(bin_index % settings.n_slots) if settings.n_slots > 1 else 0


def fold_bin(
    state: StreamState,
    settings: TrendSettings,
    bin_index: int,
    n_posts: int,
    terms: list[str],
    counts: np.ndarray,
    authors: np.ndarray | None = None,
) -> BinResult:
    """Test bin ``bin_index`` against each term's baseline, then fold the bin into the baseline.

    ``n_posts`` is every post in the bin (the volume that the expected counts scale with); ``terms``
    and ``counts`` are the occurrences counted in it, ``authors`` the distinct authors behind them
    (None: no novelty test). Bins without posts are never folded: they only decay the baseline (by
    elapsed time) when the next bin with posts comes.
    """
    never_seen = np.array([t not in state.index for t in terms], dtype=bool)
    rows = state.ensure_terms(terms, settings)
    if state.first_bin is None:
        state.first_bin = bin_index
    gap = 1 if state.last_bin is None else bin_index - state.last_bin
    if gap < 1:
        raise ValueError(f"bins must be folded in time order: bin {bin_index} after {state.last_bin}")
    decay = math.pow(0.5, gap * settings.bin_seconds / settings.baseline_halflife_seconds)
    state.volume *= decay
    state.slot_counts *= decay
    level_keep = math.pow(0.5, 1.0 / settings.level_halflife_bins)
    idle = math.pow(level_keep, gap - 1)
    state.level *= idle
    state.expected_level *= idle

    c = np.zeros(len(state.terms))
    np.add.at(c, rows, counts.astype(float))
    slot = slot_of(bin_index, settings)
    volume_all = float(state.volume.sum())
    count_all = state.slot_counts.sum(axis=1)
    share_all = (count_all + settings.prior_count) / (volume_all + settings.prior_volume)
    if settings.n_slots > 1:  # the term's own time-of-day factor, shrunk to 1 until its counts say otherwise
        exposure = state.volume[slot] * share_all
        share = share_all * (state.slot_counts[:, slot] + settings.slot_shrink) / (exposure + settings.slot_shrink)
    else:
        share = share_all
    expected = share * n_posts

    with np.errstate(divide="ignore", invalid="ignore"):
        deviance = np.where(c > 0, c * np.log(c / expected), 0.0) - (c - expected)
    z = np.sign(c - expected) * np.sqrt(np.maximum(2 * deviance, 0.0))
    big_enough = c >= max(settings.min_count, settings.min_share * n_posts)
    novel = np.zeros(len(state.terms), dtype=bool)
    if authors is not None and settings.novelty_min_authors > 0:
        # A term never seen in this stream, from several authors and a real share of the bin: a new
        # story's first, thin bin (an old term needs a rate jump; a new one has no rate yet).
        a = np.zeros(len(state.terms))
        np.add.at(a, rows, authors.astype(float))
        fresh = np.zeros(len(state.terms), dtype=bool)
        fresh[rows[never_seen]] = True
        novel = fresh & (a >= settings.novelty_min_authors) & (c >= settings.min_share * n_posts)
    if settings.detector == "poisson":
        significant = (z >= settings.z_threshold) & (c >= settings.min_ratio * expected)
        trigger = (big_enough & significant) | novel
        in_burst = trigger | (state.in_burst & (z >= settings.exit_z))
        score = z
    else:
        gain = c * math.log(settings.burst_ratio) - (settings.burst_ratio - 1) * expected
        d = state.kleinberg_d
        d = np.minimum(d, settings.kleinberg_cost) - np.minimum(d, 0.0) - gain
        state.kleinberg_d = d
        significant = d < 0
        trigger = (significant & big_enough) | novel
        in_burst = trigger | (state.in_burst & (d < 0))
        score = -d
    warm = (bin_index - state.first_bin) * settings.bin_seconds >= settings.warmup_seconds
    cooldown_bins = settings.cooldown_seconds / settings.bin_seconds
    alert = trigger & ~state.in_burst & ((bin_index - state.last_alert) > cooldown_bins) & warm
    state.last_alert = np.where(in_burst, bin_index, state.last_alert)  # the last bin in a burst
    state.in_burst = in_burst

    before = state.level.copy()
    state.prev_level = before
    state.level = level_keep * state.level + (1 - level_keep) * c
    state.expected_level = level_keep * state.expected_level + (1 - level_keep) * expected
    # A term that stands out but has too few posts to alert yet (a story's first, thin hour) teaches its
    # baseline at most ``min_ratio`` times what it expected: otherwise that hour becomes the story's own
    # baseline (after weeks without posts the decayed volume is a few posts) and the next hour, busy
    # enough to alert, no longer stands out.
    early = significant & ~big_enough
    state.slot_counts[:, slot] += np.where(early, np.minimum(c, settings.min_ratio * expected), c)
    state.volume[slot] += n_posts
    state.last_bin = bin_index

    labels = _states(state, in_burst, before)
    touched = np.flatnonzero((c > 0) | (labels != 3) | alert)
    prior = before[touched]  # growth: change of the short average, relative to it but to at least one post per bin
    growth = np.where(prior > 0, (state.level[touched] - prior) / np.maximum(prior, 1.0), np.nan)
    return BinResult(
        bin_index=bin_index,
        rows=touched,
        count=c[touched].astype(np.int64),
        expected=expected[touched],
        score=score[touched],
        growth=growth,
        state=[STATES[i] for i in labels[touched]],
        alert=alert[touched],
    )


def _states(state: StreamState, in_burst: np.ndarray, before: np.ndarray) -> np.ndarray:
    """0 emerging (bursting and rising), 1 peaking (bursting, flat), 2 declining (bursting or still
    well above baseline, and falling), 3 steady."""
    level = state.level
    rising = level > 1.2 * before
    falling = level < 0.8 * before
    elevated = (level >= 2.0 * state.expected_level) & (level >= 0.5)
    labels = np.full(len(level), 3, dtype=np.int64)
    labels[in_burst & ~rising & ~falling] = 1
    labels[in_burst & rising] = 0
    labels[(in_burst | elevated) & falling] = 2
    return labels
