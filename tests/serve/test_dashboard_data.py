"""The dashboard's overview, trends and popularity answers over a small real workspace (demo corpus + one
broken line and one post whose picture is missing): counts by modality add up, the import run and its
quarantine reasons show, and a workspace without trends or predictions answers empty, not an error."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import orjson
import pytest

from postlens.demo import generate_corpus
from postlens.errors import ConfigError
from postlens.pipeline.ingest import run_ingest
from postlens.serve.dashboard import data
from postlens.store.workspace import Workspace
from postlens.tasks.trends import trends


def test_overview_counts_modalities_runs_and_quarantine(tmp_path: Path) -> None:
    corpus, ws = tmp_path / "corpus", tmp_path / "ws"
    generate_corpus(corpus, seed=3, n_posts=40)
    lines = (corpus / "posts.jsonl").read_text().splitlines()
    posts = [orjson.loads(line) for line in lines]
    with_image = next(
        p for p in posts if p.get("text", "").strip() and any(m.get("kind") == "image" for m in p.get("media", []))
    )
    (corpus / with_image["media"][0]["source_path"]).unlink()
    (corpus / "posts.jsonl").write_text("\n".join([*lines, '{"id": "broken", "text": ']) + "\n")
    run_ingest([corpus / "posts.jsonl"], importer_name="postlens", workspace=ws)

    shown = data.overview(ws, None)
    assert shown["posts"] == len(posts), shown["quarantine"]
    by_kind = {m["name"]: m["count"] for m in shown["modality"]}
    assert by_kind["text"] == sum(1 for p in posts if p.get("text", "").strip())
    assert by_kind.get("video", 0) == sum(1 for p in posts if any(m.get("kind") == "video" for m in p.get("media", [])))
    assert sum(d["count"] for d in shown["over_time"]) == len(posts) and shown["time_unit"] in ("hour", "day", "week")
    run = shown["import_runs"][0]
    assert run["status"] == "done" and run["imported"] == len(posts) and run["quarantined"] >= 1
    reasons = {(q["code"], q["post_kept"]) for q in shown["quarantine"]}
    assert any(not kept for _, kept in reasons) and any(kept for _, kept in reasons), shown["quarantine"]
    assert all(q["example"] for q in shown["quarantine"])
    assert data.trends(ws, None, None, 5) == {
        "sources": [],
        "source": None,
        "series": [],
        "alerts": [],
        "since": None,
        "from": None,
    }
    assert data.popularity(ws, None, None, {}, 10)["posts"] == []
    assert data.report_path(ws) is None


def test_the_trends_range_keeps_bins_and_alerts_that_start_within_it_back_from_the_newest_post(
    tmp_path: Path,
) -> None:
    corpus, ws = tmp_path / "corpus", tmp_path / "ws"
    generate_corpus(corpus, seed=3, n_posts=80)
    run_ingest([corpus / "posts.jsonl"], importer_name="postlens", workspace=ws)
    trends(ws, since="60d", bin="1d")
    posts = [orjson.loads(line) for line in (corpus / "posts.jsonl").read_text().splitlines()]
    newest = max(datetime.fromisoformat(p["created_at"]) for p in posts)
    # alerts at known distances from the newest post (a corpus this small fires none of its own)
    with Workspace(ws) as opened:
        for days in (0.5, 3, 10, 40):
            opened.db.execute(
                "INSERT INTO alerts VALUES ('s', 'hashtags', ?, ?, ?, 5, 1.0, 4.0, false)",
                [f"#t{days}", newest - timedelta(days=days), newest - timedelta(days=days - 0.1)],
            )
    every = data.trends(ws, None, None, 50)
    assert every["from"] is None and len(every["alerts"]) == 4
    for since, days, alerts in (("24h", 1, 1), ("7d", 7, 2), ("30d", 30, 3)):
        kept = data.trends(ws, None, None, 50, since)
        bound = newest - timedelta(days=days)
        assert kept["since"] == since and datetime.fromisoformat(kept["from"]) == bound
        assert [a["term"] for a in kept["alerts"]] == [a["term"] for a in every["alerts"]][:alerts]
        shown = {(line["term"], t) for line in kept["series"] for t in line["t"]}
        expected = {
            (line["term"], t)
            for line in every["series"]
            for t in line["t"]
            if datetime.fromisoformat(t) >= bound and line["term"] in {x["term"] for x in kept["series"]}
        }
        assert shown == expected and len(shown) < sum(len(line["t"]) for line in every["series"])
    with pytest.raises(ConfigError, match="soon"):
        data.trends(ws, None, None, 5, "soon")


def test_a_posts_image_is_its_stored_copy_inside_the_media_folder_or_none(tmp_path: Path) -> None:
    corpus, ws = tmp_path / "corpus", tmp_path / "ws"
    generate_corpus(corpus, seed=3, n_posts=40)
    posts = [orjson.loads(line) for line in (corpus / "posts.jsonl").read_text().splitlines()]
    run_ingest([corpus / "posts.jsonl"], importer_name="postlens", workspace=ws)
    with_image = next(p for p in posts if any(m["kind"] == "image" for m in p["media"]))
    text_only = next(p for p in posts if not p["media"])
    video_only = next(p for p in posts if p["media"] and all(m["kind"] == "video" for m in p["media"]))
    first = next(m for m in with_image["media"] if m["kind"] == "image")
    found = data.post_image(ws, None, with_image["id"])
    assert found is not None and found[1] == first["mime"]
    source = corpus / first["source_path"]
    assert found[0].read_bytes() == source.read_bytes() and found[0].is_relative_to((ws / "media").resolve())
    for post_id in (text_only["id"], video_only["id"], "no:such-post"):
        assert data.post_image(ws, None, post_id) is None
    # a media row pointing out of the media folder (a tampered workspace) serves nothing
    with Workspace(ws) as opened:
        opened.db.execute(
            "UPDATE media SET path = 'ws.duckdb' WHERE post_id = ? AND kind = 'image'", [with_image["id"]]
        )
    assert data.post_image(ws, None, with_image["id"]) is None
