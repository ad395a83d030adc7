"""Synthesised images shared by the image tests (no files from the internet)."""

from __future__ import annotations

import math
import random
import struct
import zlib
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

REPO_ROOT = Path(__file__).resolve().parents[2]
MEDIAEVAL = REPO_ROOT.parent / "shared" / "datasets" / "mediaeval2016"


def huge_png_header(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims width x height but carries one tiny IDAT: a decompression bomb's header."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")
    )


def draw_clock(size: int = 400) -> Image.Image:
    image = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(image)
    centre, radius = size / 2, size * 0.4
    draw.ellipse(
        (centre - radius, centre - radius, centre + radius, centre + radius),
        outline="black",
        width=12,
        fill=(250, 250, 240),
    )
    font = ImageFont.load_default(size=36)
    for hour in range(1, 13):
        angle = math.radians(hour * 30 - 90)
        draw.text(
            (centre + 130 * math.cos(angle), centre + 130 * math.sin(angle)),
            str(hour),
            fill="black",
            font=font,
            anchor="mm",
        )
    for degrees, length, width in ((-30, 90, 10), (100, 120, 6)):
        angle = math.radians(degrees)
        draw.line(
            (centre, centre, centre + length * math.cos(angle), centre + length * math.sin(angle)),
            fill="black",
            width=width,
        )
    return image


def draw_crossword(cells: int = 15, cell: int = 30) -> Image.Image:
    rng = random.Random(1)
    image = Image.new("RGB", (cells * cell, cells * cell), "white")
    draw = ImageDraw.Draw(image)
    for i in range(cells):
        for j in range(cells):
            fill = "black" if rng.random() < 0.2 else "white"
            draw.rectangle((i * cell, j * cell, i * cell + cell, j * cell + cell), fill=fill, outline="black", width=1)
    return image


def draw_words(lines: list[str], size: tuple[int, int] = (700, 260)) -> Image.Image:
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=48)
    for row, text in enumerate(lines):
        draw.text((30, 30 + row * 100), text, fill="black", font=font)
    return image


def animated_gif(path: Path, frames: int = 12) -> Path:
    colours = [(255 * (i % 2), 20 * i % 256, 255 - 20 * i % 256) for i in range(frames)]
    images = [Image.new("RGB", (64, 48), colour) for colour in colours]
    images[0].save(path, save_all=True, append_images=images[1:], duration=80, loop=0)
    return path
