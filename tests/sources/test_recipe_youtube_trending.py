"""youtube-trending recipe: grouping by video, glued rows, dirty rows, then the real file when present."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from postlens.sources import get_importer
from postlens.types import Modality, Post, Rejected

HEADER = "video_id,title,channel_title,category_id,tags,views,likes,dislikes,comment_total,thumbnail_link,date"


def parse(path: Path) -> tuple[list[Post], list[Rejected]]:
    out = list(get_importer("youtube-trending").iter_records(path))
    return [r for r in out if isinstance(r, Post)], [r for r in out if isinstance(r, Rejected)]


def test_small_file(tmp_path: Path) -> None:
    rows = [
        HEADER,
        'aaaaaaaaaaa,"Old title, #fun",Chan A,24,"""tag one""|tag two",100,10,1,5,'
        'https://i.ytimg.com/vi/a/default.jpg,13.09',
        # two records glued together: the newline before bbbbbbbbbbb is missing
        'aaaaaaaaaaa,New title,Chan A,22,tag two,200,20,2,6,https://i.ytimg.com/vi/a/default.jpg,14.09'
        'bbbbbbbbbbb,Other,Chan B,10,[none],7,1,0,0,https://i.ytimg.com/vi/b/default.jpg,14.09',
        "ccccccccccc,Too,few,cells",
        "ddddddddddd,Bad date,Chan D,1,[none],1,1,1,1,https://i.ytimg.com/vi/d/default.jpg,31.02",
    ]
    file = tmp_path / "GBvideos.csv"
    file.write_text("\n".join(rows) + "\n", encoding="utf-8")
    posts, rejected = parse(tmp_path)
    assert [(r.code, r.line) for r in rejected] == [("bad_row", 4), ("bad_date", 5)]
    video_a, video_b = posts
    assert video_a.id == "youtube:aaaaaaaaaaa" and video_a.created_at is None
    assert video_a.text == "New title" and video_a.labels == {"category_id": "22"}
    assert video_a.hashtags == ["tag two"] and video_a.raw["rows"][0]["tags"] == '"tag one"|tag two'
    assert video_a.author.handle == "Chan A"
    assert [(e.observed_at, e.views, e.likes, e.comments) for e in video_a.engagement] == [
        (datetime(2017, 9, 13, tzinfo=timezone.utc), 100, 10, 5),
        (datetime(2017, 9, 14, tzinfo=timezone.utc), 200, 20, 6)]
    assert video_a.raw["rows"][1]["dislikes"] == "2"
    assert video_b.hashtags == [] and len(video_b.engagement) == 1
    assert [(m.kind, m.url) for m in video_b.media] == [(Modality.IMAGE, "https://i.ytimg.com/vi/b/default.jpg")]


@pytest.mark.shared
def test_real_youtube_trending_gb(dataset) -> None:
    file = dataset("youtube_trending_gb") / "GBvideos.csv"
    posts, rejected = parse(file)
    assert rejected == []
    assert len(posts) == 1_736
    # 7,995 data lines, two of which hold two glued records each: 7,997 snapshots, none lost
    assert sum(len(p.engagement) for p in posts) == 7_997
    assert all(p.media and p.media[0].url for p in posts)
    assert all(p.labels.get("category_id") for p in posts)
