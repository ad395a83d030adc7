"""Settings of the trend detector, and the durations users type (``7d``, ``1h``, ``30m``).

The settings are part of a saved stream's identity: change one and the stream is recomputed,
never continued from a state that other settings produced.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import asdict, dataclass, replace
from typing import Any

from postlens.errors import ConfigError

DETECTORS = ("poisson", "kleinberg")
_UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|min|m|h|d|w)\s*$", re.IGNORECASE)


def parse_duration(text: str, *, what: str = "duration") -> int:
    """Seconds in ``30m``, ``1h``, ``6h``, ``1d``, ``2w`` (a number and one of s, m/min, h, d, w)."""
    found = _DURATION.match(str(text))
    if not found:
        raise ConfigError(
            f"{what} {text!r} is not a duration; write a number and a unit: s, m, h, d or w (e.g. 1h, 7d)"
        )
    seconds = float(found[1]) * _UNITS[found[2].lower()]
    if not 1 <= seconds < 100 * 365 * 86400 or not math.isfinite(seconds):
        raise ConfigError(f"{what} {text!r} is out of range (1 s to 100 years)")
    return int(round(seconds))


def format_duration(seconds: int) -> str:
    for unit, size in (("w", 7 * 86400), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@dataclass(frozen=True, slots=True)
class TrendSettings:
    """How counts per bin become burst decisions.

    The baseline of a term is its own share of all posts, per time of day (daily slots when the bin
    divides a day), decayed with ``baseline_halflife``: a term that follows the platform's daily
    cycle or its growth keeps its share and does not fire; a term with its own morning peak learns it.
    ``poisson`` fires when one bin's count is far above that baseline (signed deviance z); ``kleinberg``
    runs Kleinberg's two-state automaton (rate x ``burst_ratio`` in the burst state, entering costs
    ``kleinberg_cost``) online, so it also catches a moderate rise that lasts several bins.
    """

    bin_seconds: int = 3600
    detector: str = "poisson"
    baseline_halflife_seconds: int = 7 * 86400
    level_halflife_bins: float = 2.0
    prior_count: float = 0.5
    """A term never seen counts as this many occurrences in ``prior_volume`` posts."""
    prior_volume: float = 50.0
    slot_shrink: float = 2.0
    """Pseudo-occurrences behind a term's time-of-day factor: the factor (its share at this time of
    day over its all-day share) moves away from 1 only as the term's counts in that slot add up."""
    min_count: int = 10
    min_share: float = 0.2
    """A burst needs at least this share of the bin's posts (besides ``min_count``): a sub-story of a
    busy hour must stand out of that hour, not only out of its own history."""
    z_threshold: float = 6.0
    min_ratio: float = 3.0
    exit_z: float = 2.0
    burst_ratio: float = 3.0
    kleinberg_cost: float = 6.0
    cooldown_seconds: int = 86400
    """A term alerts again only after this long without bursting (one long burst is one alert)."""
    warmup_seconds: int = 2 * 86400
    """No alert during the stream's first two days: the baseline, and each term's time-of-day factor,
    have not seen a day repeat yet."""
    novelty_min_authors: int = 0
    """When > 0, a term never seen in the stream alerts below ``min_count`` once this many distinct
    authors post it in one bin (and it holds ``min_share`` of the bin): a new story's thin first hour.
    Off by default: on PHEME and MediaEval 2016 (bench/trends.py) 3 caught one more event per corpus
    within an hour but doubled or tripled the false alarms per quiet week; 5 caught none hourly."""
    story_overlap: float = 0.5
    """Alerts are one story when this share of their posts overlap (same bin), or when this share of a
    later alert's posts carry a term of the story (a sub-story, grouped instead of alerted)."""
    story_similarity: float = 0.3
    """Alerts of the same bin are also one story when their term profiles (the share of their posts
    carrying each term) have at least this cosine: one event told in different words by different posts."""
    story_gap_seconds: int = 3 * 86400
    """A story takes in sub-stories until this long after its last alerting bin."""

    def __post_init__(self) -> None:
        if self.detector not in DETECTORS:
            raise ConfigError(f"unknown detector {self.detector!r}; use one of {', '.join(DETECTORS)}")
        positive = {k: v for k, v in asdict(self).items() if k != "detector"}
        for name, value in positive.items():
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ConfigError(f"trend setting {name} must be a number >= 0, got {value!r}")
        for name in ("story_overlap", "story_similarity"):
            if not 0 < getattr(self, name) <= 1:
                raise ConfigError(f"trend setting {name} must be in (0, 1], got {getattr(self, name)!r}")
        if self.bin_seconds < 1 or self.burst_ratio <= 1 or self.prior_volume <= 0:
            raise ConfigError("trend settings need bin_seconds >= 1, burst_ratio > 1 and prior_volume > 0")

    @property
    def n_slots(self) -> int:
        """Daily slots of the baseline: bins per day when a bin divides a day, else one."""
        return 86400 // self.bin_seconds if self.bin_seconds < 86400 and 86400 % self.bin_seconds == 0 else 1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def fingerprint(self) -> str:
        """Identity of a stream's saved state: the story settings group alerts after the fact, so they
        are left out (changing them does not recompute the streams)."""
        counted = {k: v for k, v in self.to_dict().items() if not k.startswith("story_")}
        return hashlib.sha256(json.dumps(counted, sort_keys=True).encode()).hexdigest()[:12]

    def with_changes(self, **changes: Any) -> TrendSettings:
        """A copy with some settings changed; unknown names are refused with the valid ones listed."""
        valid = set(asdict(self))
        unknown = sorted(set(changes) - valid)
        if unknown:
            raise ConfigError(f"unknown trend setting(s) {', '.join(unknown)}; valid: {', '.join(sorted(valid))}")
        return replace(self, **changes)
