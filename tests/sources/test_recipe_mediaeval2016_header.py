"""mediaeval2016 reads columns by the header's names: any order, the releases' spellings; refuses the rest.

The MediaEval 2016 test file puts ``username`` where the dev file has ``image_id(s)``: read by position,
usernames became events and every image went missing with no error. These tests write the same posts
in many column orders and spellings and check the posts come out the same.
"""

from __future__ import annotations

import random
from itertools import permutations
from pathlib import Path

import pytest
from PIL import Image

from postlens.errors import SourceError
from postlens.sources import get_importer
from postlens.sources.recipes.mediaeval2016 import event_of
from postlens.types import Post, Rejected

# one value per canonical column, per post
POSTS = [
    {
        "post_id": "101",
        "post_text": "Storm photo #Sandy",
        "user_id": "11",
        "image_id(s)": "sandy_fake_01",
        "username": "ann",
        "timestamp": "Mon Oct 29 20:00:00 +0000 2012",
        "label": "fake",
    },
    {
        "post_id": "102",
        "post_text": "Paris tonight",
        "user_id": "12",
        "image_id(s)": "attacks_paris_1",
        "username": "bob_fake_2",
        "timestamp": "Sat Nov 14 00:58:52 +0000 2015",
        "label": "Real",
    },
]
SPELLINGS_2015 = {"post_id": "tweetId", "post_text": "tweetText", "user_id": "userId", "image_id(s)": "imageId(s)"}
SPELLINGS_2016_TEST = {"image_id(s)": "image_id"}
TEST_ORDER = ["post_id", "post_text", "user_id", "username", "image_id(s)", "timestamp", "label"]


def write_folder(
    root: Path, order: list[str], spellings: dict[str, str] | None = None, posts: list[dict[str, str]] = POSTS
) -> Path:
    """A MediaEval-style folder whose posts.txt has the columns in ``order`` (named per ``spellings``)."""
    root.mkdir(parents=True, exist_ok=True)
    spellings = spellings or {}
    lines = ["\t".join(spellings.get(c, c) for c in order)]
    lines += ["\t".join(post[c] for c in order) for post in posts]
    (root / "posts.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for folder, stem in (("Hurricane Sandy/fakes", "sandy_fake_01"), ("Paris attacks", "attacks_paris_1")):
        (root / "images" / folder).mkdir(parents=True, exist_ok=True)
        image = root / "images" / folder / f"{stem}.jpg"
        if not image.exists():
            Image.new("RGB", (8, 8), "red").save(image)
    return root


def parse(path: Path) -> tuple[list[Post], list[Rejected]]:
    out = list(get_importer("mediaeval2016").iter_records(path))
    return [r for r in out if isinstance(r, Post)], [r for r in out if isinstance(r, Rejected)]


def summary(posts: list[Post]) -> list[tuple]:
    """What a misread column would change: id, text, author, images, labels, time."""
    return [
        (
            p.id,
            p.text,
            p.author.id,
            p.author.handle,
            [Path(m.source_path or "").name for m in p.media],
            p.labels,
            p.created_at,
        )
        for p in posts
    ]


@pytest.fixture(scope="module")
def canonical(tmp_path_factory: pytest.TempPathFactory) -> list[tuple]:
    posts, rejected = parse(write_folder(tmp_path_factory.mktemp("dev"), list(POSTS[0])))
    assert rejected == []
    assert [p.labels for p in posts] == [
        {"label": "fake", "event": "sandy"},
        {"label": "real", "event": "attacks_paris"},
    ]
    assert [[Path(m.source_path).name for m in p.media] for p in posts] == [
        ["sandy_fake_01.jpg"],
        ["attacks_paris_1.jpg"],
    ]
    assert all(Path(m.source_path).is_file() for p in posts for m in p.media)
    return summary(posts)


def test_the_2016_test_set_order_reads_events_and_images_right(tmp_path: Path, canonical: list[tuple]) -> None:
    posts, rejected = parse(write_folder(tmp_path, TEST_ORDER, SPELLINGS_2016_TEST))
    assert rejected == [] and summary(posts) == canonical
    assert posts[1].author.handle == "bob_fake_2" and posts[1].labels["event"] == "attacks_paris"


@pytest.mark.parametrize("spellings", [{}, SPELLINGS_2015, SPELLINGS_2016_TEST], ids=["2016dev", "2015", "2016test"])
def test_any_column_order_and_known_spelling_gives_the_same_posts(
    tmp_path: Path, canonical: list[tuple], spellings: dict[str, str]
) -> None:
    orders = list(permutations(POSTS[0]))
    for number, order in enumerate(random.Random(7).sample(orders, 25)):
        posts, rejected = parse(write_folder(tmp_path / str(number), list(order), spellings))
        assert rejected == [], order
        assert summary(posts) == canonical, order


def test_header_names_ignore_case_and_separators(tmp_path: Path, canonical: list[tuple]) -> None:
    spellings = {"post_id": "Post-ID", "post_text": "POST_TEXT", "image_id(s)": "ImageIds", "user_id": "user id"}
    posts, _ = parse(write_folder(tmp_path, TEST_ORDER, spellings))
    assert summary(posts) == canonical


def test_a_file_without_label_column_imports_posts_without_label(tmp_path: Path) -> None:
    order = [c for c in TEST_ORDER if c != "label"]  # the 2016 test posts.txt (ground truth apart)
    posts, rejected = parse(write_folder(tmp_path, order, SPELLINGS_2016_TEST))
    assert rejected == [] and [p.labels for p in posts] == [{"event": "sandy"}, {"event": "attacks_paris"}]


def test_raw_keeps_the_row_under_the_files_own_column_names(tmp_path: Path) -> None:
    posts, _ = parse(write_folder(tmp_path, TEST_ORDER, SPELLINGS_2015))
    assert posts[0].raw["posts"]["tweetId"] == "101" and posts[0].raw["posts"]["imageId(s)"] == "sandy_fake_01"


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        (
            ["post_id", "post_text", "user_id", "image_id(s)", "username", "timestamp", "lable"],
            "unknown column(s) 'lable'",
        ),
        (["post_id", "post_text", "user_id", "username", "timestamp", "label"], "missing image_id(s)"),
        (["tweetId", "post_id", "post_text", "image_id", "timestamp"], "'tweetId' and 'post_id' both name post_id"),
        (["id", "text", "images", "time"], "missing post_id, post_text, image_id(s), timestamp"),
    ],
    ids=["unknown", "missing", "twice", "foreign"],
)
def test_a_header_it_does_not_know_is_refused_with_found_and_expected_columns(
    tmp_path: Path, header: list[str], problem: str
) -> None:
    (tmp_path / "posts.txt").write_text("\t".join(header) + "\n" + "\t".join(["1"] * len(header)) + "\n")
    with pytest.raises(SourceError) as error:
        parse(tmp_path)
    message = str(error.value)
    assert str(tmp_path / "posts.txt") in message and problem in message
    assert "Columns found: " + ", ".join(map(repr, header)) in message
    assert "Expected columns, in any order: post_id (or tweetId/tweet_id)" in message


