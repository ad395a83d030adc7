"""Render meme-like, text-heavy images with Pillow (no download): the OCR benchmark's fixed sample.

Four kinds, cycled: classic memes (outlined capitals top and bottom over a photo-like background),
caption-band memes (black text on a white band above a photo), screenshots of posts (many lines of
small text, light or dark mode) and quote posters (large centred text on a flat colour). Fonts,
sizes, line counts, image sizes and backgrounds vary; the same ``seed`` gives the same images.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT_FILES = (
    "DejaVuSans-Bold.ttf",
    "DejaVuSans.ttf",
    "DejaVuSerif.ttf",
    "DejaVuSansCondensed-Bold.ttf",
    "DejaVuSansMono.ttf",
    "DejaVuSerif-Bold.ttf",
)
WORDS = [
    "when",
    "you",
    "realise",
    "the",
    "weekend",
    "is",
    "over",
    "and",
    "monday",
    "starts",
    "again",
    "nobody",
    "told",
    "me",
    "this",
    "would",
    "happen",
    "me",
    "trying",
    "to",
    "explain",
    "why",
    "the",
    "pizza",
    "arrived",
    "cold",
    "my",
    "cat",
    "after",
    "hearing",
    "the",
    "can",
    "opener",
    "from",
    "three",
    "rooms",
    "away",
    "breaking",
    "news",
    "local",
    "man",
    "finally",
    "finds",
    "his",
    "keys",
    "they",
    "were",
    "in",
    "his",
    "hand",
    "the",
    "whole",
    "time",
    "government",
    "confirms",
    "water",
    "is",
    "wet",
    "scientists",
    "shocked",
    "this",
    "photo",
    "was",
    "taken",
    "seconds",
    "before",
    "disaster",
    "share",
    "if",
    "you",
    "agree",
    "tag",
    "a",
    "friend",
    "who",
    "needs",
    "to",
    "see",
    "this",
    "the",
    "internet",
    "never",
    "forgets",
    "official",
    "statement",
    "about",
    "the",
    "storm",
    "stay",
    "indoors",
    "roads",
    "closed",
    "until",
    "further",
    "notice",
    "fake",
    "or",
    "real",
    "you",
    "decide",
    "before",
    "you",
    "retweet",
    "check",
    "the",
    "source",
    "first",
    "teachers",
    "hate",
    "him",
    "one",
    "weird",
    "trick",
    "to",
    "pass",
    "every",
    "exam",
    "without",
    "studying",
    "at",
    "all",
    "when",
    "the",
    "wifi",
    "drops",
    "during",
    "an",
    "online",
    "meeting",
    "and",
    "everyone",
    "stares",
    "at",
    "your",
    "frozen",
    "face",
    "this",
    "is",
    "fine",
    "everything",
    "is",
    "fine",
    "coffee",
    "first",
    "then",
    "we",
    "talk",
    "about",
    "feelings",
    "expectation",
    "versus",
    "reality",
    "my",
    "plans",
    "for",
    "the",
    "holiday",
    "versus",
    "what",
    "actually",
    "happened",
]


def font(name: str, size: int) -> ImageFont.FreeTypeFont:
    path = FONT_DIR / name
    if path.exists():
        return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size=size)  # Pillow's bundled font when DejaVu is absent


def sentence(rng: np.random.Generator, words: int) -> str:
    start = int(rng.integers(0, len(WORDS) - words))
    return " ".join(WORDS[start : start + words])


def photo_background(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """Smooth colour field + blurred blobs + sensor noise: busy like a photo, no real text."""
    small = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
    base = Image.fromarray(small).resize((width, height), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(base)
    for _ in range(int(rng.integers(4, 12))):
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        r = int(rng.integers(width // 20, width // 4))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=tuple(int(c) for c in rng.integers(0, 256, 3)))
    base = base.filter(ImageFilter.GaussianBlur(radius=max(2, width // 60)))
    noise = rng.normal(0, 10, (height, width, 3))
    return Image.fromarray(np.clip(np.asarray(base, dtype=np.float32) + noise, 0, 255).astype(np.uint8))


def wrap(text: str, face: ImageFont.FreeTypeFont, max_width: int) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and face.getlength(f"{lines[-1]} {word}") <= max_width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


def draw_centred(
    draw: ImageDraw.ImageDraw,
    lines: list[str],
    face: ImageFont.FreeTypeFont,
    width: int,
    top: int,
    fill: str | tuple[int, ...],
    stroke: int = 0,
    stroke_fill: str = "black",
) -> int:
    step = int(face.size * 1.2)
    for row, line in enumerate(lines):
        x = (width - face.getlength(line)) / 2
        draw.text((x, top + row * step), line, font=face, fill=fill, stroke_width=stroke, stroke_fill=stroke_fill)
    return top + len(lines) * step


def classic_meme(rng: np.random.Generator) -> Image.Image:
    width = int(rng.choice([500, 600, 720, 800, 1000]))
    height = int(width * rng.uniform(0.75, 1.25))
    image = photo_background(rng, width, height)
    draw = ImageDraw.Draw(image)
    bold = str(rng.choice(["DejaVuSans-Bold.ttf", "DejaVuSansCondensed-Bold.ttf"]))
    face = font(bold, int(width * rng.uniform(0.06, 0.09)))
    top = wrap(sentence(rng, int(rng.integers(3, 9))).upper(), face, int(width * 0.92))
    bottom = wrap(sentence(rng, int(rng.integers(3, 9))).upper(), face, int(width * 0.92))
    stroke = max(2, face.size // 12)
    draw_centred(draw, top, face, width, int(height * 0.03), "white", stroke)
    step = int(face.size * 1.2)
    draw_centred(draw, bottom, face, width, height - int(height * 0.04) - len(bottom) * step, "white", stroke)
    return image


def caption_band(rng: np.random.Generator) -> Image.Image:
    width = int(rng.choice([600, 800, 1080]))
    face = font(str(rng.choice(FONT_FILES[:4])), int(width * rng.uniform(0.04, 0.06)))
    lines = wrap(sentence(rng, int(rng.integers(8, 20))), face, int(width * 0.9))
    band = int(len(lines) * face.size * 1.2 + face.size)
    photo_height = int(width * rng.uniform(0.6, 1.0))
    image = Image.new("RGB", (width, band + photo_height), "white")
    image.paste(photo_background(rng, width, photo_height), (0, band))
    draw_centred(ImageDraw.Draw(image), lines, face, width, face.size // 2, "black")
    return image


def screenshot(rng: np.random.Generator) -> Image.Image:
    width = int(rng.choice([720, 900, 1080]))
    dark = bool(rng.random() < 0.35)
    background, ink = ((21, 32, 43), (231, 233, 234)) if dark else ((255, 255, 255), (15, 20, 25))
    face = font(str(rng.choice(FONT_FILES)), int(rng.integers(22, 36)))
    handle = font("DejaVuSans-Bold.ttf", face.size)
    paragraphs = [sentence(rng, int(rng.integers(6, 18))) for _ in range(int(rng.integers(1, 4)))]
    lines = [line for p in paragraphs for line in [*wrap(p, face, int(width * 0.88)), ""]]
    height = int((len(lines) + 4) * face.size * 1.35 + 40)
    image = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(image)
    margin, step = int(width * 0.06), int(face.size * 1.35)
    draw.ellipse((margin, 20, margin + 2 * face.size, 20 + 2 * face.size), fill=(29, 155, 240))
    account = f"Daily News @daily{int(rng.integers(10, 99))}"
    draw.text((margin + int(2.5 * face.size), 20), account, font=handle, fill=ink)
    y = 20 + 3 * face.size
    for line in lines:
        draw.text((margin, y), line, font=face, fill=ink)
        y += step
    footer = f"{int(rng.integers(1, 12))}:{int(rng.integers(10, 59))} PM  {int(rng.integers(2, 99))}K Likes"
    draw.text((margin, y), footer, font=font("DejaVuSans.ttf", int(face.size * 0.8)), fill=(110, 118, 125))
    return image


def quote_poster(rng: np.random.Generator) -> Image.Image:
    width = int(rng.choice([600, 800, 1000]))
    image = Image.new("RGB", (width, width), tuple(int(c) for c in rng.integers(0, 160, 3)))
    serif_or_bold = str(rng.choice(["DejaVuSerif-Bold.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf"]))
    face = font(serif_or_bold, int(width * rng.uniform(0.05, 0.08)))
    lines = wrap(sentence(rng, int(rng.integers(6, 16))), face, int(width * 0.85))
    top = (width - int(len(lines) * face.size * 1.2)) // 2
    draw_centred(ImageDraw.Draw(image), lines, face, width, top, (255, 255, 240))
    return image


KINDS: dict[str, Callable[[np.random.Generator], Image.Image]] = {
    "classic": classic_meme,
    "caption": caption_band,
    "screenshot": screenshot,
    "poster": quote_poster,
}


def render_memes(folder: Path, count: int, seed: int = 0) -> list[Path]:
    """``count`` JPEGs (quality 80-92, as re-shared images are) cycling through KINDS; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    kinds = list(KINDS.items())
    for index in range(count):
        kind, render = kinds[index % len(kinds)]
        path = folder / f"meme_{index:03d}_{kind}.jpg"
        render(rng).save(path, quality=int(rng.integers(80, 93)))
        paths.append(path)
    return paths


def edit_distance(reference: str, hypothesis: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions), O(len * len) memory-light."""
    previous = list(range(len(hypothesis) + 1))
    for i, ref_char in enumerate(reference, 1):
        current = [i] + [0] * len(hypothesis)
        for j, hyp_char in enumerate(hypothesis, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref_char != hyp_char))
        previous = current
    return previous[-1]


def character_error_rate(references: list[str], hypotheses: list[str]) -> tuple[float, int, int]:
    """(errors / reference characters, errors, reference characters) over a whole sample."""
    errors = sum(edit_distance(r, h) for r, h in zip(references, hypotheses))
    chars = sum(len(r) for r in references)
    return errors / max(1, chars), errors, chars
