"""ColumnMapping: YAML, CLI pairs, merging, auto-detection and the missing-column error."""

from __future__ import annotations

from pathlib import Path

import pytest

from postlens.errors import MappingError, SourceError
from postlens.sources.generic import CsvImporter
from postlens.sources.mapping import ColumnMapping
from postlens.types import Post


def test_mapping_from_yaml(tmp_path: Path) -> None:
    spec = tmp_path / "map.yaml"
    spec.write_text(
        "id: post_id\ntext: body\ncreated_at: when\ncreated_at_format: '%d.%m.%Y'\n"
        "labels:\n  event: event\nplatform: forum\nmedia_separator: ';'\nmedia_kind: video\n"
    )
    mapping = ColumnMapping.from_yaml(spec)
    assert (mapping.id, mapping.text, mapping.created_at) == ("post_id", "body", "when")
    assert mapping.created_at_format == "%d.%m.%Y"
    assert mapping.labels == {"event": "event"}
    assert (mapping.platform, mapping.media_separator, mapping.media_kind) == ("forum", ";", "video")


def test_mapping_yaml_unknown_key_lists_known_keys(tmp_path: Path) -> None:
    spec = tmp_path / "map.yaml"
    spec.write_text("text: body\ntxet: body\n")
    with pytest.raises(MappingError) as info:
        ColumnMapping.from_yaml(spec)
    message = str(info.value)
    assert "txet" in message and "known keys" in message and "created_at_format" in message


def test_mapping_bad_value_is_a_mapping_error() -> None:
    with pytest.raises(MappingError, match="media_kind"):
        ColumnMapping.from_pairs(["media_kind=hologram"])


def test_mapping_from_pairs_and_cli_overrides_yaml(tmp_path: Path) -> None:
    spec = tmp_path / "map.yaml"
    spec.write_text("text: body\nid: post_id\nlabels:\n  stance: stance\nplatform: forum\n")
    pairs = ColumnMapping.from_pairs(["text=content", "labels.event=event", "delimiter=\\t", "quoting=false"])
    assert pairs.text == "content" and pairs.labels == {"event": "event"}
    assert pairs.delimiter == "\t" and pairs.quoting is False
    merged = ColumnMapping.from_yaml(spec).merge(pairs)
    assert merged.text == "content"  # the CLI wins
    assert merged.id == "post_id" and merged.platform == "forum"  # YAML kept where the CLI is silent
    assert merged.labels == {"stance": "stance", "event": "event"}


def test_pair_without_equals_is_rejected() -> None:
    with pytest.raises(MappingError, match="key=value"):
        ColumnMapping.from_pairs(["text"])


def test_missing_column_names_column_file_and_existing(tmp_path: Path) -> None:
    data = tmp_path / "posts.csv"
    data.write_text("post_id,body\n1,hello\n")
    importer = CsvImporter(mapping=ColumnMapping.from_pairs(["text=message"]))
    records = importer.iter_records(data)
    with pytest.raises(MappingError) as info:
        next(records)
    message = str(info.value)
    assert "'message'" in message and str(data) in message and "'body'" in message and "'post_id'" in message
    assert isinstance(info.value, SourceError)  # a whole-file error


def test_auto_detection_of_common_names(tmp_path: Path) -> None:
    data = tmp_path / "export.csv"
    data.write_text(
        "Tweet_ID,Content,Timestamp,username,retweet_count,label\n42,hi #there,2021-03-04T05:06:07+02:00,alice,7,fake\n"
    )
    (post,) = list(CsvImporter().iter_records(data))
    assert isinstance(post, Post)
    assert post.id == "export:42" and post.text == "hi #there" and post.hashtags == ["there"]
    assert post.created_at is not None and post.created_at.isoformat() == "2021-03-04T03:06:07+00:00"
    assert post.author.handle == "alice"
    assert post.engagement[0].shares == 7
    assert post.labels == {"label": "fake"}


def test_auto_detection_can_be_switched_off(tmp_path: Path) -> None:
    data = tmp_path / "t.csv"
    data.write_text("id,text,date\n1,hello,not a date\n")
    (post,) = list(CsvImporter(mapping={"id": "id", "text": "text", "auto_detect": False}).iter_records(data))
    assert isinstance(post, Post) and post.created_at is None
