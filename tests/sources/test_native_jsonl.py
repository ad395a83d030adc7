"""postlens's own JSONL: Post -> to_dict -> JSON line -> Post is exact."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import orjson

from postlens.sources.detect import detect_format
from postlens.sources.native import NativeImporter
from postlens.types import Author, Engagement, MediaPart, Modality, Post, Rejected


def sample_post(media_dir: Path) -> Post:
    return Post(
        source="demo",
        native_id="42",
        platform="twitter",
        created_at=datetime(2020, 5, 1, 10, 30, 15, 123000, tzinfo=UTC),
        text="Flood in #Leeds @bob https://x.org",
        language="en",
        author=Author(id="u1", handle="alice", followers=1200, verified=True),
        hashtags=["Leeds"],
        mentions=["bob"],
        urls=["https://x.org"],
        media=[
            MediaPart(
                kind=Modality.IMAGE,
                path="media/ab/abcd.jpg",
                sha256="abcd",
                mime="image/jpeg",
                bytes=1234,
                width=640,
                height=480,
                source_path=str(media_dir / "pic.jpg"),
            ),
            MediaPart(kind=Modality.VIDEO, url="https://cdn.example/v.mp4", duration_s=3.5),
        ],
        engagement=[
            Engagement(observed_at=datetime(2020, 5, 2, tzinfo=UTC), likes=3, shares=1),
            Engagement(observed_at=datetime(2020, 5, 3, tzinfo=UTC), likes=9, views=100),
        ],
        labels={"event": "flood", "label": "real"},
        raw={"original": {"nested": [1, 2, 3]}},
        run_id="run-1",
    )


def write_lines(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(b"".join(line + b"\n" for line in lines))


def test_native_round_trip(tmp_path: Path) -> None:
    original = sample_post(tmp_path)
    no_date = dataclasses.replace(original, native_id="43", created_at=None, media=[], engagement=[], raw=None)
    data = tmp_path / "posts.jsonl"
    write_lines(data, [orjson.dumps(original.to_dict()), orjson.dumps(no_date.to_dict())])
    assert detect_format(data) == "postlens"
    back = list(NativeImporter().iter_records(data))
    expected = [
        dataclasses.replace(original, origin_file=str(data), origin_line=1),
        dataclasses.replace(no_date, origin_file=str(data), origin_line=2),
    ]
    assert back == expected
    assert back[0].created_at.tzinfo is not None  # type: ignore[union-attr]


def test_native_keeps_instants_of_other_timezones(tmp_path: Path) -> None:
    paris = timezone(timedelta(hours=2))
    post = Post(source="s", native_id="1", platform="p", created_at=datetime(2020, 1, 1, 12, tzinfo=paris), text="x")
    data = tmp_path / "posts.jsonl"
    write_lines(data, [orjson.dumps(post.to_dict())])
    (back,) = NativeImporter().iter_records(data)
    assert isinstance(back, Post) and back.created_at == datetime(2020, 1, 1, 10, tzinfo=UTC)


def test_native_relative_source_path_resolves_against_the_file(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    post = Post(
        source="s",
        native_id="1",
        platform="p",
        created_at=None,
        media=[MediaPart(kind=Modality.IMAGE, source_path="media/one.png")],
    )
    data = corpus / "posts.jsonl"
    write_lines(data, [orjson.dumps(post.to_dict())])
    (back,) = NativeImporter().iter_records(data)
    assert isinstance(back, Post)
    assert back.media[0].source_path == str(corpus.resolve() / "media" / "one.png")


def test_native_bad_lines(tmp_path: Path) -> None:
    good = Post(source="s", native_id="1", platform="p", created_at=None, text="fine").to_dict()
    bad_date = {**good, "native_id": "2", "id": "s:2", "created_at": "the day before"}
    no_id = {**good, "native_id": "", "id": None}
    empty = {**good, "native_id": "4", "id": "s:4", "text": ""}
    bad_kind = {**good, "native_id": "5", "id": "s:5", "media": [{"kind": "hologram", "url": "u"}]}
    data = tmp_path / "posts.jsonl"
    write_lines(
        data,
        [
            orjson.dumps(good),
            b"{not json",
            b"[1]",
            b"caf\xe9",
            orjson.dumps(bad_date),
            orjson.dumps(no_id),
            orjson.dumps(empty),
            orjson.dumps(bad_kind),
        ],
    )
    records = list(NativeImporter().iter_records(data))
    assert isinstance(records[0], Post) and records[0].text == "fine"
    rejected = [(r.code, r.line) for r in records if isinstance(r, Rejected)]
    assert rejected == [
        ("bad_json", 2),
        ("bad_json", 3),
        ("bad_encoding", 4),
        ("bad_date", 5),
        ("missing_id", 6),
        ("empty_post", 7),
        ("bad_record", 8),
    ]


def test_native_empty_file(tmp_path: Path) -> None:
    data = tmp_path / "posts.jsonl"
    data.write_bytes(b"")
    (only,) = list(NativeImporter().iter_records(data))
    assert isinstance(only, Rejected) and only.code == "empty_file"


def test_native_is_lazy(tmp_path: Path) -> None:
    data = tmp_path / "posts.jsonl"

    def line(i: int) -> bytes:
        return orjson.dumps(
            Post(source="s", native_id=str(i), platform="p", created_at=None, text=f"post {i} with padding").to_dict()
        )

    write_lines(data, [line(i) for i in range(10_000)])
    records = NativeImporter().iter_records(data)
    assert isinstance(next(records), Post)
    with data.open("ab") as handle:
        handle.write(line(99_999_999) + b"\n")
    rest = list(records)
    assert len(rest) == 10_000 and rest[-1].native_id == "99999999"  # type: ignore[union-attr]
