"""The CSV/TSV importer: bad rows become Rejected records and the rest of the file goes on."""

from __future__ import annotations

from pathlib import Path

import pytest

from postlens.sources.base import get_importer
from postlens.sources.generic import CsvImporter, TsvImporter
from postlens.sources.mapping import ColumnMapping
from postlens.types import Modality, Post, Rejected


def run(importer: object, path: Path) -> tuple[list[Post], list[Rejected]]:
    records = list(importer.iter_records(path))  # type: ignore[attr-defined]
    return [r for r in records if isinstance(r, Post)], [r for r in records if isinstance(r, Rejected)]


def test_registered_names() -> None:
    for name, cls in (
        ("csv", "CsvImporter"),
        ("tsv", "TsvImporter"),
        ("jsonl", "JsonlImporter"),
        ("parquet", "ParquetImporter"),
        ("postlens", "NativeImporter"),
    ):
        assert type(get_importer(name)).__name__ == cls


def test_csv_fields_and_provenance(tmp_path: Path) -> None:
    data = tmp_path / "posts.csv"
    data.write_text(
        "id,text,created_at,user_id,username,followers,verified,lang,likes,views,event\n"
        '7,"Hello @bob, see https://x.org/a #news",2020-05-01 10:00:00,u1,alice,"1,200",true,en,3,,sandy\n'
    )
    importer = CsvImporter(mapping=ColumnMapping.from_pairs(["labels.event=event"]), source="demo")
    (post,), rejected = run(importer, data)
    assert rejected == []
    assert post.id == "demo:7" and post.platform == "generic"
    assert post.created_at is not None and post.created_at.utcoffset() is not None
    assert (post.author.id, post.author.handle, post.author.followers, post.author.verified) == (
        "u1",
        "alice",
        1200,
        True,
    )
    assert post.language == "en"
    assert (post.hashtags, post.mentions, post.urls) == (["news"], ["bob"], ["https://x.org/a"])
    assert post.labels == {"event": "sandy"}
    snap = post.engagement[0]
    assert (snap.likes, snap.views) == (3, None)
    assert snap.observed_at.timestamp() == pytest.approx(data.stat().st_mtime)  # idempotent re-import
    assert post.raw["username"] == "alice"
    assert (post.origin_file, post.origin_line) == (str(data), 2)


def test_wrong_number_of_columns(tmp_path: Path) -> None:
    data = tmp_path / "t.csv"
    data.write_text("id,text\n1,ok\n2,too,many\n3\n4,fine\n")
    posts, rejected = run(CsvImporter(), data)
    assert [p.native_id for p in posts] == ["1", "4"]
    assert [(r.code, r.line) for r in rejected] == [("bad_columns", 3), ("bad_columns", 4)]
    assert "expected 2" in rejected[0].reason and "got 3" in rejected[0].reason


def test_line_numbers_follow_multiline_quoted_fields(tmp_path: Path) -> None:
    data = tmp_path / "t.csv"
    data.write_text('id,text,created_at\n1,"two\nlines",2020-01-01\n\n2,x,yesterday-ish\n')
    posts, rejected = run(CsvImporter(), data)
    assert posts[0].text == "two\nlines" and posts[0].origin_line == 2
    assert [(r.code, r.line, r.post_id) for r in rejected] == [("bad_date", 5, "t:2")]


def test_unparseable_date(tmp_path: Path) -> None:
    data = tmp_path / "t.csv"
    data.write_text("id,text,created_at\n1,a,2020-01-01T00:00:00Z\n2,b,31/02/2020 xx\n3,c,\n")
    posts, rejected = run(CsvImporter(), data)
    assert [p.native_id for p in posts] == ["1", "3"]
    assert posts[1].created_at is None  # an empty cell is a missing date, not a bad one
    assert len(rejected) == 1 and rejected[0].code == "bad_date"
    assert "31/02/2020 xx" in rejected[0].reason


