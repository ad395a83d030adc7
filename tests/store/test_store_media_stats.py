"""Remote media (a URL, never fetched) are counted as such, not as the post's modality."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image
from typer.testing import CliRunner

from postlens.serve.cli import app
from postlens.store.ingest import ingest
from postlens.store.queries import workspace_stats
from postlens.store.workspace import Workspace
from postlens.types import MediaPart, Modality, Post


class _Posts:
    name = "list"

    def __init__(self, posts: list[Post]) -> None:
        self.posts = posts

    def iter_records(self, path: Path):
        yield from self.posts


def _post(native_id: str, text: str, parts: list[MediaPart]) -> Post:
    return Post(
        source="t",
        native_id=native_id,
        platform="test",
        created_at=None,
        text=text,
        media=parts,
        origin_line=int(native_id),
    )


def corpus(tmp_path: Path) -> list[Post]:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(out, "PNG")
    (tmp_path / "pic.png").write_bytes(out.getvalue())
    url = MediaPart(Modality.IMAGE, url="https://img.example/a.jpg")
    return [
        _post("1", "remote picture", [url]),
        _post("2", "another remote picture", [url, MediaPart(Modality.VIDEO, url="https://v.example/b.mp4")]),
        _post("3", "", [url]),
        _post("4", "attached picture", [MediaPart(Modality.IMAGE, source_path="pic.png", root=str(tmp_path))]),
        _post("5", "just words", []),
    ]


def test_remote_only_posts_are_not_image_posts(tmp_path: Path) -> None:
    with Workspace(tmp_path / "ws") as ws:
        ingest(ws, _Posts(corpus(tmp_path)), [tmp_path])
        kinds = dict(ws.db.execute("SELECT native_id, media_kinds FROM posts").fetchall())
        assert kinds == {"1": [], "2": [], "3": [], "4": ["image"], "5": []}
        stats = workspace_stats(ws.db)
    modality = dict(stats.by_modality)
    assert modality["image"] == 1 and "video" not in modality
    assert modality["text only"] == 3 and modality["no text, remote media only"] == 1
    assert stats.remote_by_kind == [("image", 3, 3), ("video", 1, 1)]
    result = CliRunner().invoke(app, ["stats", "-w", str(tmp_path / "ws")])
    assert result.exit_code == 0, result.output
    assert "remote, not fetched" in result.output
    remote_table = result.output.split("remote, not fetched", 1)[1].split("by month", 1)[0]
    rows = [line.replace("│", " ").split() for line in remote_table.splitlines()]
    assert ["image", "3", "3"] in rows and ["video", "1", "1"] in rows


def test_opening_a_schema_2_workspace_recounts_media_kinds(tmp_path: Path) -> None:
    """Workspaces written before counted URLs in ``media_kinds``; the schema 3 migration fixes those rows."""
    with Workspace(tmp_path / "ws") as ws:
        ingest(ws, _Posts(corpus(tmp_path)), [tmp_path])
        ws.db.execute("UPDATE posts SET media_kinds = ['image'] WHERE native_id IN ('1', '3')")
        ws.db.execute("UPDATE posts SET media_kinds = ['image', 'video'] WHERE native_id = '2'")
        ws.db.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    with Workspace(tmp_path / "ws") as ws:
        kinds = dict(ws.db.execute("SELECT native_id, media_kinds FROM posts").fetchall())
    assert kinds == {"1": [], "2": [], "3": [], "4": ["image"], "5": []}
