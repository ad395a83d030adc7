"""Fixtures for the training-stage tests: synthetic multimodal posts (fast, no models)."""

from __future__ import annotations

import numpy as np
import pytest

from postlens.models.inputs import PostData


def make_posts(n: int = 400, *, n_classes: int = 3, seed: int = 0, imbalance: float | None = None,
               missing_image: float = 0.3) -> tuple[PostData, np.ndarray]:
    rng = np.random.default_rng(seed)
    if imbalance is None:
        y = rng.integers(0, n_classes, n)
    else:  # class 0 frequent, the last class rare
        probs = np.array([imbalance ** i for i in range(n_classes)], float)
        y = rng.choice(n_classes, size=n, p=probs / probs.sum())
    centres_text = rng.normal(size=(n_classes, 16)) * 1.5
    centres_image = rng.normal(size=(n_classes, 24)) * 1.5
    text = (centres_text[y] + rng.normal(size=(n, 16))).astype(np.float32)
    image = (centres_image[y] + rng.normal(size=(n, 24))).astype(np.float32)
    image_mask = rng.random(n) >= missing_image
    image[~image_mask] = 0
    meta = np.column_stack([rng.normal(size=n), y + rng.normal(scale=2.0, size=n)]).astype(np.float32)
    data = PostData(
        modalities={"text": text, "image": image},
        masks={"text": np.ones(n, bool), "image": image_mask},
        meta=meta, meta_names=["noise", "weak_signal"], ids=[f"p{i}" for i in range(n)],
    )
    return data, y


@pytest.fixture
def posts():
    """``posts(n=..., imbalance=...)`` -> (PostData, y)."""
    return make_posts
