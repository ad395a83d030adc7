"""Post texts for the demo corpus: topic templates + planted sentiment + the usual social clutter.

Each text is built from its own random stream (see :func:`post_rng`) so that a post's text does
not change when another post's draw changes; mentions, URLs, emoji and hashtags appear at rates
close to real timelines so that the text pipeline meets them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np

from postlens.demo.topics import HARD_SENTIMENT_PHRASES, SENTIMENT_EMOJI, SENTIMENT_PHRASES, Topic

T = TypeVar("T")

URL_DOMAINS = ("news.example.org", "blog.example.com", "example.net", "photos.example.org")

# Probabilities of each optional element of a text; recorded in truth.json.
TEXT_RATES: dict[str, float] = {
    "second_sentence": 0.35,
    "mention": 0.18,
    "url": 0.12,
    "topic_emoji": 0.35,
    "sentiment_emoji": 0.5,
    "hashtags": 0.7,
    "burst_hashtag": 0.6,
    "hard_sentiment": 0.1,  # of positive/negative texts: sarcasm or understatement instead of plain words
}


def post_rng(seed: int, stream: int, index: int) -> np.random.Generator:
    """A random stream owned by one post and one purpose (text, media...), independent of the others."""
    return np.random.default_rng([seed, stream, index])


def pick(rng: np.random.Generator, items: Sequence[T]) -> T:
    return items[int(rng.integers(len(items)))]


def fill_template(rng: np.random.Generator, topic: Topic) -> str:
    """One topical sentence: a template with its slots filled from the topic's vocabulary."""
    template = pick(rng, topic.templates)
    entity = pick(rng, topic.entities)
    entity2 = pick(rng, [e for e in topic.entities if e != entity])
    noun = pick(rng, topic.nouns)
    noun2 = pick(rng, [n for n in topic.nouns if n != noun])
    num = int(rng.integers(1, 10))
    num2 = int(rng.integers(0, 10))
    text = template.format(
        entity=entity,
        entity2=entity2,
        place=pick(rng, topic.places),
        noun=noun,
        noun2=noun2,
        num=num,
        num2=num2,
    )
    return text[0].upper() + text[1:]


def slugify(words: str) -> str:
    return "-".join("".join(ch for ch in w.lower() if ch.isalnum()) for w in words.split()[:4])


def compose_text(
    rng: np.random.Generator,
    topic: Topic,
    sentiment: str,
    *,
    other_handles: Sequence[str],
    in_burst: bool,
) -> tuple[str, bool]:
    """A full post text: topical sentence(s), sentiment phrase, then optional mention/URL/emoji/hashtags.

    Returns (text, hard): ``hard`` says the sentiment is carried by sarcasm or understatement.
    """
    main = fill_template(rng, topic)
    sentences = [main]
    if rng.random() < TEXT_RATES["second_sentence"]:
        sentences.append(fill_template(rng, topic))
    hard = sentiment in HARD_SENTIMENT_PHRASES and rng.random() < TEXT_RATES["hard_sentiment"]
    phrase = pick(rng, (HARD_SENTIMENT_PHRASES if hard else SENTIMENT_PHRASES)[sentiment])
    if phrase:
        # Sentiment first or last, like people write.
        if rng.random() < 0.3:
            sentences.insert(0, phrase)
        else:
            sentences.append(phrase)
    parts = [" ".join(sentences)]
    if sentiment != "neutral" and not hard and rng.random() < TEXT_RATES["sentiment_emoji"]:
        parts.append(pick(rng, SENTIMENT_EMOJI[sentiment]))
    if rng.random() < TEXT_RATES["topic_emoji"]:
        parts.append(pick(rng, topic.emoji))
    if other_handles and rng.random() < TEXT_RATES["mention"]:
        handle = pick(rng, other_handles)
        if rng.random() < 0.5:
            parts.insert(0, f"@{handle}")
        else:
            parts.append(f"cc @{handle}")
    if rng.random() < TEXT_RATES["url"]:
        parts.append(f"https://{pick(rng, URL_DOMAINS)}/{topic.name}/{slugify(main)}")
    tags: list[str] = []
    if rng.random() < TEXT_RATES["hashtags"]:
        count = int(rng.integers(1, 4))
        order = rng.permutation(len(topic.hashtags))[:count]
        tags = [topic.hashtags[int(i)] for i in order]
    if in_burst and rng.random() < TEXT_RATES["burst_hashtag"]:
        tags.append(topic.burst_hashtag)
    if tags:
        parts.append(" ".join(f"#{t}" for t in tags))
    return " ".join(p for p in parts if p), hard


def compose_caption(rng: np.random.Generator, topic: Topic) -> str:
    """The short upper-case caption drawn on an image (OCR target)."""
    return pick(rng, topic.captions)
