"""What a topic is about, for people: its top words, a short label, its most typical posts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from postlens.tasks.segments.model import label_units
from postlens.tasks.segments.parts import PostParts
from postlens.tasks.segments.words import Vocabulary, class_tfidf

LABEL_WORDS = 4


@dataclass
class TopicSummary:
    topic_id: int
    size: int
    words: list[tuple[str, float]] = field(default_factory=list)
    representatives: list[str] = field(default_factory=list)  # post ids, most typical first

    @property
    def label(self) -> str:
        return ", ".join(w for w, _ in self.words[:LABEL_WORDS]) or f"topic {self.topic_id}"


def describe_topics(
    parts: PostParts, topics: Sequence[int | None], scores: np.ndarray, *, top_n: int = 10, representatives: int = 5
) -> dict[int, TopicSummary]:
    """Class-TF-IDF words over every text field and image label of each topic's posts (what a post's
    media say counted once per distinct picture: ``label_units``), and the posts closest to the topic
    (one per distinct text, so a retweeted post is shown once)."""
    labels = np.array([t if t is not None else -1 for t in topics])
    ids = sorted({int(t) for t in labels if t > 0})
    documents, document_topic, weights = label_units(parts, labels)
    vocabulary = Vocabulary.build(documents, min_df=2)
    words = (
        class_tfidf(vocabulary, document_topic, ids, top_n=top_n, weights=weights)
        if vocabulary.words
        else {t: [] for t in ids}
    )
    out: dict[int, TopicSummary] = {}
    order = np.argsort(-np.nan_to_num(np.asarray(scores, float), nan=-2.0), kind="stable")
    picked: dict[int, list[str]] = {t: [] for t in ids}
    seen: dict[int, set[str]] = {t: set() for t in ids}
    for row in order:
        topic = int(labels[row])
        if topic <= 0 or len(picked[topic]) >= representatives:
            continue
        text = " ".join(parts.texts[row].split()).lower()
        if not text or text in seen[topic]:  # a post with no words says little about a topic
            continue
        seen[topic].add(text)
        picked[topic].append(parts.ids[row])
    for topic in ids:
        out[topic] = TopicSummary(topic, int((labels == topic).sum()), words.get(topic, []), picked[topic])
    return out