def test_a_file_without_header_line_is_refused_not_guessed(tmp_path: Path) -> None:
    write_folder(tmp_path, TEST_ORDER)
    lines = (tmp_path / "posts.txt").read_text().splitlines()[1:]
    (tmp_path / "posts.txt").write_text("\n".join(lines) + "\n")
    with pytest.raises(
        SourceError,
        match=r"the first line is data, not a header line.*"
        "Without a header line .* add your release's header",
    ):
        parse(tmp_path)


def test_rows_are_checked_against_the_header_width(tmp_path: Path) -> None:
    write_folder(tmp_path, TEST_ORDER)
    with (tmp_path / "posts.txt").open("a") as handle:
        handle.write("103\ttoo few\tcolumns\n")
    posts, rejected = parse(tmp_path)
    assert len(posts) == 2 and [(r.code, r.line) for r in rejected] == [("bad_row", 4)]
    assert "expected 7 tab-separated columns (from the header), found 3" in rejected[0].reason


def test_an_empty_posts_file_is_one_rejection(tmp_path: Path) -> None:
    (tmp_path / "posts.txt").write_text("\n\n")
    assert [r.code for r in parse(tmp_path)[1]] == ["empty_file"]


def test_feature_tables_are_joined_by_their_id_column_in_any_order(tmp_path: Path) -> None:
    write_folder(tmp_path, TEST_ORDER)
    (tmp_path / "post_features.txt").write_text("num_words, num_retweets, tweet_id\n3, 7, 101\n4, null, 102\n")
    (tmp_path / "user_features.txt").write_text("is_verified, num_followers, post_id, extra\ntrue, 50, 102, x\n")
    first, second = parse(tmp_path)[0]
    assert [e.shares for e in first.engagement] == [7] and second.engagement == []
    assert (first.author.followers, second.author.followers, second.author.verified) == (None, 50, True)
    assert second.raw["user_features"]["extra"] == "x"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("num_words, num_retweets\n3, 7\n", "missing post_id"),
        ("101, 3, 7\n102, 4, 0\n", "the first line is data, not a header line"),
    ],
    ids=["no_id_column", "no_header"],
)
def test_a_feature_table_without_id_column_is_refused(tmp_path: Path, content: str, problem: str) -> None:
    write_folder(tmp_path, TEST_ORDER)
    (tmp_path / "post_features.txt").write_text(content)
    with pytest.raises(SourceError, match=rf"post_features\.txt: .*{problem}.*Columns found"):
        parse(tmp_path)


@pytest.mark.parametrize(
    ("image_id", "event"),
    [
        ("sandy_fake_12", "sandy"),
        ("columbianChemicals_fake_05", "columbianChemicals"),
        ("eclipse_video_01", "eclipse"),
        ("syrianboy_1", "syrianboy"),
        ("varoufakis_1", "varoufakis"),
        ("american_soldier_quran_1", "american_soldier_quran"),
        ("airstrikes_1", "airstrikes"),
        ("boston_REAL_3", "boston"),
        ("nepal", "nepal"),
    ],
)
def test_event_is_the_image_id_without_class_and_number(image_id: str, event: str) -> None:
    assert event_of(image_id) == event


def test_a_posts_file_given_by_name_is_the_one_read(tmp_path: Path) -> None:
    """The 2016 test release keeps labels in posts_groundtruth.txt beside an unlabelled posts.txt."""
    write_folder(tmp_path, [c for c in TEST_ORDER if c != "label"], SPELLINGS_2016_TEST)
    (tmp_path / "posts.txt").rename(tmp_path / "unlabelled.txt")
    write_folder(tmp_path, TEST_ORDER, SPELLINGS_2016_TEST)
    (tmp_path / "posts.txt").rename(tmp_path / "posts_groundtruth.txt")
    (tmp_path / "unlabelled.txt").rename(tmp_path / "posts.txt")
    assert [p.labels.get("label") for p in parse(tmp_path / "posts_groundtruth.txt")[0]] == ["fake", "real"]
    assert [p.labels.get("label") for p in parse(tmp_path)[0]] == [None, None]
