"""No importer can make postlens open a file outside the media root.

A corpus of hostile media values (traversal, absolute paths, ``~``, symlinked files and folders
pointing out, ``file://`` URLs, NUL bytes, FIFOs, devices, folders, dangling links, 5,000-char
names) goes through every importer that takes local media: csv, jsonl, parquet, postlens JSONL and
a mediaeval2016-style folder. A subprocess with an audit hook on ``open``/``os.open``/``scandir``
records every path opened outside the allowed folders (tests run as root: permissions prove
nothing). Every record gives a post (without the bad part, with a quarantine row saying why) or
a quarantine row; nothing outside is opened, copied or stored.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from _media_traps import build_tree, jpeg, run_child

REFUSED = {"media_outside_root", "media_not_a_file", "media_bad_name", "media_missing", "media_no_root"}


def hostile_values(tree: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(label, media value, what must happen: 'stored' or 'refused')."""
    outside = tree["outside"]
    return [
        ("good", "good.jpg", "stored"),
        ("stem lookup", "inner", "stored"),
        ("symlink inside to inside", "inlink.jpg", "stored"),
        ("dot-dot that stays inside", "sub/../good.jpg", "stored"),
        ("traversal", "../outside/secret.jpg", "refused"),
        ("deep traversal", "sub/../../outside/passwd", "refused"),
        ("absolute outside", str(outside / "secret.jpg"), "refused"),
        ("absolute /etc/passwd", "/etc/passwd", "refused"),
        ("tilde up", "~/../../../../../../../../etc/passwd", "refused"),
        ("tilde home", "~/secret.jpg", "refused"),
        ("symlinked file out", "link.jpg", "refused"),
        ("symlinked folder out", "dirlink/secret.jpg", "refused"),
        ("file url outside", "file://" + str(outside / "secret.jpg"), "refused"),
        ("file url /etc/passwd", "file:///etc/passwd", "refused"),
        ("file url with a host", "file://evil.example/etc/passwd", "refused"),
        ("fifo inside", "pipe.jpg", "refused"),
        ("symlink to a fifo outside", "outpipe.jpg", "refused"),
        ("symlink to /dev/zero", "devzero.jpg", "refused"),
        ("device node", "chardev.jpg", "refused"),
        ("folder", "sub", "refused"),
        ("the root itself", ".", "refused"),
        ("dangling symlink", "dangling.jpg", "refused"),
        ("backslashes", "..\\outside\\secret.jpg", "refused"),
        ("5000-char name", "x" * 5000 + ".jpg", "refused"),
        ("long component", "y" * 300 + ".jpg", "refused"),
        ("NUL byte", "good.jpg\x00../outside/secret.jpg", "refused"),
        ("folder name seen in outside", "secret", "refused"),
    ]


def check_run(
    result: dict[str, Any], expected: list[tuple[str, str]], records: int, tree: dict[str, Any], post_prefix: str
) -> None:
    """Every record is a post or quarantined; good parts stored, hostile parts refused with a reason."""
    assert result["outside"] == [], f"files opened outside the root: {result['outside']}"
    assert result["posts_written"] + result["quarantined"] == records
    assert result["quarantined"] == 0  # a bad media part never costs the post
    statuses = {(pid, pos): status for pid, pos, status, _kind in result["media"]}
    problems = {(q["post_id"], q["code"]): q for q in result["quarantine"]}
    for number, (label, outcome) in enumerate(expected, start=1):
        post_id = f"{post_prefix}{number}"
        status = statuses.get((post_id, 0))
        if outcome == "stored":
            assert status == "stored", (label, status, result["quarantine"])
            continue
        assert status in ("rejected", "missing"), (label, status)
        rows = [q for (pid, code), q in problems.items() if pid == post_id]
        assert rows and all(q["post_kept"] for q in rows), (label, rows)
        assert {q["code"] for q in rows} <= REFUSED, (label, rows)
        assert all(q["reason"] for q in rows)


@pytest.fixture
def corpus(tmp_path: Path) -> dict[str, Any]:
    return write_corpus(tmp_path)


