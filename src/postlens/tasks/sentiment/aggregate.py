"""Sentiment per topic and per time bin: group-bys over the per-post frame of ``posts.py``.

A group reports the lexicon (mean VADER compound, shares of negative / neutral / positive posts
among posts with text) and, with a model, the share of each predicted class and the mean class
probability (a calibrated-ish view that a few confident posts do not dominate). Posts without text
count in ``posts`` but not in the lexicon figures; posts the model has not predicted count in
``posts`` but not in its figures: each group says how many posts each figure rests on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from postlens.errors import ConfigError
from postlens.tasks.sentiment.posts import LEXICON_LABELS, PROBA_PREFIX, PostSentiment

if TYPE_CHECKING:
    import pandas as pd

GROUPINGS = ("topic", "hour", "day", "week", "month", "none")
_FLOOR = {"hour": "h", "day": "D"}


@dataclass
class SentimentGroup:
    """The figures of one topic or one time bin (``key``: the topic's label or the bin's start)."""

    key: str
    posts: int
    scored: int
    """Posts with a VADER score (posts with text)."""
    compound_mean: float | None
    lexicon_shares: dict[str, float]
    predicted: int = 0
    label_shares: dict[str, float] = field(default_factory=dict)
    proba_means: dict[str, float] = field(default_factory=dict)
    topic_id: int | None = None
    start: datetime | None = None

    @property
    def top_label(self) -> str | None:
        """The model's most frequent label in the group (None without predictions)."""
        return max(self.label_shares, key=lambda k: (self.label_shares[k], k)) if self.label_shares else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "topic_id": self.topic_id,
            "start": self.start,
            "posts": self.posts,
            "scored": self.scored,
            "compound_mean": self.compound_mean,
            "lexicon_shares": self.lexicon_shares,
            "predicted": self.predicted,
            "label_shares": self.label_shares,
            "proba_means": self.proba_means,
            "top_label": self.top_label,
        }


@dataclass
class SentimentReport:
    """Groups in order (topics by size, bins by time) and the figures over every post read."""

    by: str
    groups: list[SentimentGroup]
    overall: SentimentGroup
    model: str | None = None
    classes: list[str] = field(default_factory=list)
    segmentation: str | None = None
    notes: list[str] = field(default_factory=list)
    predicted_now: int = 0
    vader_computed: int = 0

    def frame(self) -> pd.DataFrame:
        """The groups as a DataFrame (one column per lexicon share, class share and class probability)."""
        import pandas as pd

        rows = []
        for g in self.groups:
            row: dict[str, Any] = {
                "key": g.key,
                "topic_id": g.topic_id,
                "start": g.start,
                "posts": g.posts,
                "scored": g.scored,
                "compound_mean": g.compound_mean,
                "predicted": g.predicted,
                "top_label": g.top_label,
            }
            row |= {f"share_{k}": v for k, v in g.lexicon_shares.items()}
            row |= {f"label_share_{k}": v for k, v in g.label_shares.items()}
            row |= {f"{PROBA_PREFIX}{k}": v for k, v in g.proba_means.items()}
            rows.append(row)
        return pd.DataFrame(rows)


def aggregate_sentiment(posts: PostSentiment, *, by: str = "topic") -> SentimentReport:
    """Group ``posts`` by topic (needs ``posts.segmentation``), time bin (hour / day / week / month, UTC)
    or not at all (``none``: the overall figures only)."""
    if by not in GROUPINGS:
        raise ConfigError(f"unknown grouping {by!r}; choose one of {', '.join(GROUPINGS)}")
    frame = posts.frame
    groups: list[SentimentGroup] = []
    notes = list(posts.notes)
    if by == "topic":
        if "topic_id" not in frame:
            raise ConfigError(
                "grouping by topic needs a segmentation: pass segmentation='topics' (postlens segments fit)"
            )
        without = int(frame["topic_id"].isna().sum())
        if without:
            notes.append(
                f"{without:,} posts have no topic in segmentation {posts.segmentation!r} and are left out of "
                "the topic rows (they count in the overall figures)"
            )
        for topic_value, part in frame[frame["topic_id"].notna()].groupby("topic_id", sort=False):
            topic_id = int(topic_value)  # type: ignore[arg-type]  # a pandas group key, an integer here
            name = part["topic"].dropna().iloc[0] if part["topic"].notna().any() else None
            key = f"{topic_id}: {name}" if name else str(topic_id)
            groups.append(_group(part, key, posts.classes, topic_id=topic_id))
        groups.sort(key=lambda g: (-g.posts, g.topic_id or 0))
    elif by != "none":
        dated = frame[frame["created_at"].notna()]
        undated = len(frame) - len(dated)
        if undated:
            notes.append(f"{undated:,} posts have no time and are left out of the time bins")
        starts = _bin_starts(dated["created_at"], by)
        for start, part in dated.groupby(starts, sort=True):
            when = start.to_pydatetime()
            label = when.strftime("%Y-%m-%d %H:00" if by == "hour" else "%Y-%m-%d")
            groups.append(_group(part, label, posts.classes, start=when))
    overall = _group(frame, "all posts", posts.classes)
    return SentimentReport(
        by=by,
        groups=groups,
        overall=overall,
        model=posts.model,
        classes=list(posts.classes),
        segmentation=posts.segmentation,
        notes=notes,
        vader_computed=posts.vader_computed,
    )


def _bin_starts(times: pd.Series, by: str) -> pd.Series:
    if by in _FLOOR:
        return times.dt.floor(_FLOOR[by])
    naive = times.dt.tz_convert("UTC").dt.tz_localize(None)
    return naive.dt.to_period("W-SUN" if by == "week" else "M").dt.start_time.dt.tz_localize("UTC")


def _group(
    part: pd.DataFrame, key: str, classes: list[str], *, topic_id: int | None = None, start: datetime | None = None
) -> SentimentGroup:
    compound = part["vader_compound"].to_numpy(float)
    scored = int(np.isfinite(compound).sum())
    lexicon = part["vader_label"].dropna()
    shares = {name: float((lexicon == name).mean()) if len(lexicon) else 0.0 for name in LEXICON_LABELS}
    group = SentimentGroup(
        key=key,
        posts=len(part),
        scored=scored,
        compound_mean=float(np.nanmean(compound)) if scored else None,
        lexicon_shares=shares,
        topic_id=topic_id,
        start=start,
    )
    if classes and "label" in part:
        labelled = part[part["label"].notna()]
        group.predicted = len(labelled)
        if len(labelled):
            group.label_shares = {c: float((labelled["label"] == c).mean()) for c in classes}
            group.proba_means = {c: float(labelled[f"{PROBA_PREFIX}{c}"].mean()) for c in classes}
    return group
