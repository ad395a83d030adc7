"""mastodon: HTML to text, identity by origin, reblogs, attachments, bad records."""

from __future__ import annotations

import json
from pathlib import Path

from postlens.sources import get_importer
from postlens.types import Modality, Post, Rejected

CONTENT = (
    '<p>Hello <span class="h-card"><a href="https://mastodon.social/@bob" class="u-url mention">@<span>bob'
    '</span></a></span> &amp; friends,<br>second line <a href="https://mastodon.social/tags/cats" '
    'class="mention hashtag" rel="tag">#<span>cats</span></a></p><p>See <a href="https://example.org/a/very/long/path" '
    'rel="nofollow"><span class="invisible">https://</span><span class="ellipsis">example.org/a/very</span>'
    '<span class="invisible">/long/path</span></a></p>'
)


def status(sid: str, **extra: object) -> dict:
    record = {
        "id": sid,
        "uri": f"https://mastodon.social/users/alice/statuses/{sid}",
        "url": f"https://mastodon.social/@alice/{sid}",
        "created_at": "2023-05-01T10:00:00.000Z",
        "content": CONTENT,
        "spoiler_text": "",
        "language": "en",
        "account": {
            "id": "1",
            "acct": "alice",
            "url": "https://mastodon.social/@alice",
            "followers_count": 10,
            "bot": False,
        },
        "tags": [{"name": "cats"}],
        "mentions": [{"acct": "bob", "id": "2"}],
        "media_attachments": [],
        "favourites_count": 5,
        "reblogs_count": 2,
        "replies_count": 1,
        "reblog": None,
    }
    record.update(extra)
    return record


def parse(path: Path, **options: object) -> tuple[list[Post], list[Rejected]]:
    out = list(get_importer("mastodon", **options).iter_records(path))
    return [r for r in out if isinstance(r, Post)], [r for r in out if isinstance(r, Rejected)]


def test_html_is_stripped_to_plain_text_with_line_breaks(tmp_path: Path) -> None:
    (tmp_path / "timeline.json").write_text(json.dumps([status("100", spoiler_text="CW: cats")]))
    (post,), rejected = parse(tmp_path)
    assert rejected == []
    assert post.text == (
        "CW: cats\n\nHello @bob & friends,\nsecond line #cats\n\nSee https://example.org/a/very/long/path"
    )
    assert post.urls == ["https://example.org/a/very/long/path"]
    assert post.hashtags == ["cats"] and post.mentions == ["bob"]
    assert post.id == "mastodon:mastodon.social:100" and post.platform == "mastodon"
    assert post.author.handle == "alice@mastodon.social" and post.author.followers == 10
    assert post.labels == {"account_bot": "false"}
    (snap,) = post.engagement
    assert (snap.likes, snap.shares, snap.comments) == (5, 2, 1)


def test_remote_status_is_keyed_by_its_origin_and_reblogs_import_the_original(tmp_path: Path) -> None:
    remote = status(
        "999",
        uri="https://fosstodon.org/users/zed/statuses/123",
        url="https://fosstodon.org/@zed/123",
        account={"id": "77", "acct": "zed@fosstodon.org", "url": "https://fosstodon.org/@zed"},
    )
    wrapper = status(
        "555",
        content="",
        reblog=status("888", uri="https://hachyderm.io/users/q/statuses/42", account={"acct": "q@hachyderm.io"}),
    )
    odd = status("31", uri="https://misskey.io/notes/9abc", account={"acct": "m@misskey.io"})
    file = tmp_path / "statuses.jsonl"
    file.write_text("\n".join(json.dumps(s) for s in (remote, wrapper, odd)) + "\n")
    posts, _ = parse(file)
    assert [p.id for p in posts] == [
        "mastodon:fosstodon.org:123",
        "mastodon:hachyderm.io:42",
        "mastodon:misskey.io:https://misskey.io/notes/9abc",
    ]
    assert posts[0].author.handle == "zed@fosstodon.org"
    assert posts[1].text.startswith("Hello @bob")


def test_attachments_and_malformed_records(tmp_path: Path) -> None:
    attachments = [
        {"type": "image", "url": "https://files/a.png", "meta": {"original": {"width": 640, "height": 480}}},
        {"type": "video", "url": "https://files/b.mp4", "meta": {"original": {"duration": 3.5}}},
        {"type": "gifv", "url": "https://files/c.mp4"},
        {"type": "audio", "url": "https://files/d.mp3", "meta": {"original": {"duration": "61.2"}}},
        {"type": "unknown", "remote_url": None},
    ]
    rows = [
        json.dumps(status("1", content="", media_attachments=attachments)),
        "{oops",
        json.dumps(status("2", created_at="31/02/2023")),
        json.dumps(status("3", content="<p></p>")),
        json.dumps({"content": "no id anywhere"}),
    ]
    file = tmp_path / "s.jsonl"
    file.write_text("\n".join(rows) + "\n")
    posts, rejected = parse(file)
    (post,) = posts
    assert [(m.kind, m.url) for m in post.media] == [
        (Modality.IMAGE, "https://files/a.png"),
        (Modality.VIDEO, "https://files/b.mp4"),
        (Modality.GIF, "https://files/c.mp4"),
        (Modality.AUDIO, "https://files/d.mp3"),
    ]
    assert (post.media[0].width, post.media[1].duration_s, post.media[3].duration_s) == (640, 3.5, 61.2)
    assert [(r.code, r.line) for r in rejected] == [
        ("bad_json", 2),
        ("bad_date", 3),
        ("empty_post", 4),
        ("missing_id", 5),
    ]
