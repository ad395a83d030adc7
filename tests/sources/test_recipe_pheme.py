"""pheme recipe: labels from file names, the empty "[]" file, then the real dataset when present."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from postlens.sources import get_importer
from postlens.types import Post, Rejected


def tweet(tweet_id: str, veracity: str | None) -> dict:
    return {
        "id_str": tweet_id,
        "created_at": "Wed Jan 07 12:47:00 +0000 2015",
        "text": f"tweet {tweet_id}",
        "user": {"id_str": "9", "screen_name": "n", "followers_count": 5},
        "entities": {},
        "retweet_count": 1,
        "favorite_count": 2,
        "VERACITY": veracity,
    }


def parse(path: Path) -> tuple[list[Post], list[Rejected]]:
    out = list(get_importer("pheme").iter_records(path))
    return [r for r in out if isinstance(r, Post)], [r for r in out if isinstance(r, Rejected)]


def test_small_folder(tmp_path: Path) -> None:
    (tmp_path / "gurlitt-all-rnr-threads.rumours.json").write_text(json.dumps([tweet("1", "unverified")]))
    (tmp_path / "gurlitt-all-rnr-threads.non-rumours.json").write_text(json.dumps([tweet("2", None)]))
    (tmp_path / "ebola-essien-all-rnr-threads.non-rumours.json").write_text("[]")
    (tmp_path / "stray.json").write_text("[]")
    posts, rejected = parse(tmp_path)
    assert {p.native_id: p.labels for p in posts} == {
        "1": {"event": "gurlitt", "rumour": "rumour", "veracity": "unverified"},
        "2": {"event": "gurlitt", "rumour": "non-rumour"},
    }
    assert all(p.source == "twitter" for p in posts)
    assert [r.code for r in rejected] == ["unknown_file"]


@pytest.mark.shared
def test_real_pheme(dataset) -> None:
    folder = dataset("pheme")
    posts, rejected = parse(folder)
    assert len(posts) == 4_804 and rejected == []
    assert all(p.engagement and p.engagement[0].shares is not None and p.engagement[0].likes is not None for p in posts)
    assert all(p.author.followers is not None for p in posts)
    file_events = {f.name.split("-all-rnr-threads")[0] for f in folder.glob("*.json") if f.stat().st_size > 2}
    assert {p.labels["event"] for p in posts} == file_events
    assert {p.labels["rumour"] for p in posts} == {"rumour", "non-rumour"}
    assert len({p.id for p in posts}) == 4_804
