"""The planted popularity formula and the engagement snapshots drawn from it.

A popularity model trained on the demo corpus can be judged against a known truth: every
coefficient below is written to truth.json, with each post's expected log-likes before noise.
Snapshots are nested binomial thinnings of the final counts, so counts only grow over time.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from postlens.types import Engagement

FORMULA = (
    "log_mu = intercept + topic_effect[topic] + log_followers * ln(1 + followers)"
    " + verified * [author verified] + hour_amplitude * cos(2*pi*(hour_utc - peak_hour_utc)/24)"
    " + weekend * [Saturday or Sunday UTC] + kind_effects[kind] + sentiment_effects[sentiment];"
    " final likes ~ Poisson(exp(log_mu + noise)), noise ~ Normal(0, noise_sigma);"
    " shares ~ Poisson(exp(log_mu + noise) * share_rate);"
    " comments ~ Poisson(exp(log_mu + noise) * comment_rate * (negative_comment_boost if negative));"
    " views = likes + Poisson(exp(log_mu + noise) * views_per_like);"
    " the count at snapshot k is Binomial(count at snapshot k+1, fraction[k] / fraction[k+1])"
)


@dataclass(frozen=True, slots=True)
class EngagementModel:
    """Coefficients of the planted popularity formula (see ``FORMULA``)."""

    intercept: float = -1.0
    log_followers: float = 0.6
    verified: float = 0.4
    hour_amplitude: float = 0.3
    peak_hour_utc: int = 19
    weekend: float = 0.15
    kind_effects: dict[str, float] = field(
        default_factory=lambda: {
            "text": 0.0,
            "image": 0.35,
            "image_only": 0.25,
            "video": 0.6,
            "audio": -0.1,
            "gif": 0.3,
        }
    )
    sentiment_effects: dict[str, float] = field(
        default_factory=lambda: {
            "positive": 0.1,
            "neutral": 0.0,
            "negative": 0.25,
        }
    )
    noise_sigma: float = 0.45
    share_rate: float = 0.15
    comment_rate: float = 0.08
    negative_comment_boost: float = 1.6
    views_per_like: float = 30.0
    snapshot_hours: tuple[int, ...] = (1, 24, 168)
    snapshot_fractions: tuple[float, ...] = (0.2, 0.7, 1.0)

    def log_mu(
        self,
        *,
        topic_effect: float,
        followers: int,
        verified: bool,
        created_at: datetime,
        kind: str,
        sentiment: str,
    ) -> float:
        """Expected log popularity before noise: the regression target a perfect model recovers."""
        hour_term = math.cos(2 * math.pi * (created_at.hour - self.peak_hour_utc) / 24)
        return (
            self.intercept
            + topic_effect
            + self.log_followers * math.log1p(followers)
            + (self.verified if verified else 0.0)
            + self.hour_amplitude * hour_term
            + (self.weekend if created_at.weekday() >= 5 else 0.0)
            + self.kind_effects[kind]
            + self.sentiment_effects[sentiment]
        )

    def to_dict(self, topic_effects: dict[str, float]) -> dict[str, Any]:
        out = asdict(self)
        out["topic_effects"] = dict(topic_effects)
        out["formula"] = FORMULA
        return out


def _thin(rng: np.random.Generator, final: int, fractions: tuple[float, ...]) -> list[int]:
    """Counts at each snapshot, growing to ``final``: nested binomial thinning backwards in time."""
    counts = [final]
    for k in range(len(fractions) - 2, -1, -1):
        counts.append(int(rng.binomial(counts[-1], fractions[k] / fractions[k + 1])))
    return counts[::-1]


def sample_engagement(
    rng: np.random.Generator,
    model: EngagementModel,
    log_mu: float,
    sentiment: str,
    created_at: datetime,
) -> tuple[float, list[Engagement]]:
    """Draw the noise and the snapshots for one post; returns (noise, snapshots in time order)."""
    noise = float(rng.normal(0.0, model.noise_sigma))
    rate = math.exp(log_mu + noise)
    likes = int(rng.poisson(rate))
    shares = int(rng.poisson(rate * model.share_rate))
    boost = model.negative_comment_boost if sentiment == "negative" else 1.0
    comments = int(rng.poisson(rate * model.comment_rate * boost))
    views = likes + int(rng.poisson(rate * model.views_per_like))
    fractions = model.snapshot_fractions
    series = {
        "likes": _thin(rng, likes, fractions),
        "shares": _thin(rng, shares, fractions),
        "comments": _thin(rng, comments, fractions),
        "views": _thin(rng, views, fractions),
    }
    snapshots = [
        Engagement(
            observed_at=created_at + timedelta(hours=hours),
            likes=series["likes"][k],
            shares=series["shares"][k],
            comments=series["comments"][k],
            views=max(series["views"][k], series["likes"][k]),
        )
        for k, hours in enumerate(model.snapshot_hours)
    ]
    return noise, snapshots
