"""The dashboard's overview, trends and popularity answers over a small real workspace (demo corpus + one
broken line and one post whose picture is missing): counts by modality add up, the import run and its
quarantine reasons show, and a workspace without trends or predictions answers empty, not an error."""

from __future__ import annotations

from pathlib import Path

import orjson

from postlens.demo import generate_corpus
from postlens.pipeline.ingest import run_ingest
from postlens.serve.dashboard import data


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
    assert data.trends(ws, None, None, 5) == {"sources": [], "source": None, "series": [], "alerts": []}
    assert data.popularity(ws, None, None, {}, 10)["posts"] == []
    assert data.report_path(ws) is None
