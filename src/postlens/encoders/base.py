"""The encoder contract: every modality's feature extractor looks the same to the pipeline.

An encoder is a callable-class in the Ray Data style: load the model once in ``__init__`` (lazily,
on first use, so that ``--help`` stays fast), then ``encode(batch)`` many times. It never raises
for one bad item: it returns a ``Features`` with ``error`` set and the batch goes on.
The feature cache (``store/features.py``) keys results by (content sha256, ``name@version``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from postlens.types import Modality


@dataclass(slots=True)
class Features:
    """What an encoder learnt about one item.

    vector    fixed-size float32 embedding, shape (dim,), or None for text-only encoders (OCR)
    sequence  per-step float32 features, shape (T, d): video frames, audio windows, for temporal models
    text      words the encoder read or heard (OCR, transcript); joins the post's text fields
    info      small JSON-able facts: labels, stats, timestamps, language
    error     "code: message" when this item failed; other fields are then empty
    """

    vector: np.ndarray | None = None
    sequence: np.ndarray | None = None
    text: str | None = None
    info: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @classmethod
    def failed(cls, code: str, message: str) -> "Features":
        return cls(error=f"{code}: {message}")


class Encoder(Protocol):
    """name@version identifies cached output; bump ``version`` whenever output would change."""

    name: str
    version: str
    modality: Modality
    dim: int

    def encode(self, items: Sequence[str | Path]) -> list[Features]:
        """Text encoders take strings; media encoders take file paths. One Features per item, in order."""
        ...


def cache_key(encoder: Encoder) -> str:
    return f"{encoder.name}@{encoder.version}"
