"""posts.jsonl is valid native-format data with the requested mix, labels and entities."""

from __future__ import annotations

import math
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from postlens.demo.plan import DEFAULT_MIX
from postlens.types import Author, Engagement, MediaPart, Modality, Post, extract_entities, validate_post


def rebuild(record: dict) -> Post:
    """Turn a line back into a Post, as the native importer would, to check the contract holds."""
    return Post(
        source=record["source"],
        native_id=record["native_id"],
        platform=record["platform"],
        created_at=datetime.fromisoformat(record["created_at"]),
        text=record["text"],
        author=Author(**record["author"]),
        media=[MediaPart(**{**m, "kind": Modality(m["kind"])}) for m in record["media"]],
        engagement=[
            Engagement(**{**e, "observed_at": datetime.fromisoformat(e["observed_at"])}) for e in record["engagement"]
        ],
    )


def test_every_line_is_a_valid_post_with_a_stable_id(demo_posts, demo_settings):
    _, n_posts = demo_settings
    assert len(demo_posts) == n_posts
    assert [p["id"] for p in demo_posts] == [f"demo:{i:06d}" for i in range(1, n_posts + 1)]
    for record in demo_posts:
        assert record["source"] == "demo" and record["platform"] == "demo"
        post = rebuild(record)
        assert validate_post(post) is None, record["id"]
        assert post.created_at.utcoffset() == timedelta(0)


def test_posts_are_in_time_order_within_six_weeks(demo_posts, demo_truth):
    times = [datetime.fromisoformat(p["created_at"]) for p in demo_posts]
    assert times == sorted(times)
    start = datetime.fromisoformat(demo_truth["params"]["start"])
    assert start <= times[0] and times[-1] < start + timedelta(weeks=demo_truth["params"]["weeks"])


def test_modality_mix_is_near_the_requested_one(demo_corpus, demo_truth):
    n = demo_corpus.n_posts
    counts = Counter(p["kind"] for p in demo_truth["posts"])
    assert counts == Counter(demo_corpus.by_kind)
    for kind, share in DEFAULT_MIX.items():
        tolerance = 4 * math.sqrt(share * (1 - share) / n) + 0.01  # 4 binomial standard deviations
        assert abs(counts[kind] / n - share) <= tolerance, (kind, counts[kind], share)


def test_media_parts_match_the_post_kind(demo_posts, demo_truth):
    expected = {
        "text": set(),
        "image": {"image"},
        "image_only": {"image"},
        "video": {"video"},
        "audio": {"audio"},
        "gif": {"gif"},
    }
    for record, truth in zip(demo_posts, demo_truth["posts"], strict=True):
        assert record["id"] == truth["id"]
        assert {m["kind"] for m in record["media"]} == expected[truth["kind"]]
        for part in record["media"]:
            assert part["source_path"].startswith("media/") and part["sha256"] is None and part["path"] is None
            assert part["mime"]
        if truth["kind"] == "image_only":
            assert record["text"] == ""
        if truth["kind"] in ("text", "image"):
            assert record["text"].strip()


def test_only_the_annotated_subset_carries_labels_and_they_are_true(demo_posts, demo_truth):
    labelled = 0
    for record, truth in zip(demo_posts, demo_truth["posts"], strict=True):
        if truth["labelled"]:
            labelled += 1
            assert record["labels"] == {"topic": truth["topic"], "sentiment": truth["sentiment"]}
        else:
            assert record["labels"] == {}
    assert 0.2 < labelled / len(demo_posts) < 0.4


def test_entities_agree_with_the_text_and_clutter_is_present(demo_posts):
    with_mention = with_url = with_tag = with_emoji = 0
    for record in demo_posts:
        tags, mentions, urls = extract_entities(record["text"])
        assert (record["hashtags"], record["mentions"], record["urls"]) == (tags, mentions, urls)
        with_tag += bool(tags)
        with_mention += bool(mentions)
        with_url += bool(urls)
        with_emoji += any(ord(ch) > 0x2000 for ch in record["text"])
    n = len(demo_posts)
    assert with_tag / n > 0.4 and with_mention / n > 0.05 and with_url / n > 0.04 and with_emoji / n > 0.2


def test_authors_have_heavy_tailed_followers_and_some_are_verified(demo_posts, demo_truth):
    authors = {p["author"]["id"]: p["author"] for p in demo_posts}
    assert 50 < len(authors) <= demo_truth["params"]["n_authors"]
    everyone = demo_truth["authors"]["list"]
    followers = sorted(a["followers"] for a in everyone)
    assert followers[-1] > 20 * followers[len(followers) // 2]
    assert 0 < sum(a["verified"] for a in everyone) < len(everyone) * 0.15
    assert len({a["handle"] for a in everyone}) == len(everyone)


def test_engagement_snapshots_grow_over_time(demo_posts, demo_truth):
    hours = demo_truth["engagement"]["snapshot_hours"]
    for record in demo_posts:
        created = datetime.fromisoformat(record["created_at"])
        snaps = record["engagement"]
        assert [datetime.fromisoformat(s["observed_at"]) - created for s in snaps] == [
            timedelta(hours=h) for h in hours
        ]
        for field in ("likes", "shares", "comments", "views"):
            series = [s[field] for s in snaps]
            assert series == sorted(series), (record["id"], field, series)
        assert all(s["views"] >= s["likes"] for s in snaps)


def test_the_native_importer_reads_the_corpus_without_rejects(demo_corpus):
    native = pytest.importorskip("postlens.sources.native")
    records = list(native.NativeImporter().iter_records(demo_corpus.posts_path))
    rejected = [r for r in records if not isinstance(r, Post)]
    assert rejected == []
    assert len(records) == demo_corpus.n_posts
    for post in records:
        for part in post.media:
            assert Path(part.source_path).is_absolute() and Path(part.source_path).is_file()
