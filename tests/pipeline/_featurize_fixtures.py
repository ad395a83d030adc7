"""Small real workspaces for featurize tests: caption images OCR can read, imported from a JSONL file."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from postlens.pipeline import build_importer
from postlens.store.ingest import ingest
from postlens.store.workspace import Workspace

REPO_ROOT = Path(__file__).resolve().parents[2]
WORDS = ["harbour", "flood", "bridge", "market", "thunder", "garden", "station", "winter", "museum", "festival",
         "river", "castle", "summit", "parade", "candle", "orchard", "lantern", "meadow", "tunnel", "village"]


def caption_image(path: Path, text: str) -> Path:
    """A white picture with one dark word, large enough for OCR to read it."""
    image = Image.new("RGB", (640, 200), "white")
    ImageDraw.Draw(image).text((30, 60), text, fill="black", font=ImageFont.load_default(size=64))
    image.save(path)
    return path


def image_workspace(root: Path, n_images: int, *, texts: dict[str, str] | None = None) -> Path:
    """A workspace at ``root/ws`` with ``n_images`` posts, each with its own caption image.

    ``texts`` adds text-only posts (id -> text). Returns the workspace folder.
    """
    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(n_images):
        word = WORDS[i % len(WORDS)] + (str(i // len(WORDS)) if i >= len(WORDS) else "")
        caption_image(data / f"img{i:03d}.png", word)
        lines.append({"id": f"p{i:03d}", "text": f"post number {i} about the {word}", "image": f"img{i:03d}.png"})
    for post_id, text in (texts or {}).items():
        lines.append({"id": post_id, "text": text})
    posts = data / "posts.jsonl"
    posts.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    importer = build_importer("jsonl", mapping_pairs=["id=id", "text=text", "media=image"], media_root=data)
    with Workspace(root / "ws") as ws:
        summary = ingest(ws, importer, [posts])
    assert summary.posts_written == len(lines), summary
    return root / "ws"


def postlens_command(*args: str) -> list[str]:
    """``postlens ARGS`` run with this interpreter (the worktree's sources first on the path)."""
    return [sys.executable, "-c", "from postlens.serve.cli import main; main()", *args]


def child_env() -> dict[str, str]:
    src = str(REPO_ROOT / "src")
    return {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]),
            "COLUMNS": "120"}
