"""A workspace of generated posts with known copies: same id under two sources, one address spelled
two ways, retweeted / edited texts, a re-saved picture, and hostile records (empty, huge, link-only,
too short, a broken and a vanished image)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from postlens.store.ingest import IngestSession
from postlens.store.workspace import Workspace
from postlens.types import MediaPart, Modality, Post

START = datetime(2024, 5, 1, 8, tzinfo=UTC)
FLOOD = "Breaking: the river has flooded the old town square this morning, residents told to stay home"

EXPECTED = {  # cluster members (post ids) and the reason that links them
    "id": {"twitter:100", "archive:100"},
    "url": {"web:https://www.example.org/story/1?utm_source=feed", "mastodon:m1"},
    "links": {"s:link1", "s:link2"},
    "text": {"s:c1", "s:c2", "s:c3"},
    "image": {"s:d1", "s:d2"},
}
ALONE = {"s:d3", "s:e1", "s:e2", "s:short1", "s:short2", "s:empty", "s:huge", "s:broken", "s:gone"}


def picture(seed: int, size: int = 320) -> Image.Image:
    """A photo-like picture: smooth shapes on a gradient (perceptual hashes need structure)."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 255, size, dtype=np.float32)
    base = np.stack([np.add.outer(ramp, ramp) / 2, np.add.outer(ramp[::-1], ramp) / 2, np.full((size, size), 90.0)], -1)
    image = Image.fromarray(base.astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x, y = rng.integers(0, size - 60, 2)
        w, h = rng.integers(30, 120, 2)
        draw.ellipse([int(x), int(y), int(x + w), int(y + h)], fill=tuple(int(c) for c in rng.integers(0, 255, 3)))
    return image


def make_posts(files: Path) -> list[Post]:
    files.mkdir(parents=True, exist_ok=True)
    original = picture(1)
    original.save(files / "orig.png")
    original.resize((300, 300)).save(files / "copy.jpg", quality=70)  # re-saved, resized: a near copy
    picture(2).save(files / "other.png")
    picture(3).save(files / "broken.png")
    picture(4).save(files / "gone.png")

    def image(name: str) -> list[MediaPart]:
        return [MediaPart(kind=Modality.IMAGE, source_path=name, root=str(files))]

    def post(source: str, native: str, text: str, minutes: int, **extra: object) -> Post:
        made = Post(source, native, extra.pop("platform", "mastodon"), START + timedelta(minutes=minutes), text)  # type: ignore[arg-type]
        for key, value in extra.items():
            setattr(made, key, value)
        made.origin_file = "fixture"
        return made

    return [
        post("twitter", "100", "Tweet one hundred about the weather in the valley today", 0, platform="twitter"),
        post("archive", "100", "An archived copy whose text was cleaned differently", 1, platform="twitter"),
        post("web", "https://www.example.org/story/1?utm_source=feed", "A long article about the bridge repairs", 2),
        post(
            "mastodon",
            "m1",
            "Sharing the bridge repair story with my followers",
            3,
            raw={"url": "HTTP://example.org/story/1/#top"},
        ),
        post(
            "s",
            "link1",
            "https://news.example.com/a?utm_medium=social",
            4,
            urls=["https://news.example.com/a?utm_medium=social"],
        ),
        post("s", "link2", "http://NEWS.example.com/a/", 5, urls=["http://NEWS.example.com/a/"]),
        post("s", "c1", FLOOD, 6),
        post("s", "c2", f"RT @news: {FLOOD} http://t.co/abc123", 7),
        post("s", "c3", FLOOD.replace("residents", "people") + "!!", 8),
        post("s", "d1", "Look at this view from the hill", 9, media=image("orig.png")),
        post("s", "d2", "Sunset over the harbour, taken yesterday", 10, media=image("copy.jpg")),
        post("s", "d3", "Completely different subject: a cat on a chair", 11, media=image("other.png")),
        post("s", "e1", "Council meeting moved to Thursday evening at the library", 12),
        post("s", "e2", "New bakery opens on the corner of Elm street next week", 13),
        post("s", "short1", "lol", 14),
        post("s", "short2", "lol", 15),
        post("s", "empty", "", 16, media=[MediaPart(kind=Modality.IMAGE, url="not a url at all")]),
        post("s", "huge", "word " * 250_000, 17),
        post("s", "broken", "This post's picture will be damaged on disk", 18, media=image("broken.png")),
        post("s", "gone", "This post's picture will vanish from the workspace", 19, media=image("gone.png")),
    ]


def make_workspace(root: Path) -> Path:
    """The posts above, stored; then one stored image damaged and one deleted, as real disks do."""
    ws_path = root / "ws"
    with Workspace(ws_path) as ws, IngestSession(ws, "fixture", ["fixture"]) as session:
        session.commit(make_posts(root / "files"), "fixture")
        paths = dict(
            ws.db.execute("SELECT post_id, path FROM media WHERE post_id IN ('s:broken', 's:gone')").fetchall()
        )
    (ws_path / paths["s:broken"]).write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    (ws_path / paths["s:gone"]).unlink()
    return ws_path


def clusters_of(ws_path: Path) -> dict[str, set[str]]:
    """cluster id -> member post ids, from the table."""
    with Workspace(ws_path, read_only=True) as ws:
        rows = ws.db.execute("SELECT cluster_id, post_id FROM duplicate_clusters").fetchall()
    out: dict[str, set[str]] = {}
    for cluster, post_id in rows:
        out.setdefault(cluster, set()).add(post_id)
    return out