def test_created_at_format(tmp_path: Path) -> None:
    data = tmp_path / "t.csv"
    data.write_text("id,text,when\n1,a,13.09.2017\n")
    mapping = ColumnMapping.from_pairs(["created_at=when", "created_at_format=%d.%m.%Y"])
    (post,), _ = run(CsvImporter(mapping=mapping), data)
    assert post.created_at is not None and (post.created_at.year, post.created_at.month, post.created_at.day) == (
        2017,
        9,
        13,
    )


def test_non_utf8_line_is_rejected_and_the_rest_imports(tmp_path: Path) -> None:
    data = tmp_path / "t.csv"
    data.write_bytes(b'id,text\n1,caf\xc3\xa9\n2,caf\xe9 latin-1\n3,"multi\nline \xff"\n4,fine\n')
    posts, rejected = run(CsvImporter(), data)
    assert [p.text for p in posts] == ["café", "fine"]
    assert [(r.code, r.line) for r in rejected] == [("bad_encoding", 3), ("bad_encoding", 4)]
    assert rejected[0].raw is not None and "latin-1" in rejected[0].raw


def test_missing_id(tmp_path: Path) -> None:
    data = tmp_path / "t.csv"
    data.write_text("id,text\n,orphan\n2,ok\n")
    posts, rejected = run(CsvImporter(), data)
    assert [p.native_id for p in posts] == ["2"]
    assert [(r.code, r.line) for r in rejected] == [("missing_id", 2)]


def test_without_id_column_ids_are_content_hashes(tmp_path: Path) -> None:
    data = tmp_path / "t.csv"
    data.write_text("text\nsame\nother\nsame\n")
    posts, _ = run(CsvImporter(), data)
    ids = [p.native_id for p in posts]
    assert ids[0] == ids[2] != ids[1]  # stable for identical rows: the store de-duplicates them
    assert [p.native_id for p in run(CsvImporter(), data)[0]] == ids


