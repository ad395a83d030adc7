"""The value rules every importer shares (postlens/values.py), and date parsing: explicit examples of the
documented spellings plus properties over any input."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from _hostile import FAST_PROPERTY
from hypothesis import given
from hypothesis import strategies as st

from postlens.sources.base import parse_datetime, parse_datetime_noting
from postlens.types import Author, Engagement, MediaPart, Modality, Post
from postlens.values import (
    INT64_MAX,
    BadValue,
    FieldNotes,
    clean_text,
    json_text,
    parse_count,
    repair_post,
)

NOW = datetime(2025, 6, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "value,expected",
    [
        (5, 5),
        (0, 0),
        (INT64_MAX, INT64_MAX),
        (12.0, 12),
        ("42", 42),
        (" 42 ", 42),
        ("+7", 7),
        ("-0", 0),
        ("1,234", 1234),
        ("1,234,567", 1234567),
        ("1 234", 1234),
        ("1\u00a0234", 1234),
        ("1\u202f234", 1234),
        ("12.0", 12),
        ("1e3", 1000),
        ("1.2K", 1200),
        ("1.2k", 1200),
        ("3M", 3_000_000),
        ("2B", 2_000_000_000),
        ("1.2345K", 1235),
        ("0.5k", 500),
        ("1,234K", 1_234_000),
        (Decimal("7.000"), 7),
        (b"12", 12),
        (None, None),
        ("", None),
        ("null", None),
        ("NaN", None),
        ("n/a", None),
        ("-", None),
        ("NaT", None),
    ],
)
def test_documented_count_spellings(value: object, expected: int | None) -> None:
    assert parse_count(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        -5,
        -1,
        2**63,
        10**30,
        1e30,
        1.5,
        float("inf"),
        float("nan"),
        True,
        False,
        [],
        [3],
        {},
        {"n": 1},
        "abc",
        "-5",
        "inf",
        "1e30",
        "1,5K",
        "12,34",
        "1.234",
        "1,23,456",
        "\u0661\u0662",
        "\u00bd",
        "0x10",
        "9" * 41,
        "1e999999999",
        Decimal("1.5"),
        Decimal("-3"),
        Decimal("NaN"),
        object(),
    ],
)
def test_values_that_are_not_counts_are_refused_with_a_reason(value: object) -> None:
    with pytest.raises(BadValue) as refused:
        parse_count(value)
    assert refused.value.code == "bad_count" and refused.value.reason


@FAST_PROPERTY
@given(st.integers(0, INT64_MAX))
def test_every_count_in_range_round_trips_through_text(number: int) -> None:
    assert parse_count(number) == parse_count(str(number)) == parse_count(f"{number:,}") == number


@FAST_PROPERTY
@given(
    st.one_of(
        st.integers(),
        st.floats(),
        st.text(max_size=30),
        st.binary(max_size=10),
        st.booleans(),
        st.lists(st.integers(), max_size=2),
        st.decimals(),
    )
)
def test_a_count_is_in_range_or_refused_never_anything_else(value: object) -> None:
    try:
        number = parse_count(value)
    except BadValue as refused:
        assert refused.reason
    else:
        assert number is None or (type(number) is int and 0 <= number <= INT64_MAX)


def _control(char: str) -> bool:
    return (ord(char) < 32 and char not in "\t\n\r") or 0x7F <= ord(char) <= 0x9F


@FAST_PROPERTY
@given(st.text(st.characters(exclude_categories=())))  # lone surrogates included
def test_clean_text_leaves_only_storable_text_and_says_what_it_did(text: str) -> None:
    cleaned, done = clean_text(text)
    cleaned.encode("utf-8")  # no lone surrogates left
    assert not any(_control(c) for c in cleaned)
    if done is None:  # nothing removed: at most surrogate pairs joined into their character
        assert not any(_control(c) for c in text)
        assert cleaned == text.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
    assert clean_text(cleaned) == (cleaned, None)


def test_clean_text_keeps_tabs_newlines_and_real_surrogate_pairs() -> None:
    assert clean_text("a\tb\nc\r\n") == ("a\tb\nc\r\n", None)
    assert clean_text("a\x00b\ud83d\ude00\ud800") == (
        "ab\U0001f600\ufffd",
        "replaced 1 lone surrogate(s) with U+FFFD; removed 1 control character(s) (U+0000)",
    )


@FAST_PROPERTY
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.integers() | st.text(), c, max_size=3),
        max_leaves=10,
    )
)
def test_json_text_writes_any_value(value: object) -> None:
    json.loads(json_text(value))


def test_json_text_survives_depth_and_odd_types() -> None:
    deep: list = []
    for _ in range(600):
        deep = [deep]
    assert "nested deeper than" in json_text({"deep": deep, "set": {1}, 2**70: "key"})


@FAST_PROPERTY
@given(
    st.one_of(
        st.text(max_size=40),
        st.integers(),
        st.floats(),
        st.none(),
        st.booleans(),
        st.sampled_from(
            [
                "0001-01-01T00:00:00+05:00",
                "9999-12-31T23:59:59-14:00",
                "1e400",
                "1" * 400,
                "Wed Apr 17 18:57:37 +0000 2013",
                "2024-01-01T00:00:00",
                "2024-02-30",
            ]
        ),
    )
)
def test_parse_datetime_gives_an_aware_utc_date_or_a_value_error(value: object) -> None:
    try:
        moment, naive = parse_datetime_noting(value)
    except ValueError as refused:
        assert str(refused)
    else:
        assert moment.tzinfo is not None and moment.utcoffset() == timedelta(0)
        if not isinstance(value, str):
            assert naive is False  # numbers are Unix time: UTC by definition


def test_naive_dates_are_said_to_be_taken_as_utc() -> None:
    assert parse_datetime_noting("2024-01-01T10:00:00") == (datetime(2024, 1, 1, 10, tzinfo=UTC), True)
    assert parse_datetime_noting("2024-01-01T10:00:00+02:00")[1] is False
    assert parse_datetime_noting(1_700_000_000)[1] is False  # Unix time is UTC by definition
    with pytest.raises(ValueError):
        parse_datetime("0001-01-01T00:00:00+05:00")  # out of range once in UTC


def test_repair_post_drops_bad_values_into_notes_once() -> None:
    post = Post(
        source="s",
        native_id="1",
        platform="p",
        created_at=datetime(2099, 1, 1, tzinfo=UTC),
        text="a\x00b",
        language=["en"],
        author=Author(handle="h\x07", followers="1.2K", verified="maybe"),
        hashtags=["ok", {"x": 1}, "t\x00"],
        labels={"topic": 5, "bad": {"n": 1}},
        media=[MediaPart(Modality.IMAGE, url="https://x.org/a.jpg", width=2**40, duration_s=float("nan"))],
        engagement=[Engagement(NOW, likes=-5, shares="3M"), Engagement(datetime(1970, 1, 1, tzinfo=UTC), likes=1)],
    )  # type: ignore[arg-type]
    repair_post(post, NOW)
    assert (post.text, post.language, post.author.handle, post.author.followers) == ("ab", None, "h", 1200)
    assert post.author.verified is None and post.created_at is None
    assert post.hashtags == ["ok", "t"] and post.labels == {"topic": "5"}
    assert (post.media[0].width, post.media[0].duration_s) == (None, None)
    assert [(s.likes, s.shares) for s in post.engagement] == [(None, 3_000_000)]
    codes = sorted(note.code for note in post.notes)
    assert codes == [
        "bad_count",
        "bad_text",
        "bad_text",
        "bad_text",
        "bad_value",
        "bad_value",
        "bad_value",
        "bad_value",
        "bad_value",
        "bad_value",
        "implausible_date",
        "implausible_date",
    ]
    assert all(note.post_kept and note.reason for note in post.notes)
    before = len(post.notes)
    repair_post(post, NOW)
    assert len(post.notes) == before


HOSTILE_TEXT = st.one_of(
    st.none(),
    st.text(max_size=6),
    st.sampled_from(["", " ", "a\x00", "\ud800", " x ", "\x85"]),
    st.integers(-3, 3),
    st.booleans(),
    st.lists(st.text(max_size=2), max_size=1),
)
CLEAN_TEXT = st.text(alphabet="abc #@", min_size=1, max_size=6).map(str.strip).filter(bool)
HOSTILE_COUNT = st.one_of(st.none(), st.integers(-(2**64), 2**64), st.floats(), st.sampled_from(["5", "1.2K"]))
CLEAN_COUNT = st.one_of(st.none(), st.integers(0, 2**63 - 1))
UTC_DATES = st.datetimes(timezones=st.just(UTC))
HOSTILE_DATE = st.one_of(st.none(), UTC_DATES, st.datetimes(), st.sampled_from(["2024-01-01", 5]))
CLEAN_DATE = st.one_of(st.none(), st.datetimes(datetime(1990, 1, 2), datetime(2025, 5, 1), timezones=st.just(UTC)))


@st.composite
def posts(draw: st.DrawFn) -> Post:
    """Posts that are mostly clean, with hostile values in a few fields (or in all of them)."""
    hostile_everywhere = draw(st.booleans())
    odd_fields = set(draw(st.lists(st.sampled_from(range(12)), max_size=2)))

    def pick(index: int, clean: st.SearchStrategy, hostile: st.SearchStrategy) -> object:
        return draw(hostile if hostile_everywhere or index in odd_fields else clean)

    return Post(
        source="s",
        native_id="1",
        platform="p",
        created_at=pick(0, CLEAN_DATE, HOSTILE_DATE),
        text=pick(1, CLEAN_TEXT, HOSTILE_TEXT),
        language=pick(2, st.none() | CLEAN_TEXT, HOSTILE_TEXT),
        author=Author(
            id=pick(3, st.none() | CLEAN_TEXT, HOSTILE_TEXT),
            handle=pick(4, CLEAN_TEXT, HOSTILE_TEXT),
            followers=pick(5, CLEAN_COUNT, HOSTILE_COUNT),
            verified=pick(6, st.none() | st.booleans(), st.sampled_from(["yes", 1, None])),
        ),
        hashtags=pick(7, st.lists(CLEAN_TEXT, max_size=2), st.lists(HOSTILE_TEXT, max_size=2) | st.just("tag")),
        labels=pick(
            8,
            st.dictionaries(CLEAN_TEXT, CLEAN_TEXT, max_size=2),
            st.dictionaries(st.text(max_size=2), HOSTILE_TEXT, max_size=2) | st.just([]),
        ),
        media=pick(
            9,
            st.just([]),
            st.lists(
                st.builds(
                    MediaPart,
                    kind=st.sampled_from([Modality.IMAGE, Modality.TEXT]),
                    width=HOSTILE_COUNT,
                    url=HOSTILE_TEXT,
                ),
                max_size=1,
            ),
        ),
        engagement=pick(
            10,
            st.lists(
                st.builds(Engagement, observed_at=UTC_DATES, likes=CLEAN_COUNT, observed_inferred=st.just(True)),
                max_size=2,
            ),
            st.lists(
                st.builds(Engagement, observed_at=UTC_DATES, likes=HOSTILE_COUNT, observed_inferred=st.booleans()),
                max_size=2,
            ),
        ),
    )


POSTS = posts()


@FAST_PROPERTY
@given(POSTS)
def test_the_quick_check_never_passes_a_post_the_full_repair_would_change(post: Post) -> None:
    from copy import deepcopy

    from postlens.values import _looks_clean, _repair_fields

    if _looks_clean(post, NOW):
        repaired = _repair_fields(deepcopy(post), NOW)
        assert repaired.notes == [] and repaired == post


@FAST_PROPERTY
@given(POSTS)
def test_repair_leaves_every_field_storable(post: Post) -> None:
    repair_post(post, NOW)
    texts = [
        post.text,
        post.language,
        post.author.id,
        post.author.handle,
        *post.hashtags,
        *post.labels,
        *post.labels.values(),
    ]
    assert all(t is None or (type(t) is str and clean_text(t)[1] is None) for t in texts)
    for count in [post.author.followers, *(s.likes for s in post.engagement)]:
        assert count is None or (type(count) is int and 0 <= count <= INT64_MAX)
    assert (
        post.created_at is None
        or post.created_at.tzinfo is None
        or datetime(1990, 1, 1, tzinfo=UTC) <= post.created_at <= NOW + timedelta(days=1)
    )
    assert all(part.kind is not Modality.TEXT for part in post.media)


def test_field_notes_name_the_field_and_the_value() -> None:
    notes = FieldNotes()
    assert notes.count("likes", "-5") is None and notes.count("views", "1,234") == 1234
    assert notes.text("text", {"a": 1}) == "" and notes.obj("user", [1]) == {}
    assert [n.reason for n in notes.notes] == [
        "likes: '-5' is negative; dropped",
        "text: expected text, got dict; dropped",
        "user: expected an object, got list; ignored",
    ]
