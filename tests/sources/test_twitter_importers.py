"""twitter-v1 / twitter-v2 / twitter: file shapes, entities, media, engagement, the v2 includes join."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from postlens.errors import SourceError
from postlens.sources import get_importer
from postlens.sources import kit as importer_kit
from postlens.types import Modality, Post, Rejected


def v1_tweet(tweet_id: str, **extra: object) -> dict:
    tweet = {
        "id": int(tweet_id),
        "id_str": tweet_id,
        "created_at": "Wed Apr 17 18:57:37 +0000 2013",
        "text": f"tweet {tweet_id} &amp; more #Boston @bob http://t.co/x",
        "lang": "en",
        "user": {"id_str": "42", "screen_name": "alice", "followers_count": 1200, "verified": False},
        "entities": {
            "hashtags": [{"text": "Boston"}],
            "user_mentions": [{"screen_name": "bob"}],
            "urls": [{"url": "http://t.co/x", "expanded_url": "https://example.org/a"}],
        },
        "retweet_count": 7,
        "favorite_count": 3,
    }
    tweet.update(extra)
    return tweet


def records(name: str, path: Path, **options: object) -> tuple[list[Post], list[Rejected]]:
    out = list(get_importer(name, **options).iter_records(path))
    return [r for r in out if isinstance(r, Post)], [r for r in out if isinstance(r, Rejected)]


def test_v1_list_file_maps_every_field(tmp_path: Path) -> None:
    file = tmp_path / "tweets.json"
    file.write_text(json.dumps([v1_tweet("1"), v1_tweet("2", lang="und")]))
    os.utime(file, (1_600_000_000, 1_600_000_000))
    posts, rejected = records("twitter-v1", file)
    assert rejected == []
    first = posts[0]
    assert first.id == "twitter:1" and first.platform == "twitter"
    assert first.text == "tweet 1 & more #Boston @bob http://t.co/x"
    assert first.created_at == datetime(2013, 4, 17, 18, 57, 37, tzinfo=UTC)
    assert first.hashtags == ["Boston"] and first.mentions == ["bob"]
    assert first.urls == ["https://example.org/a"]
    assert (first.author.id, first.author.handle, first.author.followers, first.author.verified) == (
        "42",
        "alice",
        1200,
        False,
    )
    assert first.language == "en" and posts[1].language is None
    (snapshot,) = first.engagement
    assert (snapshot.likes, snapshot.shares, snapshot.comments) == (3, 7, None)
    assert snapshot.observed_at == datetime.fromtimestamp(1_600_000_000, tz=UTC)
    assert first.raw["user"]["screen_name"] == "alice"  # the full dict is kept


def test_v1_json_lines_with_a_malformed_line_rejects_only_that_line(tmp_path: Path) -> None:
    file = tmp_path / "stream.jsonl"
    lines = [
        json.dumps(v1_tweet("1")),
        "{not json",
        "",
        json.dumps(v1_tweet("3", created_at="yesterday")),
        json.dumps({"text": "no id"}),
        json.dumps(v1_tweet("5")),
    ]
    file.write_text("\n".join(lines) + "\n")
    posts, rejected = records("twitter-v1", file)
    assert [p.native_id for p in posts] == ["1", "5"]
    assert [(r.code, r.line) for r in rejected] == [("bad_json", 2), ("bad_date", 4), ("missing_id", 5)]


def test_v1_json_lines_without_extension_and_single_pretty_object(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps(v1_tweet("1")) + "\n" + json.dumps(v1_tweet("2")) + "\n")
    (tmp_path / "b.json").write_text(json.dumps(v1_tweet("3"), indent=2))
    (tmp_path / "notes.md").write_text("not a tweet file")
    posts, rejected = records("twitter-v1", tmp_path)
    assert [p.native_id for p in posts] == ["1", "2", "3"] and rejected == []


def test_v1_extended_text_media_kinds_and_retweets(tmp_path: Path) -> None:
    media = [
        {
            "id_str": "m1",
            "type": "photo",
            "media_url_https": "https://pbs.twimg.com/a.jpg",
            "sizes": {"large": {"w": 800, "h": 600}},
        },
        {
            "id_str": "m2",
            "type": "video",
            "media_url_https": "https://pbs.twimg.com/thumb.jpg",
            "video_info": {
                "duration_millis": 4500,
                "variants": [
                    {"content_type": "application/x-mpegURL", "url": "https://v/pl.m3u8"},
                    {"content_type": "video/mp4", "bitrate": 320000, "url": "https://v/low.mp4"},
                    {"content_type": "video/mp4", "bitrate": 2176000, "url": "https://v/high.mp4"},
                ],
            },
        },
        {
            "id_str": "m3",
            "type": "animated_gif",
            "media_url_https": "https://pbs.twimg.com/g.jpg",
            "video_info": {"variants": [{"content_type": "video/mp4", "bitrate": 0, "url": "https://v/g.mp4"}]},
        },
    ]
    long_tweet = v1_tweet(
        "1",
        truncated=True,
        text="short…",
        extended_tweet={
            "full_text": "the whole long text",
            "entities": {"hashtags": [{"text": "Long"}]},
            "extended_entities": {"media": media},
        },
    )
    retweet = v1_tweet(
        "2",
        text="RT @orig: cut…",
        retweeted_status=v1_tweet("99", full_text="original full text", user={"screen_name": "orig"}),
    )
    (tmp_path / "t.json").write_text(json.dumps([long_tweet, retweet]))
    posts, _ = records("twitter-v1", tmp_path)
    assert posts[0].text == "the whole long text" and posts[0].hashtags == ["Long"]
    assert [(m.kind, m.url) for m in posts[0].media] == [
        (Modality.IMAGE, "https://pbs.twimg.com/a.jpg"),
        (Modality.VIDEO, "https://v/high.mp4"),
        (Modality.GIF, "https://v/g.mp4"),
    ]
    assert (posts[0].media[0].width, posts[0].media[1].duration_s) == (800, 4.5)
    assert posts[1].native_id == "2" and posts[1].text == "RT @orig: original full text"


def test_empty_list_and_empty_file(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text("[]")
    (tmp_path / "b.json").write_text("")
    posts, rejected = records("twitter-v1", tmp_path)
    assert posts == [] and [r.code for r in rejected] == ["empty_file"]


def test_big_list_is_streamed_and_a_broken_element_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importer_kit, "WHOLE_FILE_LIMIT", 0)
    monkeypatch.setattr(importer_kit, "STREAM_CHUNK", 97)  # many elements cross chunk boundaries
    good = tmp_path / "good.json"
    good.write_text("[\n" + ",\n".join(json.dumps(v1_tweet(str(i))) for i in range(1, 40)) + "\n]")
    posts, rejected = records("twitter-v1", good)
    assert [p.native_id for p in posts] == [str(i) for i in range(1, 40)] and rejected == []
    broken = tmp_path / "broken.json"
    broken.write_text("[" + json.dumps(v1_tweet("1")) + ', {"id_str": 2,, }, ' + json.dumps(v1_tweet("3")) + "]")
    posts, rejected = records("twitter-v1", broken)
    assert [p.native_id for p in posts] == ["1", "3"]  # the broken element alone is lost
    assert [r.code for r in rejected] == ["bad_json"] and "element 2" in rejected[0].reason
    unclosed = tmp_path / "unclosed.json"
    unclosed.write_text("[" + json.dumps(v1_tweet("1")) + ', {"id_str": "2", "text": "never ends]')
    posts, rejected = records("twitter-v1", unclosed)
    assert [p.native_id for p in posts] == ["1"]
    assert [r.code for r in rejected] == ["bad_json"] and "never ends" in rejected[0].reason


def v2_response() -> dict:
    return {
        "data": [
            {
                "id": "10",
                "text": "hello #x",
                "author_id": "u1",
                "created_at": "2023-01-02T03:04:05.000Z",
                "lang": "en",
                "attachments": {"media_keys": ["3_a", "7_b", "9_missing"]},
                "entities": {
                    "hashtags": [{"tag": "x"}],
                    "mentions": [{"username": "zed"}],
                    "urls": [{"expanded_url": "https://e.org"}],
                },
                "public_metrics": {
                    "retweet_count": 1,
                    "reply_count": 2,
                    "like_count": 3,
                    "quote_count": 4,
                    "impression_count": 500,
                },
            },
            {"id": "11", "text": "no media", "author_id": "u2", "created_at": "2023-01-02T05:00:00Z"},
        ],
        "includes": {
            "media": [
                {"media_key": "3_a", "type": "photo", "url": "https://pbs/a.jpg", "width": 10, "height": 20},
                {
                    "media_key": "7_b",
                    "type": "video",
                    "preview_image_url": "https://pbs/p.jpg",
                    "duration_ms": 2000,
                    "variants": [{"content_type": "video/mp4", "bitrate": 1, "url": "https://v/b.mp4"}],
                },
            ],
            "users": [{"id": "u1", "username": "ann", "verified": True, "public_metrics": {"followers_count": 99}}],
        },
    }


def test_v2_includes_are_joined_by_author_and_media_keys(tmp_path: Path) -> None:
    file = tmp_path / "page.json"
    file.write_text(json.dumps(v2_response(), indent=1))
    posts, rejected = records("twitter-v2", file)
    assert rejected == []
    first, second = posts
    assert first.id == "twitter:10" and first.author.handle == "ann" and first.author.followers == 99
    assert first.author.verified is True
    assert [(m.kind, m.url) for m in first.media] == [
        (Modality.IMAGE, "https://pbs/a.jpg"),
        (Modality.VIDEO, "https://v/b.mp4"),
    ]
    assert first.raw["missing_media_keys"] == ["9_missing"]
    (snap,) = first.engagement
    assert (snap.likes, snap.shares, snap.comments, snap.views) == (3, 1, 2, 500)
    assert first.hashtags == ["x"] and first.mentions == ["zed"] and first.urls == ["https://e.org"]
    assert second.author.id == "u2" and second.author.handle is None and second.media == []


def test_v2_json_lines_of_responses_and_auto_detection(tmp_path: Path) -> None:
    file = tmp_path / "pages.jsonl"
    file.write_text(json.dumps(v2_response()) + "\n[1, 2]\n" + json.dumps(v2_response()) + "\n")
    (tmp_path / "v1.json").write_text(json.dumps([v1_tweet("500")]))
    posts, rejected = records("twitter", tmp_path)
    assert [p.native_id for p in posts] == ["10", "11", "10", "11", "500"]
    assert [r.code for r in rejected] == ["bad_record"]


def test_missing_path_raises_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError):
        list(get_importer("twitter-v1").iter_records(tmp_path / "nope"))


def test_twitter_archive_tweets_js(tmp_path: Path) -> None:
    archive = [
        {
            "tweet": {
                "id_str": "7",
                "full_text": "from my archive",
                "created_at": "Sat Jan 02 10:00:00 +0000 2021",
                "favorite_count": "4",
                "retweet_count": "1",
                "entities": {"hashtags": [], "user_mentions": [], "urls": []},
            }
        }
    ]
    file = tmp_path / "tweets.js"
    file.write_text("window.YTD.tweets.part0 = " + json.dumps(archive, indent=2))
    (post,), rejected = records("twitter", file)
    assert rejected == [] and post.text == "from my archive" and post.engagement[0].likes == 4


def test_wrong_shapes_cost_their_field_and_a_bad_page_is_one_row(tmp_path: Path) -> None:
    odd = v1_tweet(
        "5",
        user=["not", "an", "object"],
        favorite_count="3M",
        retweet_count=2**63,
        entities={"hashtags": ["Boston", {"text": "ok"}]},
        id_str={"bad": 1},
    )
    (tmp_path / "v1.jsonl").write_text(json.dumps(odd) + "\n")
    (post,), rejected = records("twitter-v1", tmp_path / "v1.jsonl")
    assert rejected == [] and post.native_id == "5"  # a usable "id" when id_str is an object
    assert post.author.handle is None and post.hashtags == ["ok"]
    assert (post.engagement[0].likes, post.engagement[0].shares) == (3_000_000, None)
    assert sorted(n.code for n in post.notes) == ["bad_count", "bad_value", "bad_value"]
    (tmp_path / "v2.jsonl").write_text(json.dumps({"data": 7}) + "\n" + json.dumps({"data": None}) + "\n")
    posts, rejected = records("twitter-v2", tmp_path / "v2.jsonl")
    assert posts == [] and [(r.line, r.code) for r in rejected] == [(1, "bad_record")]
