"""Format detection: the importer a path needs, or a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from postlens.errors import SourceError
from postlens.sources.base import parse_datetime
from postlens.sources.detect import detect_format


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("a.csv", "id,text\n1,x\n", "csv"),
        ("a.tsv", "id\ttext\n", "tsv"),
        ("a.jsonl", '{"id": 1, "text": "x"}\n', "jsonl"),
        ("a.jsonl", '{"id": "1", "native_id": "1", "source": "s", "platform": "p"}\n', "postlens"),
        ("a.json", '[{"id_str": "1", "retweet_count": 0}]', "twitter-v1"),
        ("a.json", '{"data": [{"id": "1"}], "includes": {}}', "twitter-v2"),
        ("a.ndjson", '{"id": "x", "subreddit": "r"}\n', "reddit"),
        ("a.json", '[{"id": "1", "account": {}, "reblogs_count": 0}]', "mastodon"),
    ],
)
def test_detects_format_from_name_and_first_record(tmp_path: Path, name: str, content: str, expected: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    assert detect_format(path) == expected


def test_json_list_of_unknown_records_asks_for_a_format(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text('[{"foo": 1}]')
    with pytest.raises(SourceError, match="--format"):
        detect_format(path)


def test_folder_of_unknown_files_asks_for_a_format(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="--format"):
        detect_format(tmp_path)


@pytest.mark.parametrize("value", ["2013", "13.09", "yesterday"])
def test_short_numbers_and_words_are_not_dates(value: str) -> None:
    with pytest.raises(ValueError):
        parse_datetime(value)


@pytest.mark.parametrize(
    "value",
    [
        "2013-04-17T18:57:37Z",
        "Wed Apr 17 18:57:37 +0000 2013",
        "Wed Apr 17 18: 57: 37 +0000 2013",
        "1366225057",
        1366225057000,
    ],
)
def test_common_date_formats_parse_to_the_same_utc_moment(value: object) -> None:
    moment = parse_datetime(value)
    assert moment.isoformat() == "2013-04-17T18:57:37+00:00"
