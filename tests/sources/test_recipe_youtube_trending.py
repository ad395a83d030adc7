"""youtube-trending recipe: grouping by video, glued rows, dirty rows, then the real file when present."""

from __future__ import annotations

from datetime import UTC, datetime
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
        "https://i.ytimg.com/vi/a/default.jpg,13.09",
        # two records glued together: the newline before bbbbbbbbbbb is missing
        "aaaaaaaaaaa,New title,Chan A,22,tag two,200,20,2,6,https://i.ytimg.com/vi/a/default.jpg,14.09"
        "bbbbbbbbbbb,Other,Chan B,10,[none],7,1,0,0,https://i.ytimg.com/vi/b/default.jpg,14.09",
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
        (datetime(2017, 9, 13, tzinfo=UTC), 100, 10, 5),
        (datetime(2017, 9, 14, tzinfo=UTC), 200, 20, 6),
    ]
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


def write_rows(path: Path, header: list[str], rows: list[dict[str, str]]) -> Path:
    import csv

    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows([[row[c] for c in header] for row in rows])
    return path


ROWS = [
    {
        "video_id": "aaaaaaaaaaa",
        "title": "First day",
        "channel_title": "Chan A",
        "category_id": "24",
        "tags": "x|y",
        "views": "100",
        "likes": "10",
        "dislikes": "1",
        "comment_total": "5",
        "thumbnail_link": "https://i.ytimg.com/vi/a/default.jpg",
        "date": "13.09",
    },
    {
        "video_id": "aaaaaaaaaaa",
        "title": "Second day",
        "channel_title": "Chan A",
        "category_id": "24",
        "tags": "y",
        "views": "200",
        "likes": "20",
        "dislikes": "2",
        "comment_total": "6",
        "thumbnail_link": "https://i.ytimg.com/vi/a/default.jpg",
        "date": "14.09",
    },
]


def shape(posts: list[Post]) -> list[tuple]:
    return [
        (
            p.id,
            p.text,
            p.author.handle,
            p.hashtags,
            p.labels,
            [m.url for m in p.media],
            [(e.observed_at, e.views, e.likes, e.comments) for e in p.engagement],
        )
        for p in posts
    ]


def test_columns_are_read_by_name_in_any_order(tmp_path: Path) -> None:
    import random

    canonical, rejected = parse(write_rows(tmp_path / "GBvideos.csv", list(HEADER.split(",")), ROWS))
    assert rejected == [] and shape(canonical)[0][1:3] == ("Second day", "Chan A")
    for number in range(10):
        order = HEADER.split(",")
        random.Random(number).shuffle(order)
        posts, rejected = parse(write_rows(tmp_path / f"{number}videos.csv", order, ROWS))
        assert rejected == [] and shape(posts) == shape(canonical), order


def test_the_later_kaggle_release_is_read(tmp_path: Path) -> None:
    """USvideos.csv and kin after 2018: trending_date YY.DD.MM, comment_count, publish_time, description."""
    header = [
        "video_id",
        "trending_date",
        "title",
        "channel_title",
        "category_id",
        "publish_time",
        "tags",
        "views",
        "likes",
        "dislikes",
        "comment_count",
        "thumbnail_link",
        "comments_disabled",
        "ratings_disabled",
        "video_error_or_removed",
        "description",
    ]
    row = {
        **ROWS[0],
        "trending_date": "17.14.11",
        "publish_time": "2017-11-13T17:13:01.000Z",
        "comment_count": "15",
        "comments_disabled": "False",
        "ratings_disabled": "False",
        "video_error_or_removed": "False",
        "description": "About it",
    }
    (post,), rejected = parse(write_rows(tmp_path / "USvideos.csv", header, [row]))
    assert rejected == []
    assert post.created_at == datetime(2017, 11, 13, 17, 13, 1, tzinfo=UTC)
    assert [(e.observed_at, e.comments) for e in post.engagement] == [(datetime(2017, 11, 14, tzinfo=UTC), 15)]
    assert post.raw["rows"][0]["description"] == "About it"


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        (HEADER + ",channel_id", "unknown column(s) 'channel_id'"),
        ("video_id,title,views", "missing date"),
        (
            "jt2OHQh0HoQ,Live Apple Event,Apple Event,28,apple events|iphone 8,7426393,78240,13548,705,"
            "https://i.ytimg.com/vi/jt2OHQh0HoQ/default_live.jpg,13.09",
            "the first line is data",
        ),
    ],
    ids=["unknown", "missing", "no_header"],
)
def test_a_header_it_does_not_know_is_refused(tmp_path: Path, header: str, problem: str) -> None:
    from postlens.errors import SourceError

    file = tmp_path / "GBvideos.csv"
    file.write_text(header + "\n" + ",".join(["1"] * len(header.split(","))) + "\n")
    with pytest.raises(SourceError) as error:
        parse(file)
    assert str(file) in str(error.value) and problem in str(error.value)
    assert "Expected columns, in any order: video_id, title" in str(error.value)