def test_empty_file_and_header_only(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    header_only = tmp_path / "header.csv"
    header_only.write_text("id,text\n")
    for path in (empty, header_only):
        records = list(CsvImporter().iter_records(path))
        assert len(records) == 1 and isinstance(records[0], Rejected)
        assert records[0].code == "empty_file" and records[0].line is None


def test_unreadable_path_is_a_source_error(tmp_path: Path) -> None:
    from postlens.errors import SourceError

    with pytest.raises(SourceError):
        list(CsvImporter().iter_records(tmp_path / "nope.csv"))


def test_post_with_neither_text_nor_media(tmp_path: Path) -> None:
    data = tmp_path / "t.csv"
    data.write_text("id,text,media\n1,,\n2,,pic.jpg\n3,   ,\n")
    posts, rejected = run(CsvImporter(), data)
    assert [p.native_id for p in posts] == ["2"]
    assert [(r.code, r.post_id) for r in rejected] == [("empty_post", "t:1"), ("empty_post", "t:3")]


def test_media_column_with_files_urls_and_stems(tmp_path: Path) -> None:
    media = tmp_path / "media"
    (media / "event" / "fakes").mkdir(parents=True)
    (media / "a.jpg").write_bytes(b"x")
    (media / "clip.mp4").write_bytes(b"x")
    (media / "event" / "fakes" / "sandy_fake_12.png").write_bytes(b"x")
    data = tmp_path / "t.csv"
    data.write_text(
        "id,text,media\n"
        '1,several,"a.jpg, clip.mp4 ,sandy_fake_12"\n'
        '2,urls,"https://cdn.example/v.mp4?sig=1,https://cdn.example/pic"\n'
        "3,missing,gone.jpg\n"
    )
    (several, urls, missing), _ = run(CsvImporter(media_root=media), data)
    assert [(m.kind, m.source_path) for m in several.media] == [
        (Modality.IMAGE, str(media / "a.jpg")),
        (Modality.VIDEO, str(media / "clip.mp4")),
        (Modality.IMAGE, str(media / "event" / "fakes" / "sandy_fake_12.png")),
    ]
    assert [(m.kind, m.url, m.source_path) for m in urls.media] == [
        (Modality.VIDEO, "https://cdn.example/v.mp4?sig=1", None),
        (Modality.IMAGE, "https://cdn.example/pic", None),
    ]
    # a missing file is still attached: the store quarantines it, nothing disappears silently
    assert missing.media[0].source_path == str(media / "gone.jpg")


def test_media_default_root_separator_and_kind(tmp_path: Path) -> None:
    (tmp_path / "x.bin").write_bytes(b"x")
    data = tmp_path / "t.csv"
    data.write_text("id,text,files\n1,hi,x.bin|y.bin\n")
    mapping = ColumnMapping.from_pairs(["media=files", "media_separator=|", "media_kind=audio"])
    (post,), _ = run(CsvImporter(mapping=mapping), data)
    assert [(m.kind, m.source_path) for m in post.media] == [
        (Modality.AUDIO, str(tmp_path.resolve() / "x.bin")),
        (Modality.AUDIO, str(tmp_path.resolve() / "y.bin")),
    ]


def test_tsv(tmp_path: Path) -> None:
    data = tmp_path / "t.tsv"
    data.write_text('id\ttext\tcreated_at\n1\thello, world\t2020-01-01\n2\t"quoted\ttab"\t2020-01-02\n')
    posts, rejected = run(TsvImporter(), data)
    assert rejected == [] and [p.text for p in posts] == ["hello, world", "quoted\ttab"]


def test_tsv_without_quoting(tmp_path: Path) -> None:
    data = tmp_path / "t.tsv"
    data.write_text('id\ttext\n1\t"Breaking" news\n2\tshe said "hi\n3\tok\n')
    posts, rejected = run(TsvImporter(mapping={"quoting": False}), data)
    assert rejected == [] and [p.text for p in posts] == ['"Breaking" news', 'she said "hi', "ok"]


def test_csv_zst(tmp_path: Path) -> None:
    import zstandard

    data = tmp_path / "posts.csv.zst"
    data.write_bytes(zstandard.ZstdCompressor().compress(b"id,text\n1,a\n2,b\n"))
    posts, rejected = run(CsvImporter(), data)
    assert rejected == [] and [p.id for p in posts] == ["posts:1", "posts:2"]


def test_csv_iter_records_is_lazy(tmp_path: Path) -> None:
    """A streaming reader sees rows appended after its first record; a reader that slurped the file cannot."""
    data = tmp_path / "big.csv"
    with data.open("w") as handle:
        handle.write("id,text\n")
        for number in range(10_000):
            handle.write(f"{number},post number {number} with some padding text\n")
    records = CsvImporter().iter_records(data)
    first = next(records)
    assert isinstance(first, Post) and first.native_id == "0"
    with data.open("a") as handle:
        handle.write("appended-late,written after the first record was read\n")
    rest = list(records)
    assert len(rest) == 10_000 and rest[-1].native_id == "appended-late"  # type: ignore[union-attr]


def test_csv_gz(tmp_path: Path) -> None:
    import gzip

    data = tmp_path / "posts.csv.gz"
    data.write_bytes(gzip.compress(b"id,text\n1,a\n2,b\n"))
    posts, rejected = run(CsvImporter(), data)
    assert rejected == [] and [p.id for p in posts] == ["posts:1", "posts:2"]


def test_runaway_field_is_one_bad_csv_record(tmp_path: Path) -> None:
    import csv

    data = tmp_path / "t.csv"
    data.write_text('id,text\n1,ok\n2,"unclosed quote that runs on\n' + "and on\n" * 50 + '3,after"\n')
    importer = CsvImporter()
    importer.max_field_chars = 100  # instance override of the class limit
    previous = csv.field_size_limit()
    try:
        records = list(importer.iter_records(data))
    finally:
        csv.field_size_limit(previous)
    codes = [r.code if isinstance(r, Rejected) else "post" for r in records]
    assert codes[0] == "post" and "bad_csv" in codes
    assert records[codes.index("bad_csv")].line == 3  # type: ignore[union-attr]
