"""Pillow scenes for the demo topics: a per-topic look (colours + motif) and an OCR-readable caption.

Each topic has a distinct palette and shape motif, so colour histograms or any image encoder
can tell topics apart. ``phase`` (0..1) moves the motif so video and GIF frames animate.
Captions are dark text on a light band in Pillow's bundled FreeType font (offline, Pillow >= 10.1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from postlens.demo.topics import RGB, Topic

CAPTION_BAND_RGB: RGB = (245, 245, 238)
CAPTION_TEXT_RGB: RGB = (20, 20, 24)
CAPTION_BAND_FRACTION = 0.26


@dataclass(frozen=True, slots=True)
class SceneStyle:
    """The random but fixed choices for one piece of media (so all its frames agree)."""

    background: RGB
    accent: RGB
    secondary: RGB
    anchor_x: float
    anchor_y: float
    scale: float
    seed: int


@dataclass(frozen=True, slots=True)
class CaptionBox:
    """Where the caption band is, in pixels: recorded in truth so tests can check contrast."""

    top: int
    bottom: int
    text: str
    font_size: int


def make_style(rng: np.random.Generator, topic: Topic) -> SceneStyle:
    def jitter(colour: RGB) -> RGB:
        shift = rng.integers(-18, 19, size=3)
        return tuple(int(np.clip(c + s, 0, 255)) for c, s in zip(colour, shift))  # type: ignore[return-value]

    return SceneStyle(
        background=jitter(topic.background),
        accent=jitter(topic.accent),
        secondary=jitter(topic.secondary),
        anchor_x=float(rng.uniform(0.25, 0.75)),
        anchor_y=float(rng.uniform(0.3, 0.6)),
        scale=float(rng.uniform(0.8, 1.2)),
        seed=int(rng.integers(0, 2**31 - 1)),
    )


@lru_cache(maxsize=64)
def caption_font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's bundled font at ``size`` px; cached because loading it costs more than drawing."""
    return ImageFont.load_default(size=size)


