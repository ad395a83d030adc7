"""A small workspace of posts written through the store's own writer (IngestSession)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from PIL import Image

from postlens.store.ingest import IngestSession
from postlens.store.workspace import Workspace
from postlens.types import MediaPart, Modality, Post

WHEN = datetime(2024, 5, 1, 8, tzinfo=UTC)


def make_workspace(root: Path) -> Path:
    files = root / "files"
    files.mkdir(parents=True)
    Image.new("RGB", (8, 8), "blue").save(files / "pic.png")
    posts = [
        Post(
            "s",
            "1",
            "mastodon",
            WHEN,
            "River flooding downtown #flood",
            hashtags=["flood"],
            media=[MediaPart(kind=Modality.IMAGE, source_path="pic.png", root=str(files))],
            labels={"split": "train"},
        ),
        Post("s", "2", "mastodon", WHEN, "Wildfire smoke and high water on the coast", labels={"split": "train"}),
        Post(
            "s",
            "3",
            "bluesky",
            WHEN,
            "Lovely calm day",
            labels={"split": "test"},
            media=[MediaPart(kind=Modality.VIDEO, url="https://cdn.example.org/v.mp4")],
        ),
        Post("s", "4", "bluesky", WHEN, "Water levels rising #FLOOD", hashtags=["FLOOD"], labels={"split": "test"}),
    ]
    for post in posts:
        post.origin_file = "fixture"
    ws_path = root / "ws"
    with Workspace(ws_path) as ws, IngestSession(ws, "fixture", ["fixture"]) as session:
        session.commit(posts, "fixture")
    return ws_path


def labels_of(ws_path: Path) -> dict[str, dict[str, str]]:
    with Workspace(ws_path, read_only=True) as ws:
        rows = ws.db.execute("SELECT id, map_keys(labels), map_values(labels) FROM posts ORDER BY id").fetchall()
    return {post_id: dict(zip(keys, values)) for post_id, keys, values in rows}


def quarantine_of(ws_path: Path) -> list[tuple[str, int, str]]:
    with Workspace(ws_path, read_only=True) as ws:
        return ws.db.execute("SELECT code, line, post_id FROM quarantine ORDER BY line").fetchall()
