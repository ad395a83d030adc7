"""The planted structure is really there: burst, popularity formula, sentiment, topic signal."""

from __future__ import annotations

import math
from collections import Counter
from datetime import datetime

import numpy as np
import pytest
from PIL import Image

from postlens.demo import CorpusParams, generate_corpus


def week_of(created_at: str, start: datetime) -> int:
    return (datetime.fromisoformat(created_at) - start).days // 7


def test_burst_is_visible_in_weekly_counts(demo_posts, demo_truth):
    start = datetime.fromisoformat(demo_truth["params"]["start"])
    burst = demo_truth["burst"]
    weekly = Counter(
        week_of(p["created_at"], start)
        for p, t in zip(demo_posts, demo_truth["posts"], strict=True)
        if t["topic"] == burst["topic"]
    )
    others = [weekly[w] for w in range(demo_truth["params"]["weeks"]) if w != burst["week_index"]]
    assert weekly[burst["week_index"]] >= 2.5 * np.median(others), (burst, weekly)
    in_burst = [t["in_burst"] for t in demo_truth["posts"]]
    assert sum(in_burst) == weekly[burst["week_index"]]
    tagged = sum(f"#{burst['hashtag']}" in p["text"] for p in demo_posts)
    assert tagged > 0.3 * sum(in_burst)


def test_burst_topic_and_week_can_be_chosen(tmp_path):
    summary = generate_corpus(tmp_path / "b", seed=2, n_posts=40, params=CorpusParams(burst_topic="food", burst_week=4))
    assert summary.burst["topic"] == "food" and summary.burst["week_index"] == 4


def spearman(a: list[float], b: list[float]) -> float:
    ranks_a = np.argsort(np.argsort(a)).astype(float)
    ranks_b = np.argsort(np.argsort(b)).astype(float)
    return float(np.corrcoef(ranks_a, ranks_b)[0, 1])


def test_final_likes_follow_the_planted_formula(demo_posts, demo_truth):
    final_likes = [p["engagement"][-1]["likes"] for p in demo_posts]
    expected = [t["expected_log_likes"] for t in demo_truth["posts"]]
    rho = spearman(final_likes, expected)
    assert rho > 0.5, rho


def test_truth_formula_recomputes_every_expected_value(demo_posts, demo_truth):
    """truth.json documents the formula fully: recomputed here from its coefficients alone."""
    c = demo_truth["engagement"]
    for record, truth in zip(demo_posts, demo_truth["posts"], strict=True):
        author = record["author"]
        created = datetime.fromisoformat(record["created_at"])
        value = (
            c["intercept"]
            + c["topic_effects"][truth["topic"]]
            + c["log_followers"] * math.log1p(author["followers"])
            + (c["verified"] if author["verified"] else 0.0)
            + c["hour_amplitude"] * math.cos(2 * math.pi * (created.hour - c["peak_hour_utc"]) / 24)
            + (c["weekend"] if created.weekday() >= 5 else 0.0)
            + c["kind_effects"][truth["kind"]]
            + c["sentiment_effects"][truth["sentiment"]]
        )
        assert value == pytest.approx(truth["expected_log_likes"], abs=1e-5)


def test_planted_sentiment_is_what_a_lexicon_reads_except_the_hard_cases(demo_posts, demo_truth):
    vader = pytest.importorskip("vaderSentiment.vaderSentiment").SentimentIntensityAnalyzer()
    agree: dict[bool, list[bool]] = {False: [], True: []}
    for record, truth in zip(demo_posts, demo_truth["posts"], strict=True):
        if not record["text"]:
            assert truth["sentiment_hard"] is False
            continue
        compound = vader.polarity_scores(record["text"])["compound"]
        read = "positive" if compound >= 0.05 else "negative" if compound <= -0.05 else "neutral"
        agree[truth["sentiment_hard"]].append(read == truth["sentiment"])
    plain, hard = np.mean(agree[False]), np.mean(agree[True])
    assert plain > 0.95, plain
    assert 0 < len(agree[True]) < 0.2 * len(agree[False])
    assert hard < 0.5, f"hard sentiment cases are read right by a lexicon ({hard}): they are not hard"


def test_text_reveals_the_topic(demo_posts, demo_truth):
    sklearn = pytest.importorskip("sklearn")
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    pairs = [(p["text"], t["topic"]) for p, t in zip(demo_posts, demo_truth["posts"], strict=True) if p["text"]]
    texts, topics = zip(*pairs)
    half = len(texts) // 2
    vectorizer = TfidfVectorizer().fit(texts[:half])
    model = LogisticRegression(max_iter=500).fit(vectorizer.transform(texts[:half]), topics[:half])
    accuracy = model.score(vectorizer.transform(texts[half:]), topics[half:])
    assert accuracy > 0.9, (sklearn.__version__, accuracy)


def test_images_reveal_the_topic_by_colour(demo_corpus, demo_posts, demo_truth):
    features, topics = [], []
    for record, truth in zip(demo_posts, demo_truth["posts"], strict=True):
        for part, part_truth in zip(record["media"], truth["media"], strict=True):
            if part["kind"] != "image":
                continue
            top, bottom = part_truth["caption_band"]
            with Image.open(demo_corpus.out_dir / part["source_path"]) as image:
                pixels = np.asarray(image.convert("RGB"), dtype=np.float32)
            scene = np.concatenate([pixels[:top], pixels[bottom:]])
            hist = [np.histogram(scene[..., c], bins=8, range=(0, 256))[0] for c in range(3)]
            features.append(np.concatenate(hist) / scene[..., 0].size)
            topics.append(truth["topic"])
    x, y = np.array(features), np.array(topics)
    half = len(y) // 2
    centroids = {t: x[:half][y[:half] == t].mean(axis=0) for t in set(y[:half])}
    names = list(centroids)
    table = np.stack([centroids[n] for n in names])
    predicted = [names[int(np.argmin(((table - row) ** 2).sum(axis=1)))] for row in x[half:]]
    accuracy = float(np.mean(np.array(predicted) == y[half:]))
    assert accuracy > 0.8, accuracy
