"""Image encoders: EfficientNet-Lite0 embedding + labels, OCR text, cheap statistics and hashes.

Imports are lazy (PEP 562) so that ``import postlens.encoders.image`` loads no model and no torch.
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "EfficientNetEncoder": "postlens.encoders.image.efficientnet",
    "load_efficientnet_lite0": "postlens.encoders.image.efficientnet",
    "OCREncoder": "postlens.encoders.image.ocr",
    "ImageStatsEncoder": "postlens.encoders.image.stats",
    "imagenet_class_names": "postlens.encoders.image.labels",
    "top_labels": "postlens.encoders.image.labels",
    "perceptual_hash": "postlens.encoders.image.phash",
    "hash_distance": "postlens.encoders.image.phash",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_EXPORTS[name]), name)
