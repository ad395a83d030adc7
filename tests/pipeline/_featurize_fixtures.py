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
WORDS = [
    "harbour",
    "flood",
    "bridge",
    "market",
    "thunder",
    "garden",
    "station",
    "winter",
    "museum",
    "festival",
    "river",
    "castle",
    "summit",
    "parade",
    "candle",
    "orchard",
    "lantern",
    "meadow",
    "tunnel",
    "village",
]


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
    return {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]), "COLUMNS": "120"}


HOLD_OCR = '''
"""Test-only: after its first call, the OCR encoder waits while the gate file exists (the process keeps
working on nothing else), so a test can act while featurize is surely mid-run, however fast the machine."""
import importlib.abc
import importlib.util
import os
import sys
import time

GATE = os.environ.get("POSTLENS_TEST_OCR_GATE")
TARGET = "postlens.encoders.image.ocr"


def _hold(module):
    cls = module.OCREncoder
    original = cls.encode
    calls = [0]

    def encode(self, items):
        calls[0] += 1
        while calls[0] > 1 and os.path.exists(GATE):
            time.sleep(0.02)
        return original(self, items)

    cls.encode = encode


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != TARGET:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            _hold(module)

        spec.loader.exec_module = exec_module
        return spec


if GATE:
    sys.meta_path.insert(0, _Finder())
'''


def held_ocr_env(folder: Path) -> tuple[dict[str, str], Path]:
    """``child_env()`` whose OCR encoder (in the worker process too) holds after its first batch while the
    returned gate file exists: remove the gate to let it go on."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(HOLD_OCR)
    gate = folder / "gate"
    gate.write_text("featurize's OCR waits while this file exists")
    env = child_env()
    env["PYTHONPATH"] = os.pathsep.join([str(folder), env["PYTHONPATH"]])
    env["POSTLENS_TEST_OCR_GATE"] = str(gate)
    return env, gate
