"""The JSONL and Parquet table importers: nested columns, bad lines, compression, streaming."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from postlens.errors import MappingError
from postlens.sources.generic import JsonlImporter, ParquetImporter
from postlens.sources.mapping import ColumnMapping
from postlens.types import Modality, Post, Rejected


def run(importer: object, path: Path) -> tuple[list[Post], list[Rejected]]:
    records = list(importer.iter_records(path))  # type: ignore[attr-defined]
    return [r for r in records if isinstance(r, Post)], [r for r in records if isinstance(r, Rejected)]


def write_jsonl(path: Path, rows: list[object]) -> None:
    path.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))


def test_jsonl_dotted_paths_and_lists(tmp_path: Path) -> None:
    data = tmp_path / "tweets.jsonl"
    write_jsonl(
        data,
        [
            {
                "id_str": "99",
                "full_text": "hello",
                "created_at": "Wed Apr 17 18:57:37 +0000 2013",
                "user": {"id_str": "5", "screen_name": "bob", "followers_count": 12, "verified": False},
                "favorite_count": 4,
                "retweet_count": 1,
                "photos": ["https://t.co/a.jpg", "https://t.co/b.gif"],
                "tags": ["one", "#two"],
            }
        ],
    )
    mapping = ColumnMapping.from_pairs(["id=id_str", "media=photos", "hashtags=tags", "platform=twitter"])
    (post,), rejected = run(JsonlImporter(mapping=mapping), data)
    assert rejected == []
    assert post.id == "tweets:99" and post.platform == "twitter" and post.text == "hello"
    assert post.created_at == datetime(2013, 4, 17, 18, 57, 37, tzinfo=UTC)
    assert (post.author.id, post.author.handle, post.author.followers, post.author.verified) == ("5", "bob", 12, False)
    assert (post.engagement[0].likes, post.engagement[0].shares) == (4, 1)
    assert [m.kind for m in post.media] == [Modality.IMAGE, Modality.GIF]
    assert post.hashtags == ["one", "two"]
    assert post.raw["user"]["screen_name"] == "bob"


def test_jsonl_malformed_and_non_object_lines(tmp_path: Path) -> None:
    data = tmp_path / "t.jsonl"
    data.write_text('{"id": 1, "text": "a"}\n{"id": 2, "text": \n\n[1, 2]\n"just a string"\n{"id": 3, "text": "c"}\n')
    posts, rejected = run(JsonlImporter(), data)
    assert [p.native_id for p in posts] == ["1", "3"]
    assert [(r.code, r.line) for r in rejected] == [("bad_json", 2), ("bad_json", 4), ("bad_json", 5)]
    assert "list" in rejected[1].reason


def test_jsonl_non_utf8_line(tmp_path: Path) -> None:
    data = tmp_path / "t.jsonl"
    data.write_bytes(b'{"id": 1, "text": "a"}\n{"id": 2, "text": "caf\xe9"}\n{"id": 3, "text": "\xc3\xa9"}\n')
    posts, rejected = run(JsonlImporter(), data)
    assert [p.text for p in posts] == ["a", "é"]
    assert [(r.code, r.line) for r in rejected] == [("bad_encoding", 2)]


def test_jsonl_missing_column_checked_before_any_row(tmp_path: Path) -> None:
    data = tmp_path / "t.jsonl"
    write_jsonl(data, [{"id": 1, "text": "a", "user": {"id": 3}}, {"id": 2, "text": "b", "user": {"name": "zed"}}])
    with pytest.raises(MappingError, match=r"usr\.name"):
        next(JsonlImporter(mapping=ColumnMapping.from_pairs(["author_handle=usr.name"])).iter_records(data))
    # an optional nested key under an existing object is fine even where a row lacks it
    lenient = JsonlImporter(mapping=ColumnMapping.from_pairs(["author_handle=user.screen_name"]))
    assert [p.author.handle for p in run(lenient, data)[0]] == [None, None]


def test_jsonl_empty_post_and_empty_file(tmp_path: Path) -> None:
    data = tmp_path / "t.jsonl"
    write_jsonl(data, [{"id": 1, "text": ""}, {"id": 2, "text": None, "media": []}])
    posts, rejected = run(JsonlImporter(), data)
    assert posts == [] and [r.code for r in rejected] == ["empty_post", "empty_post"]
    blank = tmp_path / "blank.jsonl"
    blank.write_text("\n\n   \n")
    (only,) = list(JsonlImporter().iter_records(blank))
    assert isinstance(only, Rejected) and only.code == "empty_file" and only.line is None


def test_jsonl_zst(tmp_path: Path) -> None:
    import zstandard

    lines = b"".join(orjson.dumps({"id": i, "text": f"post {i}"}) + b"\n" for i in range(500)) + b"{broken\n"
    data = tmp_path / "dump.jsonl.zst"
    data.write_bytes(zstandard.ZstdCompressor().compress(lines))
    posts, rejected = run(JsonlImporter(), data)
    assert len(posts) == 500 and posts[0].id == "dump:0" and posts[-1].text == "post 499"
    assert [(r.code, r.line) for r in rejected] == [("bad_json", 501)]


def test_jsonl_iter_records_is_lazy(tmp_path: Path) -> None:
    data = tmp_path / "big.jsonl"
    write_jsonl(data, [{"id": i, "text": f"post number {i} with some padding"} for i in range(10_000)])
    records = JsonlImporter().iter_records(data)
    assert isinstance(next(records), Post)
    with data.open("ab") as handle:
        handle.write(orjson.dumps({"id": "appended-late", "text": "late"}) + b"\n")
    rest = list(records)
    assert len(rest) == 10_000 and rest[-1].native_id == "appended-late"  # type: ignore[union-attr]


def test_parquet(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "post_id": ["a", "b", "c", None],
            "body": ["hello #pq", "", "bad date", "no id"],
            "ts": pa.array([datetime(2021, 1, 1, 12), datetime(2021, 1, 2), None, None], pa.timestamp("s")),
            "when_text": ["x", "y", "not a date", "z"],
            "user": [{"name": "ann", "followers": 3}, {"name": "bo", "followers": None}, None, None],
            "images": [["p1.jpg"], [], [], []],
            "likes": [1, 2, 3, 4],
        }
    )
    data = tmp_path / "posts.parquet"
    pq.write_table(table, data, row_group_size=2)
    mapping = ColumnMapping.from_pairs(
        ["text=body", "created_at=ts", "author_handle=user.name", "author_followers=user.followers", "media=images"]
    )
    posts, rejected = run(ParquetImporter(mapping=mapping), data)
    post, undated = posts
    assert undated.id == "posts:c" and undated.created_at is None and undated.origin_line == 3
    assert post.id == "posts:a" and post.text == "hello #pq" and post.hashtags == ["pq"]
    assert post.created_at == datetime(2021, 1, 1, 12, tzinfo=UTC)
    assert (post.author.handle, post.author.followers) == ("ann", 3)
    assert post.media[0].source_path == str(tmp_path.resolve() / "p1.jpg")
    assert post.origin_line == 1
    assert [(r.code, r.line) for r in rejected] == [("empty_post", 2), ("missing_id", 4)]
    # a text date column that does not parse rejects that row only
    bad_dates = ParquetImporter(mapping=mapping.merge(ColumnMapping.from_pairs(["created_at=when_text"])))
    assert [r.code for r in run(bad_dates, data)[1]] == ["bad_date", "bad_date", "bad_date", "missing_id"]


def test_parquet_without_rows(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    data = tmp_path / "none.parquet"
    pq.write_table(pa.table({"id": pa.array([], pa.string()), "text": pa.array([], pa.string())}), data)
    (only,) = list(ParquetImporter().iter_records(data))
    assert isinstance(only, Rejected) and only.code == "empty_file"


def test_parquet_row_python_cannot_represent_is_one_rejected_row(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    seconds = [1_700_000_000, 400_000_000_000, 1_700_000_100]  # the middle one is in the year 14645
    table = pa.table(
        {
            "id": ["1", "2", "3"],
            "text": ["a", "b", "c"],
            "created_at": pa.array(seconds, type=pa.timestamp("s")),
            "likes": [5, -5, 2**63 - 1],
        }
    )
    pq.write_table(table, tmp_path / "t.parquet")
    posts, rejected = run(ParquetImporter(), tmp_path / "t.parquet")
    assert [p.native_id for p in posts] == ["1", "3"] and posts[0].created_at_naive
    assert [(r.line, r.code) for r in rejected] == [(2, "bad_row")] and "row 2" in rejected[0].reason
    assert [p.engagement[0].likes for p in posts] == [5, 2**63 - 1]


def test_jsonl_empty_objects_are_records_too(tmp_path: Path) -> None:
    data = tmp_path / "empty-objects.jsonl"
    data.write_text("{}\n[]\n{}\n")
    posts, rejected = run(JsonlImporter(), data)
    assert posts == [] and [(r.line, r.code) for r in rejected] == [
        (1, "empty_post"),
        (2, "bad_json"),
        (3, "empty_post"),
    ]