def write_corpus(tmp_path: Path) -> dict[str, Any]:
    """The hostile values as csv, jsonl and parquet (data outside the root) and as postlens JSONL (inside)."""
    tree = build_tree(tmp_path)
    values = hostile_values(tree)
    data = tmp_path / "data"
    data.mkdir()
    rows = [
        {"id": str(i), "text": f"post {i} ({label})", "media": value}
        for i, (label, value, _) in enumerate(values, start=1)
    ]
    with (data / "csv.csv").open("w", encoding="utf-8", newline="") as out:
        import csv

        writer = csv.writer(out)
        writer.writerow(["id", "text", "media"])
        writer.writerows([r["id"], r["text"], r["media"]] for r in rows)
    (data / "jsonl.jsonl").write_bytes(b"".join(orjson.dumps({**r, "media": [r["media"]]}) + b"\n" for r in rows))
    pq.write_table(pa.Table.from_pylist(rows), data / "parquet.parquet")
    native = tree["root"] / "posts.jsonl"  # the native format's root is its own folder
    native.write_bytes(
        b"".join(
            orjson.dumps(
                {
                    "source": "n",
                    "native_id": r["id"],
                    "platform": "test",
                    "text": r["text"],
                    # a record may not widen its own root: "root" keys are ignored
                    "media": [
                        {
                            "kind": "image",
                            "root": "/",
                            **({"url": r["media"]} if r["media"].startswith("file:") else {"source_path": r["media"]}),
                        }
                    ],
                }
            )
            + b"\n"
            for r in rows
        )
    )
    return {"tree": tree, "values": values, "data": data, "native": native, "tmp": tmp_path}


def audit_spec(corpus: dict[str, Any]) -> dict[str, Any]:
    tree, data = corpus["tree"], corpus["data"]
    root = str(tree["root"])
    table = ["id=id", "text=text", "media=media"]
    return {
        "workspace": str(corpus["tmp"] / "ws"),
        "allowed": [root, str(data), str(corpus["tmp"] / "ws")],
        "control": str(tree["outside"] / "passwd"),
        "runs": [
            {"name": "csv", "importer": "csv", "paths": [str(data / "csv.csv")], "map": table, "media_root": root},
            {
                "name": "jsonl",
                "importer": "jsonl",
                "paths": [str(data / "jsonl.jsonl")],
                "map": table,
                "media_root": root,
            },
            {
                "name": "parquet",
                "importer": "parquet",
                "paths": [str(data / "parquet.parquet")],
                "map": table,
                "media_root": root,
            },
            {"name": "postlens", "importer": "postlens", "paths": [str(corpus["native"])]},
        ],
    }


def test_no_importer_opens_a_file_outside_the_media_root(corpus: dict[str, Any]) -> None:
    tree, values = corpus["tree"], corpus["values"]
    results = run_child(audit_spec(corpus), corpus["tmp"])
    assert results.pop("control") == [f"open:{os.path.realpath(tree['outside'] / 'passwd')}"]
    expected = [(label, outcome) for label, _value, outcome in values]
    for name in ("csv", "jsonl", "parquet"):
        check_run(results[name], expected, len(values), tree, f"{name}:")
    # postlens JSONL names files exactly (no stem lookup): "inner" is simply missing there
    native = [(label, "refused" if label == "stem lookup" else outcome) for label, outcome in expected]
    check_run(results["postlens"], native, len(values), tree, "n:")
    stored = {p.name.split(".")[0] for p in (corpus["tmp"] / "ws" / "media").rglob("*") if p.is_file()}
    assert tree["secret_sha"] not in stored


