"""The corpus plan: who posts what, when, in which modality, with which sentiment.

All the structure later stages must find is decided here, before any text or pixel exists:
topic volumes with one burst week, a diurnal and weekly rhythm, the modality mix, the
annotated subset and the few videos with a scene change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from postlens.demo.authors import DemoAuthor, author_choice_weights
from postlens.demo.topics import SENTIMENTS, TOPICS

DEFAULT_MIX: dict[str, float] = {
    "text": 0.45,
    "image": 0.30,
    "image_only": 0.08,
    "video": 0.08,
    "audio": 0.05,
    "gif": 0.04,
}
WEEKDAY_WEIGHTS = (1.0, 1.0, 1.0, 1.05, 1.1, 0.85, 0.8)  # Monday first


def hour_weights(peak_hour: int = 19) -> np.ndarray:
    """Diurnal posting rhythm (UTC): most posts in the evening, fewest in the early morning."""
    hours = np.arange(24)
    weights = 0.3 + (1 + np.cos(2 * np.pi * (hours - peak_hour) / 24)) / 2
    return weights / weights.sum()


@dataclass(frozen=True, slots=True)
class CorpusParams:
    """Knobs of the generator; all of them are written to truth.json."""

    n_posts: int = 3000
    n_authors: int = 300
    start: datetime = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday
    weeks: int = 6
    mix: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_MIX))
    labelled_fraction: float = 0.30
    media_only_rate: float = 0.15  # share of video/audio/gif posts without any text
    burst_multiplier: float = 4.0
    burst_topic: str | None = None  # None: drawn from the seed
    burst_week: int | None = None  # 0-based; None: drawn from the seed (never first or last week)
    scene_change_rate: float = 0.05  # of videos, at least 2 when there are 2 or more videos

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_posts": self.n_posts,
            "n_authors": self.n_authors,
            "start": self.start.isoformat(),
            "weeks": self.weeks,
            "mix": dict(self.mix),
            "labelled_fraction": self.labelled_fraction,
            "media_only_rate": self.media_only_rate,
            "burst_multiplier": self.burst_multiplier,
            "scene_change_rate": self.scene_change_rate,
        }


@dataclass(frozen=True, slots=True)
class Burst:
    topic: int
    week: int
    multiplier: float


@dataclass(slots=True)
class PlannedPost:
    index: int
    created_at: datetime
    topic: int
    kind: str
    sentiment: str
    author: int
    labelled: bool
    in_burst: bool
    has_text: bool
    scene_change_topic: int | None = None


def choose_burst(rng: np.random.Generator, params: CorpusParams) -> Burst:
    names = [t.name for t in TOPICS]
    if params.burst_topic is not None:
        if params.burst_topic not in names:
            raise ValueError(f"burst_topic {params.burst_topic!r} is not a demo topic; use one of {names}")
        topic = names.index(params.burst_topic)
    else:
        topic = int(rng.integers(len(TOPICS)))
    if params.burst_week is not None:
        if not 0 <= params.burst_week < params.weeks:
            raise ValueError(f"burst_week {params.burst_week} is outside 0..{params.weeks - 1}")
        week = params.burst_week
    else:
        week = int(rng.integers(1, params.weeks - 1)) if params.weeks >= 3 else 0
    return Burst(topic=topic, week=week, multiplier=params.burst_multiplier)


def plan_posts(
    rng: np.random.Generator, params: CorpusParams, authors: list[DemoAuthor], burst: Burst
) -> list[PlannedPost]:
    """Every post's plan, sorted by time; ``index`` is the position in that order."""
    volumes = np.array([t.volume for t in TOPICS])
    cells = np.tile(volumes, (params.weeks, 1))
    cells[burst.week, burst.topic] *= burst.multiplier
    counts = rng.multinomial(params.n_posts, (cells / cells.sum()).ravel()).reshape(cells.shape)
    kinds = list(params.mix)
    mix = np.array([params.mix[k] for k in kinds], dtype=float)
    mix /= mix.sum()
    author_weights = [author_choice_weights(authors, t) for t in range(len(TOPICS))]
    day_p = np.array(WEEKDAY_WEIGHTS) / sum(WEEKDAY_WEIGHTS)
    hour_p = hour_weights()
    drafts: list[tuple[datetime, int, PlannedPost]] = []
    for week in range(params.weeks):
        for topic in range(len(TOPICS)):
            for _ in range(int(counts[week, topic])):
                day = int(rng.choice(7, p=day_p))
                moment = params.start + timedelta(
                    days=7 * week + day,
                    hours=int(rng.choice(24, p=hour_p)),
                    minutes=int(rng.integers(60)),
                    seconds=int(rng.integers(60)),
                )
                kind = kinds[int(rng.choice(len(kinds), p=mix))]
                sentiment = SENTIMENTS[int(rng.choice(3, p=np.array(TOPICS[topic].sentiment_mix)))]
                media_only = kind in ("video", "audio", "gif") and rng.random() < params.media_only_rate
                post = PlannedPost(
                    index=-1,
                    created_at=moment,
                    topic=topic,
                    kind=kind,
                    sentiment=sentiment,
                    author=int(rng.choice(len(authors), p=author_weights[topic])),
                    labelled=bool(rng.random() < params.labelled_fraction),
                    in_burst=(week == burst.week and topic == burst.topic),
                    has_text=kind != "image_only" and not media_only,
                )
                drafts.append((moment, len(drafts), post))
    drafts.sort(key=lambda item: (item[0], item[1]))
    planned = [post for _, _, post in drafts]
    for index, post in enumerate(planned):
        post.index = index
    _plant_scene_changes(rng, params, planned)
    return planned


def _plant_scene_changes(rng: np.random.Generator, params: CorpusParams, planned: list[PlannedPost]) -> None:
    videos = [p for p in planned if p.kind == "video"]
    if len(videos) < 2:
        return
    count = max(2, int(round(len(videos) * params.scene_change_rate)))
    for position in sorted(rng.choice(len(videos), size=min(count, len(videos)), replace=False)):
        post = videos[int(position)]
        others = [t for t in range(len(TOPICS)) if t != post.topic]
        post.scene_change_topic = others[int(rng.integers(len(others)))]
