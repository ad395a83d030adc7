"""`postlens ingest` with values that used to abort an import: out-of-range counts in every numeric field,
a list nested 10,000 deep, a corrupt or truncated .zst. Each costs one field or one record, never the file."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import zstandard
from typer.testing import CliRunner

from postlens.serve.cli import app

runner = CliRunner()
DEEP = "[" * 10_000 + "]" * 10_000
OUT_OF_RANGE = [10**30, 2**63, 1e30, "inf", -5, "1.2.3"]


def ingest(ws: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["ingest", "--workspace", str(ws), *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def query(ws: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(ws / "postlens.duckdb"), read_only=True) as db:
        return db.execute(sql).fetchall()


@pytest.mark.parametrize("bad", OUT_OF_RANGE, ids=[str(v) for v in OUT_OF_RANGE])
def test_csv_row_with_an_out_of_range_value_in_every_numeric_field(tmp_path: Path, bad: object) -> None:
    data = tmp_path / "posts.csv"
    header = "id,text,created_at,likes,shares,comments,views,followers"
    good = [f"{i},post {i},2024-01-0{i}T00:00:00Z,1,2,3,4,5" for i in (1, 2, 4)]
    data.write_text(
        "\n".join(
            [header, good[0], good[1], f"3,the odd one,2024-01-03T00:00:00Z,{bad},{bad},{bad},{bad},{bad}", good[2]]
        )
        + "\n"
    )
    code, out = ingest(tmp_path / "ws", str(data), "--map", "author_followers=followers")
    assert code == 0 and "4 imported" in out and "0 quarantined" in out and "1 flagged" in out, out
    assert query(tmp_path / "ws", "SELECT count(*) FROM posts") == [(4,)]
    assert query(tmp_path / "ws", "SELECT author_followers FROM posts WHERE id = 'posts:3'") == [(None,)]
    assert query(tmp_path / "ws", "SELECT count(*) FROM engagement WHERE post_id = 'posts:3'") == [(0,)]
    [(reason,)] = query(tmp_path / "ws", "SELECT reason FROM quarantine WHERE post_kept AND post_id = 'posts:3'")
    for column in ("likes", "shares", "comments", "views", "author_followers"):
        assert column in reason


def test_tweet_with_an_out_of_range_value_in_every_numeric_field(tmp_path: Path) -> None:
    def tweet(i: int, bad: object = None) -> dict:
        number = 5 if bad is None else bad
        return {
            "id_str": str(i),
            "text": f"tweet {i}",
            "created_at": "Wed Apr 17 18:57:37 +0000 2013",
            "favorite_count": number,
            "retweet_count": number,
            "reply_count": number,
            "user": {"screen_name": "a", "followers_count": number},
            "extended_entities": {
                "media": [
                    {
                        "type": "video",
                        "media_url_https": "https://x.org/a.jpg",
                        "sizes": {"large": {"w": number, "h": number}},
                        "video_info": {"duration_millis": number},
                    }
                ]
            },
        }

    data = tmp_path / "tweets.jsonl"
    data.write_text("\n".join(json.dumps(t) for t in [tweet(1), tweet(2, 10**30), tweet(3)]) + "\n")
    code, out = ingest(tmp_path / "ws", str(data), "--format", "twitter-v1")
    assert code == 0 and "3 imported" in out and "0 quarantined" in out, out
    [(reason,)] = query(
        tmp_path / "ws",
        "SELECT reason FROM quarantine WHERE post_kept AND code = 'bad_count' AND post_id = 'twitter:2'",
    )
    for field in ("favorite_count", "retweet_count", "reply_count", "followers_count", "duration_millis"):
        assert field in reason
    assert query(tmp_path / "ws", "SELECT count(*) FROM quarantine WHERE post_kept AND code = 'bad_value'") == [(1,)]
    assert query(tmp_path / "ws", "SELECT width, height FROM media WHERE post_id = 'twitter:2'") == [(None, None)]


def records_for(importer: str, i: int) -> dict:
    if importer == "reddit":
        return {"id": f"s{i}", "title": f"title {i}", "selftext": "", "created_utc": 1_500_000_000, "score": 1}
    if importer == "mastodon":
        return {
            "id": str(i),
            "uri": f"https://m.social/users/a/statuses/{i}",
            "content": f"<p>hi {i}</p>",
            "created_at": "2023-05-01T10:00:00Z",
            "account": {"acct": "a"},
        }
    return {"id_str": str(i), "text": f"tweet {i}", "created_at": "Wed Apr 17 18:57:37 +0000 2013"}


@pytest.mark.parametrize("importer", ["reddit", "twitter-v1", "mastodon"])
@pytest.mark.parametrize("layout", ["list", "lines"])
def test_a_list_nested_ten_thousand_deep_is_one_quarantine_row(tmp_path: Path, importer: str, layout: str) -> None:
    texts = [json.dumps(records_for(importer, 1)), DEEP, json.dumps(records_for(importer, 2))]
    data = tmp_path / ("deep.json" if layout == "list" else "deep.jsonl")
    data.write_text("[" + ",".join(texts) + "]" if layout == "list" else "\n".join(texts) + "\n")
    code, out = ingest(tmp_path / "ws", str(data), "--format", importer)
    assert code == 0 and "2 imported" in out and "1 quarantined" in out, out
    [(reason_code, reason)] = query(tmp_path / "ws", "SELECT code, reason FROM quarantine")
    assert reason_code == "bad_json" and "depth" in reason


def test_a_corrupt_zst_is_a_one_line_error_when_guessing_the_format(tmp_path: Path) -> None:
    data = tmp_path / "RS_2020.ndjson.zst"
    data.write_bytes(b"\x28\xb5\x2f\xfd" + bytes(range(256)) * 4)  # a zstd magic number, then garbage
    env = {**os.environ, "COLUMNS": "400"}  # one line: rich would wrap at 80 columns
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from postlens.serve.cli import main; main()",
            "ingest",
            "--workspace",
            str(tmp_path / "ws"),
            str(data),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("error:") and "not a readable zstd file" in line and "RS_2020.ndjson.zst" in line


def test_a_corrupt_zst_is_one_bad_compression_row_under_a_named_format(tmp_path: Path) -> None:
    data = tmp_path / "RS_2020.ndjson.zst"
    data.write_bytes(b"\x28\xb5\x2f\xfd" + bytes(range(256)) * 4)
    _code, out = ingest(tmp_path / "ws", str(data), "--format", "reddit")
    assert "Traceback" not in out and "1 quarantined" in out
    assert query(tmp_path / "ws", "SELECT code, line FROM quarantine") == [("bad_compression", 0)]


@pytest.mark.parametrize("importer", ["reddit", "jsonl", "postlens"])
def test_a_truncated_zst_keeps_what_comes_before_the_break(tmp_path: Path, importer: str) -> None:
    words = random.Random(0).choices(["cat", "dog", "sun", "rain", "tree", "sea", "hill"], k=60_000)
    text = [" ".join(words[i * 12 : (i + 1) * 12]) for i in range(5000)]
    if importer == "postlens":
        records = [
            {"id": f"d:{i}", "source": "d", "native_id": str(i), "platform": "demo", "text": text[i]}
            for i in range(5000)
        ]
    else:
        records = [dict(records_for("reddit", i), text=text[i]) for i in range(5000)]
    whole = zstandard.ZstdCompressor().compress("".join(json.dumps(r) + "\n" for r in records).encode())
    data = tmp_path / "part.jsonl.zst"
    data.write_bytes(whole[: len(whole) // 2])
    extra = ["--map", "id=id", "--map", "text=text"] if importer == "jsonl" else []
    code, out = ingest(tmp_path / "ws", str(data), "--format", importer, *extra)
    assert code == 0 and "Traceback" not in out, out
    assert 1000 < query(tmp_path / "ws", "SELECT count(*) FROM posts")[0][0] < 5000
    assert query(tmp_path / "ws", "SELECT code FROM quarantine") == [("bad_compression",)]