def test_mediaeval_folder_with_traps_reads_only_its_own_images(tmp_path: Path) -> None:
    tree = build_tree(tmp_path)
    outside = tree["outside"]
    jpeg(outside / "sandy_fake_03.jpg", "yellow")
    (outside / "ptr.txt").write_text("id\turl\nsandy_video_1\thttp://example.com/v\n")
    folder = tree["root"]
    images = folder / "images" / "sandy"
    images.mkdir(parents=True)
    jpeg(images / "sandy_fake_01.jpg", "red")
    (images / "sandy_fake_02.jpg").symlink_to(outside / "secret.jpg")
    (images / "evil").symlink_to(outside, target_is_directory=True)  # holds sandy_fake_03.jpg
    os.mkfifo(images / "sandy_fake_04.jpg")
    (images / "ptr.txt").symlink_to(outside / "ptr.txt")  # a pointer file that is really outside
    ids = [
        "sandy_fake_01",
        "sandy_fake_02",
        "sandy_fake_03",
        "sandy_fake_04",
        "../../../outside/secret",
        "sandy_video_1",
        "/etc/passwd",
        "sandy_fake_01,../../outside/passwd",
        "sandy\x00fake_01",
        "z" * 5000,
        "evil/sandy_fake_03",
    ]
    header = "post_id\tpost_text\tuser_id\timage_id(s)\tusername\ttimestamp\tlabel"
    lines = [header] + [
        f"{n}\tpost {n}\t9\t{image}\tann\tMon Oct 29 20:00:00 +0000 2012\tfake" for n, image in enumerate(ids, start=1)
    ]
    (folder / "posts.txt").write_text("\n".join(lines) + "\n")
    spec = {
        "workspace": str(tmp_path / "ws"),
        "allowed": [str(folder), str(tmp_path / "ws")],
        "runs": [{"name": "mediaeval2016", "importer": "mediaeval2016", "paths": [str(folder)]}],
    }
    result = run_child(spec, tmp_path)["mediaeval2016"]
    assert result["outside"] == []
    assert result["posts_written"] == len(ids) and result["quarantined"] == 0
    statuses = {(pid, pos): status for pid, pos, status, _kind in result["media"]}
    assert statuses[("twitter:1", 0)] == "stored"
    assert statuses[("twitter:8", 0)] == "stored" and statuses[("twitter:8", 1)] in ("rejected", "missing")
    for n in (2, 3, 4, 5, 7, 9, 10, 11):
        assert statuses[(f"twitter:{n}", 0)] in ("rejected", "missing"), n
    # the symlinked pointer file was not read, so its id is not turned into a video URL
    assert statuses[("twitter:6", 0)] in ("rejected", "missing")
    codes = {(q["post_id"], q["code"]) for q in result["quarantine"]}
    assert ("twitter:2", "media_outside_root") in codes and ("twitter:5", "media_outside_root") in codes
    assert all(q["post_kept"] for q in result["quarantine"])


def test_platform_formats_carry_urls_and_a_file_url_there_has_no_root(tmp_path: Path) -> None:
    """twitter/reddit/mastodon give URLs only; a ``file://`` URL in such data is refused, never opened."""
    tree = build_tree(tmp_path)
    tweets = []
    for n, url in enumerate(
        [
            "file:///etc/passwd",
            "file://" + str(tree["outside"] / "secret.jpg"),
            "file://" + str(tree["root"] / "good.jpg"),
            "https://pbs.example/media/a.jpg",
        ],
        start=1,
    ):
        tweets.append(
            {
                "id_str": str(n),
                "text": f"tweet {n}",
                "created_at": "Wed Apr 17 18:57:37 +0000 2013",
                "user": {"id_str": "42", "screen_name": "alice"},
                "entities": {"media": [{"id_str": f"m{n}", "type": "photo", "media_url_https": url}]},
            }
        )
    data = tmp_path / "data"
    data.mkdir()
    (data / "tweets.jsonl").write_bytes(b"".join(orjson.dumps(t) + b"\n" for t in tweets))
    spec = {
        "workspace": str(tmp_path / "ws"),
        "allowed": [str(data), str(tmp_path / "ws")],
        "runs": [{"name": "twitter", "importer": "twitter-v1", "paths": [str(data / "tweets.jsonl")]}],
    }
    result = run_child(spec, tmp_path)["twitter"]
    assert result["outside"] == []
    assert result["posts_written"] == 4 and result["media_stored"] == 0
    statuses = {pid: status for pid, _pos, status, _kind in result["media"]}
    assert statuses == {
        "twitter:1": "rejected",
        "twitter:2": "rejected",
        "twitter:3": "rejected",
        "twitter:4": "remote",
    }
    assert {q["code"] for q in result["quarantine"]} == {"media_no_root"}
