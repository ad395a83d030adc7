"""Sentiment and emotion per post, per topic and over time: the VADER lexicon and a trained model.

    from postlens.tasks.sentiment import load_post_sentiment, aggregate_sentiment
    with Workspace("postlens-workspace", read_only=True) as ws:
        posts = load_post_sentiment(ws, model="tweeteval-emotion", segmentation="topics")
    posts.frame                       # post_id, created_at, vader_*, topic, label, proba_<class>
    aggregate_sentiment(posts, by="topic").groups
    aggregate_sentiment(posts, by="day").frame()

Per-post results live where the rest of postlens keeps them: VADER scores in the feature cache
(``text-vader``), a model's labels and probabilities in the ``predictions`` table. This package only
reads and groups them; ``postlens.pipeline.sentiment.run_sentiment`` fills what is missing first.
"""

from __future__ import annotations

from postlens.tasks.sentiment.aggregate import GROUPINGS, SentimentGroup, SentimentReport, aggregate_sentiment
from postlens.tasks.sentiment.posts import (
    LEXICON_LABELS,
    VADER_COLUMNS,
    VADER_ENCODER,
    PostSentiment,
    load_post_sentiment,
)

__all__ = [
    "GROUPINGS",
    "LEXICON_LABELS",
    "VADER_COLUMNS",
    "VADER_ENCODER",
    "PostSentiment",
    "SentimentGroup",
    "SentimentReport",
    "aggregate_sentiment",
    "load_post_sentiment",
]
