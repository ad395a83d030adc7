"""Featurize's text side and bookkeeping: the character cap, cache keys, post ids of failures, brief DB opens."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from _featurize_fixtures import image_workspace
from postlens.encoders.identity import installed_identity
from postlens.encoders.text.lexicon import VaderEncoder
from postlens.errors import WorkspaceError
from postlens.pipeline import build_importer
from postlens.pipeline.featurize import TEXT_MAX_CHARS, featurize, text_key
from postlens.pipeline.featurize_text import cut_at_space
from postlens.store.features import FeatureCache
from postlens.store.ingest import ingest
from postlens.store.workspace import Workspace

LONG = " ".join(f"word{i % 997} is great today" for i in range(20_000))  # ~470,000 characters
SHORT = {"posts:a": "What a lovely day 😀 in the park", "posts:b": "café naïve façade — terrible service!!",
         "posts:c": "Ünïcödé ✓ text with ties: 東京 and ﬁ ligatures"}


def _text_workspace(root: Path) -> Path:
    data = root / "data"
    data.mkdir(parents=True)
    posts = [{"id": "long", "text": LONG}] + [{"id": k.split(":")[1], "text": v} for k, v in SHORT.items()]
    (data / "posts.jsonl").write_text("".join(json.dumps(p) + "\n" for p in posts), encoding="utf-8")
    with Workspace(root / "ws") as ws:
        ingest(ws, build_importer("jsonl", mapping_pairs=["id=id", "text=text"]), [data / "posts.jsonl"])
    return root / "ws"


def test_text_encoders_see_at_most_the_cap_but_the_key_is_the_full_text(tmp_path: Path) -> None:
    ws_path = _text_workspace(tmp_path)
    summary = featurize(ws_path, encoders=["vader"])
    assert summary.runs[0].computed == 4 and summary.runs[0].errors == 0
    with Workspace(ws_path, read_only=True) as ws:
        keys = dict(ws.db.execute("SELECT post_id, key FROM text_fields WHERE field = 'text'").fetchall())
    assert keys["posts:long"] == text_key(LONG), "the cache key is the hash of the whole text"
    for post_id, text in SHORT.items():
        assert keys[post_id] == text_key(text), f"DuckDB's sha256 and text_key agree on {text!r}"
    feats = FeatureCache(ws_path / "features").read(installed_identity("vader").key)
    capped = cut_at_space(LONG[:TEXT_MAX_CHARS])
    assert len(capped) <= TEXT_MAX_CHARS and not capped.endswith(" ")
    expected = VaderEncoder().encode([capped])[0]
    np.testing.assert_allclose(feats[text_key(LONG)].vector, expected.vector)
    assert feats[text_key(LONG)].info.get("truncated") is True
    short = VaderEncoder().encode([SHORT["posts:a"]])[0]
    np.testing.assert_allclose(feats[text_key(SHORT["posts:a"])].vector, short.vector)
    assert not feats[text_key(SHORT["posts:a"])].info.get("truncated")


def test_post_ids_limit_the_text_work_and_a_rerun_does_none(tmp_path: Path) -> None:
    ws_path = _text_workspace(tmp_path)
    first = featurize(ws_path, encoders=["vader"], post_ids=["posts:b"])
    assert first.runs[0].computed == 1
    assert set(FeatureCache(ws_path / "features").read(installed_identity("vader").key)) == {text_key(SHORT["posts:b"])}
    assert featurize(ws_path, encoders=["vader"]).runs[0].computed == 3
    assert featurize(ws_path, encoders=["vader"]).computed == 0


def test_failures_name_a_post_that_carries_the_item(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"garbage" * 50)
    posts = [{"id": "zed", "text": "two posts", "image": "broken.png"},
             {"id": "abe", "text": "share one broken image", "image": "broken.png"}]
    (data / "posts.jsonl").write_text("".join(json.dumps(p) + "\n" for p in posts))
    with Workspace(tmp_path / "ws") as ws:
        ingest(ws, build_importer("jsonl", mapping_pairs=["id=id", "text=text", "media=image"], media_root=data),
               [data / "posts.jsonl"])
        stored = ws.db.execute("SELECT count(*) FROM media WHERE status = 'stored'").fetchone()
    assert stored == (2,), "the corrupt file is stored (only its header is checked at import)"
    summary = featurize(tmp_path / "ws", encoders=["image-stats"])
    assert summary.runs[0].errors == 1
    with Workspace(tmp_path / "ws", read_only=True) as ws:
        rows = ws.db.execute("SELECT encoder, post_id, error FROM feature_errors").fetchall()
    assert len(rows) == 1
    encoder, post_id, error = rows[0]
    assert encoder.startswith("image_stats@") and post_id == "posts:abe", "the first of the posts carrying it"
    assert error


def test_database_is_not_held_while_models_run(tmp_path: Path) -> None:
    """While an encoder works, another process can open the workspace database for writing (lock is free)."""
    ws_path = image_workspace(tmp_path, 3)
    db_file = ws_path / "postlens.duckdb"
    opened: list[int] = []
    probed: set[str] = set()

    def progress(name: str, done: int, total: int) -> None:
        if 0 < done and name not in probed:
            probed.add(name)
            probe = subprocess.run([sys.executable, "-c", f"import duckdb; duckdb.connect({str(db_file)!r}).close()"],
                                   capture_output=True, text=True, timeout=120)
            opened.append(probe.returncode)
            assert probe.returncode == 0, probe.stderr

    summary = featurize(ws_path, encoders=["image-stats", "vader"], batch_size=1, progress=progress)
    assert opened == [0, 0]
    parts = {folder.name: len(list(folder.glob("part-*.parquet"))) for folder in (ws_path / "features").iterdir()}
    stats = next(run for run in summary.runs if run.encoder == "image-stats")
    folder = next(name for name in parts if name.startswith("image_stats@"))
    assert stats.computed == 3 and parts[folder] == 1, f"one part per batch, merged at the end: {parts}"


def test_workspace_object_from_a_notebook_works(tmp_path: Path) -> None:
    ws_path = _text_workspace(tmp_path)
    with Workspace(ws_path) as ws:
        summary = featurize(ws, encoders=["vader"])
        assert summary.computed == 4
        assert ws.db.execute("SELECT count(*) FROM text_fields").fetchone() == (4,)
    with Workspace(ws_path, read_only=True) as ro, pytest.raises(WorkspaceError, match="read-only"):
        featurize(ro, encoders=["vader"])


def test_missing_workspace_is_an_error_not_a_new_folder(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="no workspace"):
        featurize(tmp_path / "nope", encoders=["vader"])
    assert not (tmp_path / "nope").exists()
