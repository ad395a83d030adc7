"""Cheap, model-free image facts: size, shape, brightness, colourfulness and perceptual hashes.

They cost ~milliseconds per image, explain themselves in a dashboard ("dark, colourless, square")
and feed near-duplicate search (phash). ``has_text`` is left to the OCR encoder.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from postlens.encoders.base import Features, settings_version
from postlens.encoders.image.phash import difference_hash, perceptual_hash
from postlens.errors import MediaError
from postlens.media.image import DEFAULT_MAX_PIXELS, load_image, shrink_longest_side
from postlens.types import Modality

STATS_FIELDS = (
    "brightness",  # mean luma, 0..1
    "contrast",  # luma standard deviation, 0..~0.5
    "colourfulness",  # Hasler-Suesstrunk M, divided by 100 (0 grey .. ~1.1 very colourful)
    "saturation",  # mean HSV saturation, 0..1
    "log_aspect",  # ln(width/height): 0 square, >0 landscape
    "log_megapixels",  # log10 of the original pixel count / 1e6
    "animated",  # 1.0 for GIF/APNG with more than one frame
)


def colourfulness(rgb: np.ndarray) -> float:
    """Hasler & Suesstrunk (2003) colourfulness M on an (h, w, 3) uint8 array."""
    pixels = rgb.reshape(-1, 3).astype(np.float32)
    red, green, blue = pixels[:, 0], pixels[:, 1], pixels[:, 2]
    rg = red - green
    yb = 0.5 * (red + green) - blue
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def image_stats(image: Image.Image, *, width: int, height: int, frame_count: int = 1) -> dict[str, float]:
    """The STATS_FIELDS of one RGB image (computed on a <=256 px thumbnail: the figures barely move)."""
    small = shrink_longest_side(image, 256)
    rgb = np.asarray(small)
    luma = np.asarray(small.convert("L"), dtype=np.float32) / 255.0
    saturation = np.asarray(small.convert("HSV"), dtype=np.float32)[..., 1] / 255.0
    return {
        "brightness": float(luma.mean()),
        "contrast": float(luma.std()),
        "colourfulness": colourfulness(rgb) / 100.0,
        "saturation": float(saturation.mean()),
        "log_aspect": math.log(width / height),
        "log_megapixels": math.log10(max(1, width * height) / 1e6),
        "animated": 1.0 if frame_count > 1 else 0.0,
    }


class ImageStatsEncoder:
    """Image -> small vector (STATS_FIELDS order) + ``info`` with the same figures, size and hashes."""

    name = "image_stats"
    revision = "1"  # bump when the code changes the figures; settings change the version by themselves
    modality = Modality.IMAGE
    dim = len(STATS_FIELDS)

    def __init__(self, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> None:
        self.max_pixels = max_pixels

    @property
    def version(self) -> str:
        return settings_version(self.revision, {"max_pixels": self.max_pixels})

    def encode(self, items: Sequence[str | Path]) -> list[Features]:
        return [self._encode_one(item) for item in items]

    def _encode_one(self, item: str | Path) -> Features:
        try:
            decoded = load_image(item, max_pixels=self.max_pixels, max_frames=1, min_side=256)
        except MediaError as exc:
            return Features.failed(exc.code, str(exc))
        stats = image_stats(decoded.image, width=decoded.width, height=decoded.height, frame_count=decoded.frame_count)
        vector = np.array([stats[name] for name in STATS_FIELDS], dtype=np.float32)
        info = {
            **{name: round(value, 5) for name, value in stats.items()},
            "width": decoded.width,
            "height": decoded.height,
            "aspect_ratio": round(decoded.width / decoded.height, 5),
            "format": decoded.format,
            "frame_count": decoded.frame_count,
            "phash": perceptual_hash(decoded.image),
            "dhash": difference_hash(decoded.image),
            "has_text": None,  # filled from OCREncoder's info["has_text"] by the pipeline
        }
        return Features(vector=vector, info=info)
