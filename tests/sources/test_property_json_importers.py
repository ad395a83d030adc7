"""Property: for the platform importers (twitter-v1, twitter-v2, reddit plain and .zst, mastodon, postlens)
any value in any field gives a post or a quarantine row with a reason, never an exception that stops
the file and never a silent loss, checked against the tables after a real ingest."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
import zstandard
from _hostile import (
    LINES,
    LIST,
    PROPERTY,
    Layout,
    dump,
    hostile,
    import_and_check,
    injected,
    records_in_document,
    scratch,
)
from hypothesis import given
from hypothesis import strategies as st


def tweet_v1(n: int) -> dict[str, Any]:
    return {
        "id_str": str(1000 + n),
        "id": 1000 + n,
        "created_at": "Wed Apr 17 18:57:37 +0000 2013",
        "text": f"tweet {n} #tag &amp; more",
        "lang": "en",
        "favorite_count": 3,
        "retweet_count": 1,
        "reply_count": 0,
        "collected_at": "2013-04-18T00:00:00Z",
        "user": {"id_str": "42", "screen_name": "alice", "followers_count": 10, "verified": False},
        "entities": {
            "hashtags": [{"text": "tag"}],
            "user_mentions": [{"screen_name": "bob"}],
            "urls": [{"expanded_url": "https://example.org/a"}],
        },
        "extended_entities": {
            "media": [
                {
                    "id_str": "9",
                    "type": "video",
                    "media_url_https": "https://pbs.twimg.com/media/a.jpg",
                    "sizes": {"large": {"w": 640, "h": 480}},
                    "video_info": {
                        "duration_millis": 3000,
                        "variants": [
                            {"content_type": "video/mp4", "bitrate": 800, "url": "https://video.twimg.com/a.mp4"}
                        ],
                    },
                }
            ]
        },
        "retweeted_status": {"id_str": "7", "text": "original", "user": {"screen_name": "carol"}},
    }


def response_v2(n: int) -> dict[str, Any]:
    return {
        "data": [
            {
                "id": str(2000 + n),
                "text": f"v2 tweet {n}",
                "author_id": "u1",
                "created_at": "2023-01-02T03:04:05.000Z",
                "lang": "en",
                "attachments": {"media_keys": ["3_a"]},
                "entities": {
                    "hashtags": [{"tag": "x"}],
                    "mentions": [{"username": "zed"}],
                    "urls": [{"expanded_url": "https://e.org"}],
                },
                "public_metrics": {"like_count": 5, "retweet_count": 2, "reply_count": 1, "impression_count": 99},
            },
            {"id": str(3000 + n), "text": f"second {n}", "author_id": "u1"},
        ],
        "includes": {
            "users": [{"id": "u1", "username": "ann", "verified": True, "public_metrics": {"followers_count": 7}}],
            "media": [
                {
                    "media_key": "3_a",
                    "type": "photo",
                    "url": "https://pbs.twimg.com/b.jpg",
                    "width": 10,
                    "height": 20,
                    "duration_ms": 1,
                }
            ],
        },
        "collected_at": "2023-01-03T00:00:00Z",
    }


def reddit_record(n: int) -> dict[str, Any]:
    if n % 2:
        return {
            "id": f"c{n}",
            "author": "carol",
            "created_utc": "1500000500",
            "body": f"comment {n} u/bob",
            "subreddit": "pics",
            "score": 2,
            "link_id": "t3_s1",
            "retrieved_on": 1_500_100_000,
        }
    return {
        "id": f"s{n}",
        "name": f"t3_s{n}",
        "author": "alice",
        "author_fullname": "t2_a",
        "created_utc": 1_500_000_000,
        "title": f"title {n}",
        "selftext": "body",
        "subreddit": "pics",
        "score": 12,
        "num_comments": 3,
        "over_18": False,
        "is_self": False,
        "post_hint": "image",
        "url": "https://i.redd.it/abc.jpg",
        "preview": {"images": [{"source": {"url": "https://preview.redd.it/x.jpg", "width": 5, "height": 6}}]},
        "media_metadata": {
            "k1": {"status": "valid", "e": "Image", "s": {"u": "https://i.redd.it/k1.png", "x": 3, "y": 4}}
        },
        "gallery_data": {"items": [{"media_id": "k1"}]},
    }


def mastodon_status(n: int) -> dict[str, Any]:
    return {
        "id": str(100 + n),
        "uri": f"https://mastodon.social/users/alice/statuses/{100 + n}",
        "url": f"https://mastodon.social/@alice/{100 + n}",
        "created_at": "2023-05-01T10:00:00.000Z",
        "content": f'<p>Hello {n} <a href="https://example.org/">link</a></p>',
        "spoiler_text": "",
        "language": "en",
        "favourites_count": 5,
        "reblogs_count": 2,
        "replies_count": 1,
        "account": {
            "id": "1",
            "acct": "alice",
            "url": "https://mastodon.social/@alice",
            "followers_count": 10,
            "bot": False,
        },
        "tags": [{"name": "cats"}],
        "mentions": [{"acct": "bob"}],
        "media_attachments": [
            {
                "type": "image",
                "url": "https://files.mastodon.social/a.png",
                "meta": {"original": {"width": 4, "height": 3, "duration": 1.5}},
            }
        ],
    }


def native_post(n: int) -> dict[str, Any]:
    return {
        "id": f"demo:{n}",
        "source": "demo",
        "native_id": str(n),
        "platform": "demo",
        "created_at": "2024-01-01T00:00:00+00:00",
        "text": f"native post {n}",
        "language": "en",
        "author": {"id": "a1", "handle": "alice", "followers": 5, "verified": True},
        "hashtags": ["x"],
        "mentions": ["bob"],
        "urls": ["https://example.org"],
        "media": [{"kind": "image", "url": "https://example.org/a.jpg", "width": 5, "height": 5}],
        "engagement": [
            {
                "observed_at": "2024-01-02T00:00:00+00:00",
                "likes": 1,
                "shares": 2,
                "comments": 3,
                "views": 4,
                "observed_inferred": False,
            }
        ],
        "labels": {"topic": "cats"},
        "raw": {"anything": [1, 2]},
    }


BUILDERS = {
    "twitter-v1": tweet_v1,
    "twitter-v2": response_v2,
    "reddit": reddit_record,
    "mastodon": mastodon_status,
    "postlens": native_post,
}


@st.composite
def documents(draw: st.DrawFn, importer: str) -> tuple[list[str], list[bool]]:
    """JSON texts of hostile records (ids sometimes repeated on purpose) and where blank lines go."""
    count = draw(st.integers(1, 6))
    builder = BUILDERS[importer]
    numbers = draw(st.lists(st.integers(0, 4), min_size=count, max_size=count))
    values = hostile()
    texts = [dump(draw(injected(builder(n), values))) for n in numbers]
    blanks = draw(st.lists(st.booleans(), min_size=count, max_size=count))
    return texts, blanks


def _check(importer: str, layout: Layout, texts: list[str], blanks: list[bool], *, zst: bool = False) -> None:
    records_in = sum(records_in_document(text, importer) for text in texts)
    if importer == "postlens":
        records_in = len(texts)  # one post per line, whatever the line holds
    with scratch() as folder:
        data = layout.write(folder / f"data{layout.suffix}", texts, blanks)
        if zst:
            compressed = data.with_name(data.name + ".zst")
            compressed.write_bytes(zstandard.ZstdCompressor().compress(data.read_bytes()))
            data.unlink()
            data = compressed
        import_and_check(importer, data, records_in).close()


CASES = [
    (importer, layout) for importer in ("twitter-v1", "twitter-v2", "reddit", "mastodon") for layout in (LINES, LIST)
] + [("postlens", LINES)]  # postlens files are JSON lines only


@pytest.mark.parametrize("importer,layout", CASES, ids=[f"{i}-{layout.name}" for i, layout in CASES])
@PROPERTY
@given(data=st.data())
def test_any_value_in_any_field_is_a_post_or_a_quarantine_row(
    importer: str, layout: Layout, data: st.DataObject
) -> None:
    texts, blanks = data.draw(documents(importer))
    _check(importer, layout, texts, blanks)


@PROPERTY
@given(docs=documents("reddit"))
def test_reddit_zst_keeps_the_invariant(docs: tuple[list[str], list[bool]]) -> None:
    _check("reddit", LINES, *docs, zst=True)


# ---------------------------------------------------------------- counts reach the table or a flagged row

LIKES_KEY = {
    "twitter-v1": ("favorite_count",),
    "twitter-v2": ("data", 0, "public_metrics", "like_count"),
    "reddit": ("score",),
    "mastodon": ("favourites_count",),
    "postlens": ("engagement", 0, "likes"),
}
POST_ID = {
    "twitter-v1": lambda n: f"twitter:{1000 + n}",
    "twitter-v2": lambda n: f"twitter:{2000 + n}",
    "reddit": lambda n: f"reddit:t3_s{n}",
    "mastodon": lambda n: f"mastodon:mastodon.social:{100 + n}",
    "postlens": lambda n: f"demo:{n}",
}
COUNT_VALUES = st.one_of(
    st.integers(),
    st.floats(),
    st.booleans(),
    st.none(),
    st.sampled_from(
        ["1.2K", "3M", "1,234", "1 234", "-5", "abc", "inf", "", "12.0", "2B", "1e30", "0.5k", "+3", "7,5"]
    ),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=1),
)


@pytest.mark.parametrize("importer", ["twitter-v1", "twitter-v2", "reddit", "mastodon", "postlens"])
@PROPERTY
@given(values=st.lists(COUNT_VALUES, min_size=1, max_size=6))
def test_a_count_is_stored_parsed_or_flagged_never_lost(importer: str, values: list[Any]) -> None:
    from postlens.values import BadValue, parse_count

    texts = []
    for n, value in enumerate(values):
        record = BUILDERS[importer](2 * n)  # even numbers: reddit submissions
        target = record
        *parents, last = LIKES_KEY[importer]
        for key in parents:
            target = target[key]
        target[last] = value
        texts.append(json.dumps(record))
    with scratch() as folder:
        data = LINES.write(folder / "data.jsonl", texts, [False] * len(texts))
        with import_and_check(importer, data, sum(records_in_document(t, importer) for t in texts)) as ws:
            for n, value in enumerate(values):
                post_id = POST_ID[importer](2 * n)
                if not ws.db.execute("SELECT count(*) FROM posts WHERE id = ?", [post_id]).fetchone()[0]:
                    with pytest.raises(orjson.JSONDecodeError):  # NaN, Infinity, ints past 64 bits: a bad_json line
                        orjson.loads(texts[n])
                    continue
                stored = ws.db.execute("SELECT max(likes) FROM engagement WHERE post_id = ?", [post_id]).fetchone()[0]
                flags = [
                    r[0]
                    for r in ws.db.execute(
                        "SELECT reason FROM quarantine WHERE post_id = ? AND post_kept AND code = 'bad_count'",
                        [post_id],
                    ).fetchall()
                ]
                try:
                    expected = parse_count(value)
                except BadValue:
                    assert stored is None and flags, (value, stored, flags)
                else:
                    assert stored == expected and not flags, (value, stored, flags)
