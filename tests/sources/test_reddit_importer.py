"""reddit: Pushshift submissions and comments, .zst, media by URL, deleted/removed text."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import zstandard

from postlens.sources import get_importer
from postlens.types import Modality, Post, Rejected


def submission(sid: str, **extra: object) -> dict:
    record = {
        "id": sid,
        "name": f"t3_{sid}",
        "author": "alice",
        "author_fullname": "t2_a",
        "created_utc": 1_500_000_000,
        "title": "A title &amp; more",
        "selftext": "Body text u/bob",
        "subreddit": "pics",
        "score": 12,
        "num_comments": 3,
        "over_18": False,
        "is_self": True,
        "url": f"https://www.reddit.com/r/pics/comments/{sid}/",
        "permalink": f"/r/pics/comments/{sid}/",
        "retrieved_on": 1_500_100_000,
    }
    record.update(extra)
    return record


def comment(cid: str, body: str, **extra: object) -> dict:
    record = {
        "id": cid,
        "author": "carol",
        "created_utc": "1500000500",
        "body": body,
        "subreddit": "pics",
        "score": 2,
        "link_id": "t3_s1",
        "parent_id": "t3_s1",
    }
    record.update(extra)
    return record


def ndjson(records: list[object]) -> bytes:
    return b"".join((r if isinstance(r, bytes) else json.dumps(r).encode()) + b"\n" for r in records)


def lines() -> list[object]:
    return [
        submission("s1"),
        comment("c1", "I agree with https://example.org/x"),
        b"{truncated",
        comment("c2", "[deleted]", author="[deleted]"),
        submission("s3", selftext="[removed]"),
        b"\xff\xfe not utf-8",
        submission("s4", created_utc="not a date"),
        {"id": "x", "what": "neither"},
    ]


def parse(path: Path) -> tuple[list[Post], list[Rejected]]:
    out = list(get_importer("reddit").iter_records(path))
    return [r for r in out if isinstance(r, Post)], [r for r in out if isinstance(r, Rejected)]


def test_submissions_comments_and_bad_lines(tmp_path: Path) -> None:
    file = tmp_path / "RS_2017.ndjson"
    file.write_bytes(ndjson(lines()))
    posts, rejected = parse(file)
    assert [p.id for p in posts] == ["reddit:t3_s1", "reddit:t1_c1", "reddit:t3_s3"]
    s1, c1, s3 = posts
    assert s1.text == "A title & more\n\nBody text u/bob" and s1.mentions == ["bob"]
    assert s1.labels == {"subreddit": "pics", "over_18": "false"}
    assert s1.created_at == datetime.fromtimestamp(1_500_000_000, tz=UTC)
    (snap,) = s1.engagement
    assert (snap.likes, snap.comments) == (12, 3)
    assert snap.observed_at == datetime.fromtimestamp(1_500_100_000, tz=UTC)
    assert s1.author.handle == "alice" and s1.author.id == "t2_a"
    assert c1.urls == ["https://example.org/x"] and c1.labels == {"subreddit": "pics"}
    assert s3.text == "A title & more" and s3.labels["text_status"] == "removed"
    assert [(r.code, r.line) for r in rejected] == [
        ("bad_json", 3),
        ("removed_post", 4),
        ("bad_encoding", 6),
        ("bad_date", 7),
        ("unknown_record", 8),
    ]


def test_zst_file_is_read_line_by_line(tmp_path: Path) -> None:
    file = tmp_path / "RC_2017-01.zst"
    file.write_bytes(zstandard.ZstdCompressor().compress(ndjson(lines())))
    posts, rejected = parse(file)
    assert [p.native_id for p in posts] == ["t3_s1", "t1_c1", "t3_s3"] and len(rejected) == 5


def test_corrupt_zst_is_one_rejection_not_a_crash(tmp_path: Path) -> None:
    file = tmp_path / "broken.zst"
    file.write_bytes(b"\x28\xb5\x2f\xfd" + b"garbage" * 50)
    posts, rejected = parse(file)
    assert posts == [] and [r.code for r in rejected] == ["bad_compression"]


def test_media_by_url(tmp_path: Path) -> None:
    records = [
        submission("i1", is_self=False, selftext="", url="https://i.redd.it/abc.jpg"),
        submission("i2", is_self=False, selftext="", url="https://i.redd.it/anim.gif"),
        submission(
            "v1",
            is_self=False,
            selftext="",
            url="https://v.redd.it/xyz",
            secure_media={
                "reddit_video": {
                    "fallback_url": "https://v.redd.it/xyz/DASH_720.mp4",
                    "duration": 12,
                    "width": 1280,
                    "height": 720,
                }
            },
        ),
        submission(
            "g1",
            is_self=False,
            selftext="",
            url="https://www.reddit.com/gallery/g1",
            gallery_data={"items": [{"media_id": "b"}, {"media_id": "a"}]},
            media_metadata={
                "a": {"status": "valid", "e": "Image", "s": {"u": "https://preview/a.jpg?x=1&amp;y=2", "x": 5, "y": 6}},
                "b": {"status": "valid", "e": "AnimatedImage", "s": {"gif": "https://preview/b.gif"}},
            },
        ),
        submission(
            "p1",
            is_self=False,
            selftext="",
            url="https://imgur.com/page",
            post_hint="image",
            preview={"images": [{"source": {"url": "https://preview/p.jpg", "width": 9, "height": 8}}]},
        ),
        submission(
            "l1",
            is_self=False,
            selftext="",
            url="https://news.example/story",
            post_hint="link",
            preview={"images": [{"source": {"url": "https://preview/card.jpg"}}]},
        ),
    ]
    file = tmp_path / "media.jsonl"
    file.write_bytes(ndjson(records))
    posts, rejected = parse(file)
    media = {p.native_id: [(m.kind, m.url) for m in p.media] for p in posts}
    assert rejected == []
    assert media["t3_i1"] == [(Modality.IMAGE, "https://i.redd.it/abc.jpg")]
    assert media["t3_i2"] == [(Modality.GIF, "https://i.redd.it/anim.gif")]
    assert media["t3_v1"] == [(Modality.VIDEO, "https://v.redd.it/xyz/DASH_720.mp4")]
    assert media["t3_g1"] == [
        (Modality.GIF, "https://preview/b.gif"),
        (Modality.IMAGE, "https://preview/a.jpg?x=1&y=2"),
    ]
    assert media["t3_p1"] == [(Modality.IMAGE, "https://preview/p.jpg")]
    assert media["t3_l1"] == [] and posts[-1].urls == ["https://news.example/story"]
    assert posts[2].media[0].duration_s == 12.0


def test_bad_values_cost_their_field_not_the_post(tmp_path: Path) -> None:
    file = tmp_path / "RS.ndjson"
    file.write_bytes(
        ndjson(
            [
                submission("s1", score=-5, num_comments="1.2K", title="nul\u0000 title", preview=[1], over_18="maybe"),
                submission("s2", score=[1], num_comments=True, author={"name": "x"}),
            ]
        )
    )
    posts, rejected = parse(file)
    assert rejected == []
    s1, s2 = posts
    assert s1.text.startswith("nul title") and (s1.engagement[0].likes, s1.engagement[0].comments) == (None, 1200)
    assert s1.raw["score"] == -5  # the downvoted score stays in raw
    reasons = {note.code: note.reason for note in s1.notes}
    assert set(reasons) == {"bad_count", "bad_text", "bad_value"}
    assert "score" in reasons["bad_count"] and "negative" in reasons["bad_count"]
    assert "over_18" in reasons["bad_value"] and all(n.file == str(file) and n.line == 1 for n in s1.notes)
    assert s2.engagement == [] and s2.author.handle is None
    assert sorted(n.reason.split(":")[0] for n in s2.notes) == ["author", "num_comments", "score"]
