"""Grouping rules of aggregate_sentiment on a hand-made per-post frame (no workspace)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from postlens.errors import ConfigError
from postlens.tasks.sentiment import PostSentiment, aggregate_sentiment


def _posts(with_model: bool = True) -> PostSentiment:
    times = [
        datetime(2024, 5, 6, 10, 5),
        datetime(2024, 5, 6, 10, 55),
        datetime(2024, 5, 6, 11, 1),
        datetime(2024, 5, 12, 23, 59),
        datetime(2024, 5, 13, 0, 0),
        None,
    ]
    frame = pd.DataFrame(
        {
            "post_id": [f"p{i}" for i in range(6)],
            "created_at": pd.to_datetime(
                pd.Series([t.replace(tzinfo=UTC) if t else None for t in times], dtype="object"), utc=True
            ),
            "vader_neg": 0.0,
            "vader_neu": 0.5,
            "vader_pos": 0.5,
            "vader_compound": [0.6, -0.4, np.nan, 0.0, 0.9, -0.9],
            "vader_label": ["positive", "negative", None, "neutral", "positive", "negative"],
            "topic_id": pd.array([1, 1, 2, 2, None, 1], dtype="Int64"),
            "topic": ["a", "a", "b", "b", None, "a"],
        }
    )
    posts = PostSentiment(frame=frame, segmentation="topics")
    if with_model:
        frame["label"] = ["joy", "anger", "joy", None, "joy", "anger"]
        frame["proba_joy"] = [0.9, 0.2, 0.6, np.nan, 0.8, 0.1]
        frame["proba_anger"] = [0.1, 0.8, 0.4, np.nan, 0.2, 0.9]
        posts.model, posts.classes = "m", ["joy", "anger"]
    return posts


def test_topics_skip_posts_without_text_in_lexicon_figures_and_posts_without_topic_in_rows() -> None:
    report = aggregate_sentiment(_posts(), by="topic")
    a, b = report.groups  # by size
    assert (a.key, a.posts, a.scored) == ("1: a", 3, 3) and (b.key, b.posts, b.scored) == ("2: b", 2, 1)
    assert a.compound_mean == pytest.approx((0.6 - 0.4 - 0.9) / 3)
    assert b.compound_mean == pytest.approx(0.0) and b.lexicon_shares["neutral"] == 1.0
    assert b.predicted == 1 and b.label_shares == {"joy": 1.0, "anger": 0.0}  # p3 has no prediction
    assert a.label_shares["anger"] == pytest.approx(2 / 3) and a.top_label == "anger"
    assert a.proba_means["joy"] == pytest.approx((0.9 + 0.2 + 0.1) / 3)
    assert report.overall.posts == 6 and report.overall.scored == 5
    assert any("1 posts have no topic" in n for n in report.notes)


def test_hour_day_week_bins_are_utc_and_undated_posts_are_said() -> None:
    hours = aggregate_sentiment(_posts(), by="hour")
    assert [(g.key, g.posts) for g in hours.groups] == [
        ("2024-05-06 10:00", 2),
        ("2024-05-06 11:00", 1),
        ("2024-05-12 23:00", 1),
        ("2024-05-13 00:00", 1),
    ]
    days = aggregate_sentiment(_posts(), by="day")
    assert [(g.key, g.posts) for g in days.groups] == [("2024-05-06", 3), ("2024-05-12", 1), ("2024-05-13", 1)]
    weeks = aggregate_sentiment(_posts(), by="week")  # Monday-based: the 12th is a Sunday, the 13th a Monday
    assert [(g.key, g.posts) for g in weeks.groups] == [("2024-05-06", 4), ("2024-05-13", 1)]
    assert weeks.groups[0].start == datetime(2024, 5, 6, tzinfo=UTC)
    assert any("1 posts have no time" in n for n in days.notes)
    frame = days.frame()
    assert list(frame["posts"]) == [3, 1, 1] and "label_share_joy" in frame and "share_positive" in frame


def test_lexicon_only_and_bad_grouping() -> None:
    report = aggregate_sentiment(_posts(with_model=False), by="none")
    assert report.groups == [] and report.overall.predicted == 0 and report.overall.label_shares == {}
    assert report.overall.top_label is None
    with pytest.raises(ConfigError, match="choose one of"):
        aggregate_sentiment(_posts(), by="minute")
    no_topics = _posts()
    no_topics.frame = no_topics.frame.drop(columns=["topic_id", "topic"])
    with pytest.raises(ConfigError, match="needs a segmentation"):
        aggregate_sentiment(no_topics, by="topic")
