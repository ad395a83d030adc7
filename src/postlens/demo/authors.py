"""Demo authors: heavy-tailed followers and activity, a few verified accounts, a home topic each.

Real timelines are dominated by a few big accounts and a few very active ones; popularity
models must cope with that skew, so the demo plants it (log-normal followers and activity).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from postlens.demo.topics import TOPICS

_ADJECTIVES = (
    "sunny",
    "quiet",
    "brave",
    "lucky",
    "rapid",
    "misty",
    "urban",
    "cosmic",
    "golden",
    "silver",
    "wild",
    "calm",
    "bold",
    "swift",
    "lunar",
    "polar",
    "rusty",
    "velvet",
    "amber",
    "neon",
)
_NOUNS = (
    "falcon",
    "otter",
    "maple",
    "river",
    "pixel",
    "comet",
    "harbor",
    "fox",
    "cedar",
    "lynx",
    "robin",
    "delta",
    "ember",
    "willow",
    "tiger",
    "koala",
    "raven",
    "orbit",
    "meadow",
    "badger",
)

FOLLOWERS_LOG_MEAN = 6.0
FOLLOWERS_LOG_SIGMA = 1.7
VERIFIED_TOP_FRACTION = 0.03
VERIFIED_RANDOM_RATE = 0.02
HOME_TOPIC_AFFINITY = 0.75


@dataclass(frozen=True, slots=True)
class DemoAuthor:
    id: str
    handle: str
    followers: int
    verified: bool
    home_topic: int
    activity: float


def make_authors(rng: np.random.Generator, count: int) -> list[DemoAuthor]:
    """``count`` authors with unique handles; followers ~ LogNormal(6.0, 1.7) (median ~400)."""
    followers = np.rint(rng.lognormal(FOLLOWERS_LOG_MEAN, FOLLOWERS_LOG_SIGMA, count)).astype(np.int64)
    threshold = np.quantile(followers, 1.0 - VERIFIED_TOP_FRACTION) if count else 0
    lucky = rng.random(count) < VERIFIED_RANDOM_RATE
    volumes = np.array([t.volume for t in TOPICS])
    home = rng.choice(len(TOPICS), size=count, p=volumes / volumes.sum())
    activity = rng.lognormal(0.0, 1.0, count)
    handles: list[str] = []
    seen: set[str] = set()
    for _ in range(count):
        while True:
            handle = f"{_ADJECTIVES[rng.integers(len(_ADJECTIVES))]}_{_NOUNS[rng.integers(len(_NOUNS))]}"
            if rng.random() < 0.6:
                handle += str(int(rng.integers(1, 100)))
            if handle not in seen:
                break
        seen.add(handle)
        handles.append(handle)
    return [
        DemoAuthor(
            id=f"u{i + 1:04d}",
            handle=handles[i],
            followers=int(followers[i]),
            verified=bool(followers[i] >= threshold or lucky[i]),
            home_topic=int(home[i]),
            activity=float(activity[i]),
        )
        for i in range(count)
    ]


def author_choice_weights(authors: list[DemoAuthor], topic_index: int) -> np.ndarray:
    """P(author | topic): mostly people whose home topic it is, weighted by how much they post."""
    activity = np.array([a.activity for a in authors])
    at_home = np.array([a.home_topic == topic_index for a in authors])
    weights = activity * np.where(at_home, HOME_TOPIC_AFFINITY, 1.0 - HOME_TOPIC_AFFINITY)
    if not at_home.any():
        weights = activity.copy()
    home_mass = weights[at_home].sum() if at_home.any() else 0.0
    away_mass = weights[~at_home].sum()
    # Normalise each side separately so the home share is HOME_TOPIC_AFFINITY whatever the group sizes.
    if at_home.any() and away_mass > 0:
        weights = np.where(
            at_home, weights / home_mass * HOME_TOPIC_AFFINITY, weights / away_mass * (1.0 - HOME_TOPIC_AFFINITY)
        )
    return weights / weights.sum()