def _field(draw: ImageDraw.ImageDraw, w: int, h: int, s: SceneStyle, phase: float) -> None:
    stripes = 8
    for i in range(0, stripes, 2):
        draw.rectangle([i * w // stripes, 0, (i + 1) * w // stripes, h], fill=s.secondary)
    line = max(2, w // 100)
    draw.line([w // 2, 0, w // 2, h], fill=s.accent, width=line)
    r = int(min(w, h) * 0.18 * s.scale)
    draw.ellipse([w // 2 - r, h // 2 - r, w // 2 + r, h // 2 + r], outline=s.accent, width=line)
    bx = int(w * (0.15 + 0.7 * ((s.anchor_x + phase) % 1.0)))
    by = int(h * s.anchor_y + math.sin(phase * 2 * math.pi) * h * 0.1)
    br = max(4, int(min(w, h) * 0.06 * s.scale))
    draw.ellipse([bx - br, by - br, bx + br, by + br], fill=(255, 255, 255), outline=(0, 0, 0))


def _plate(draw: ImageDraw.ImageDraw, w: int, h: int, s: SceneStyle, phase: float) -> None:
    cx, cy = int(w * s.anchor_x), int(h * s.anchor_y)
    r = int(min(w, h) * 0.3 * s.scale)
    draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=s.accent, outline=(120, 90, 60), width=3)
    rng = np.random.default_rng(s.seed)
    for _ in range(5):
        angle = rng.uniform(0, 2 * math.pi) + phase * math.pi
        dist = rng.uniform(0, r * 0.55)
        px, py = cx + dist * math.cos(angle), cy + dist * math.sin(angle)
        pr = rng.uniform(r * 0.12, r * 0.25)
        draw.ellipse([px - pr, py - pr * 0.7, px + pr, py + pr * 0.7], fill=s.secondary)
    draw.rectangle([cx + r + 6, cy - r, cx + r + 12, cy + r], fill=(200, 200, 205))


def _mountains(draw: ImageDraw.ImageDraw, w: int, h: int, s: SceneStyle, phase: float) -> None:
    sun_x = int(w * ((s.anchor_x + 0.3 * phase) % 1.0))
    sr = int(min(w, h) * 0.1 * s.scale)
    draw.ellipse([sun_x - sr, int(h * 0.2) - sr, sun_x + sr, int(h * 0.2) + sr], fill=s.accent)
    peaks = [(0.0, 0.45), (0.3, 0.25), (0.55, 0.4), (0.8, 0.2), (1.0, 0.5)]
    for (x0, _), (x1, y1), (x2, _) in zip(peaks, peaks[1:], peaks[2:]):
        top = (int(w * x1), int(h * y1 * s.scale))
        draw.polygon([(int(w * x0), h), top, (int(w * x2), h)], fill=s.secondary)
        cap = max(6, int(h * 0.06))
        draw.polygon([top, (top[0] - cap, top[1] + cap), (top[0] + cap, top[1] + cap)], fill=(250, 250, 250))


def _circuit(draw: ImageDraw.ImageDraw, w: int, h: int, s: SceneStyle, phase: float) -> None:
    step = max(12, int(min(w, h) / 8))
    for x in range(0, w, step):
        draw.line([x, 0, x, h], fill=s.secondary, width=1)
    for y in range(0, h, step):
        draw.line([0, y, w, y], fill=s.secondary, width=1)
    cx, cy = int(w * s.anchor_x), int(h * s.anchor_y)
    half = int(min(w, h) * 0.16 * s.scale)
    draw.rectangle([cx - half, cy - half, cx + half, cy + half], fill=(15, 15, 25), outline=s.accent, width=2)
    rng = np.random.default_rng(s.seed)
    for i in range(6):
        tx, ty = int(rng.integers(0, w)), int(rng.integers(0, h))
        draw.line([cx, cy, tx, cy, tx, ty], fill=s.accent, width=2)
        if (i + int(phase * 6)) % 2 == 0:
            draw.ellipse([tx - 4, ty - 4, tx + 4, ty + 4], fill=s.accent)


def _podium(draw: ImageDraw.ImageDraw, w: int, h: int, s: SceneStyle, phase: float) -> None:
    band = max(6, h // 12)
    offset = int(phase * 2 * band)  # the flag stripes scroll, so every animation frame differs
    for i, y in enumerate(range(-2 * band + offset, h // 2 - band // 2, band)):
        draw.rectangle([0, y, w, y + band // 2], fill=s.accent if i % 2 == 0 else s.secondary)
    cx = int(w * s.anchor_x)
    pw = int(w * 0.22 * s.scale)
    top = int(h * 0.45)
    draw.polygon([(cx - pw, h), (cx - int(pw * 0.7), top), (cx + int(pw * 0.7), top), (cx + pw, h)], fill=(90, 60, 40))
    mic_y = top - int(h * 0.12 * (1 + 0.2 * math.sin(phase * 2 * math.pi)))
    draw.line([cx, top, cx, mic_y], fill=(40, 40, 40), width=3)
    draw.ellipse([cx - 6, mic_y - 8, cx + 6, mic_y + 4], fill=(30, 30, 30))


def _equalizer(draw: ImageDraw.ImageDraw, w: int, h: int, s: SceneStyle, phase: float) -> None:
    rng = np.random.default_rng(s.seed)
    bars = 10
    heights = rng.uniform(0.45, 1.0, bars)
    bw = w / (bars * 1.5)
    for i, base in enumerate(heights):
        level = base * (0.6 + 0.4 * abs(math.sin(phase * 2 * math.pi + i)))
        x0 = int(w * 0.08 + i * bw * 1.5)
        draw.rectangle(
            [x0, int(h * (1 - level * s.scale * 0.8)), int(x0 + bw), h], fill=s.accent if i % 2 == 0 else s.secondary
        )
    nx, ny = int(w * s.anchor_x), int(h * 0.25)
    draw.ellipse([nx - 10, ny, nx + 6, ny + 12], fill=(255, 255, 255))
    draw.line([nx + 5, ny + 6, nx + 5, ny - 24], fill=(255, 255, 255), width=3)


_MOTIFS = {
    "field": _field,
    "plate": _plate,
    "mountains": _mountains,
    "circuit": _circuit,
    "podium": _podium,
    "equalizer": _equalizer,
}


def render_scene(topic: Topic, style: SceneStyle, size: tuple[int, int], phase: float = 0.0) -> Image.Image:
    """The topic's picture (no caption) at ``size`` = (width, height)."""
    width, height = size
    image = Image.new("RGB", size, style.background)
    _MOTIFS[topic.motif](ImageDraw.Draw(image), width, height, style, phase)
    return image


def fit_font_size(text: str, width: int, band_height: int) -> int:
    """Largest font size (<= 70% of the band) whose rendering of ``text`` fits 90% of the width."""
    size = max(10, int(band_height * 0.7))
    while size > 10 and caption_font(size).getlength(text) > width * 0.9:
        size -= 2
    return size


@lru_cache(maxsize=512)
def caption_band(text: str, width: int, band: int) -> tuple[Image.Image, int]:
    """The rendered band for ``text`` (and its font size); cached because video and GIF frames
    and many images repeat the same caption, and text rendering dominates a small frame's cost."""
    image = Image.new("RGB", (width, band), CAPTION_BAND_RGB)
    size = fit_font_size(text, width, band)
    ImageDraw.Draw(image).text((width / 2, band / 2), text, font=caption_font(size), fill=CAPTION_TEXT_RGB, anchor="mm")
    return image, size


def draw_caption(image: Image.Image, text: str, *, at_top: bool = False) -> CaptionBox:
    """Put ``text`` centred on a light band across the image (in place) and say where it went."""
    width, height = image.size
    band = max(18, int(height * CAPTION_BAND_FRACTION))
    top = 0 if at_top else height - band
    rendered, size = caption_band(text, width, band)
    image.paste(rendered, (0, top))
    return CaptionBox(top=top, bottom=top + band, text=text, font_size=size)
