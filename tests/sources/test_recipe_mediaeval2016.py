"""mediaeval2016 recipe: a small hand-made folder, then the real dataset when it is present.

Header tests (columns by name, any order, known spellings, refusals) are in test_recipe_mediaeval2016_header.py.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image

from postlens.sources import get_importer
from postlens.types import Modality, Post, Rejected

HEADER = "post_id\tpost_text\tuser_id\timage_id(s)\tusername\ttimestamp\tlabel"


def make_folder(root: Path) -> Path:
    rows = [
        HEADER,
        '1\tShe said \\"run\\"\\nnow &amp; here #Sandy http:\\/\\/t.co\\/x\t11\tsandy_fake_01,sandy_fake_02\tann\t'
        "Mon Oct 29 20:00:00 +0000 2012\tfake",
        '2\tA quote "not escaped" @bob\t12\tboston_real_05\tbob\tTue Mar 11 23: 59: 22 +0000 2014\treal',
        "3\tvideo tweet\t13\tsyrianboy_1\tcat\tWed Nov 12 10:00:00 +0000 2014\tfake",
        "4\tonly three\tcolumns",
        "5\tbad date\t15\tsandy_fake_01\teve\tnot a date\tfake",
    ]
    (root / "posts.txt").write_text("\n".join(rows), encoding="utf-8")  # no final newline, like the real file
    (root / "post_features.txt").write_text("post_id, num_words, num_retweets\n1,5,7\n2\n2,4,null\n3,2,0\n")
    (root / "user_features.txt").write_text(
        "post_id, num_friends, num_followers, is_verified\n1,3,120,false\n2,1,null,true\n"
    )
    fakes = root / "images" / "Hurricane Sandy" / "fakes"
    fakes.mkdir(parents=True)
    Image.new("RGB", (8, 8), "red").save(fakes / "sandy_fake_01.jpg")
    Image.new("RGB", (8, 8), "blue").save(fakes / "sandy_fake_02.png")
    reals = root / "images" / "BostonMarathon" / "reals"
    reals.mkdir(parents=True)
    Image.new("RGB", (8, 8), "green").save(reals / "boston_real_01.jpg")
    boy = root / "images" / "Syrian_boy"
    boy.mkdir()
    (boy / "syrian_boy_video.txt").write_text("id\turl\nsyrianboy_1\thttps://www.youtube.com/watch?v=abc\n")
    return root


def parse(path: Path) -> tuple[list[Post], list[Rejected]]:
    out = list(get_importer("mediaeval2016").iter_records(path))
    return [r for r in out if isinstance(r, Post)], [r for r in out if isinstance(r, Rejected)]


def test_small_folder(tmp_path: Path) -> None:
    posts, rejected = parse(make_folder(tmp_path))
    assert [(r.code, r.line) for r in rejected] == [("bad_row", 5), ("bad_date", 6)]
    first, second, third = posts
    assert first.id == "twitter:1" and first.source == "twitter"
    assert first.text == 'She said "run"\nnow & here #Sandy http://t.co/x'
    assert first.hashtags == ["Sandy"] and first.urls == ["http://t.co/x"]
    assert first.labels == {"label": "fake", "event": "sandy"}
    assert [Path(m.source_path).name for m in first.media] == ["sandy_fake_01.jpg", "sandy_fake_02.png"]
    assert first.engagement[0].shares == 7
    assert (first.author.id, first.author.handle, first.author.followers, first.author.verified) == (
        "11",
        "ann",
        120,
        False,
    )
    assert second.text == 'A quote "not escaped" @bob' and second.mentions == ["bob"]
    assert second.created_at == datetime(2014, 3, 11, 23, 59, 22, tzinfo=UTC)
    assert second.engagement == [] and second.author.followers is None and second.author.verified is True
    (missing,) = second.media  # no file: still a part, pointing where the file would be
    assert missing.kind is Modality.IMAGE and not Path(missing.source_path).exists()
    assert Path(missing.source_path).parent.name == "reals"
    assert [(m.kind, m.url, m.source_path) for m in third.media] == [
        (Modality.VIDEO, "https://www.youtube.com/watch?v=abc", None)
    ]
    assert third.labels["event"] == "syrianboy"


def test_posts_file_path_works_like_the_folder(tmp_path: Path) -> None:
    folder = make_folder(tmp_path)
    assert len(parse(folder / "posts.txt")[0]) == 3


@pytest.mark.shared
def test_real_mediaeval2016(dataset) -> None:
    folder = dataset("mediaeval2016")
    posts, rejected = parse(folder)
    assert len(posts) == 15_629 and rejected == []
    with_image = sum(
        any(
            m.kind is Modality.IMAGE
            and m.source_path
            and Path(m.source_path).is_file()
            and not m.source_path.endswith(".txt")
            for m in post.media
        )
        for post in posts
    )
    assert with_image == 13_416
    assert all(post.labels.get("event") for post in posts)
    assert len({post.labels["event"] for post in posts}) == 17
    assert Counter(post.labels["label"] for post in posts) == {"fake": 9_404, "real": 6_225}
    assert all(post.created_at is not None for post in posts)
    assert sum(1 for p in posts if p.engagement and p.engagement[0].shares is not None) == 15_629
    assert all(p.author.followers is not None for p in posts)
