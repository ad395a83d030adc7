"""Fixtures for the training-stage tests: synthetic multimodal posts (fast, no models)."""

from __future__ import annotations

from datetime import UTC

import numpy as np
import pytest

from postlens.models.inputs import PostData


def make_posts(
    n: int = 400, *, n_classes: int = 3, seed: int = 0, imbalance: float | None = None, missing_image: float = 0.3
) -> tuple[PostData, np.ndarray]:
    rng = np.random.default_rng(seed)
    if imbalance is None:
        y = rng.integers(0, n_classes, n)
    else:  # class 0 frequent, the last class rare
        probs = np.array([imbalance**i for i in range(n_classes)], float)
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
        meta=meta,
        meta_names=["noise", "weak_signal"],
        ids=[f"p{i}" for i in range(n)],
    )
    return data, y


@pytest.fixture
def posts():
    """``posts(n=..., imbalance=...)`` -> (PostData, y)."""
    return make_posts


TEXT_KEY = "text-minilm-l6@test"


def write_label_workspace(root, posts: list[dict]) -> str:
    """A real workspace (DuckDB + feature cache) of text-only posts; returns the text cache key.

    Each post: ``labels`` (dict), ``vector`` (its text embedding), optional ``created_at`` and ``author``.
    """
    from datetime import datetime

    from postlens.encoders.base import Features
    from postlens.pipeline.featurize import text_key
    from postlens.store.features import FeatureCache
    from postlens.store.workspace import Workspace

    now = datetime.now(UTC)
    ws = Workspace(root)
    texts = [f"post number {i}" for i in range(len(posts))]
    for i, post in enumerate(posts):
        keys, values = list(post["labels"]), [str(v) for v in post["labels"].values()]
        ws.db.execute(
            "INSERT INTO posts (id, source, native_id, platform, created_at, text, author_id, author_followers, "
            "hashtags, labels, media_kinds, content_hash, run_id, first_seen, updated_at) "
            "VALUES (?, 's', ?, 'x', ?, ?, ?, 100, [], MAP(?::VARCHAR[], ?::VARCHAR[]), [], 'h', 'r', ?, ?)",
            [
                f"s:{i:04d}",
                str(i),
                post.get("created_at"),
                texts[i],
                post.get("author", f"a{i % 40}"),
                keys,
                values,
                now,
                now,
            ],
        )
    FeatureCache(ws.features_dir).write(
        TEXT_KEY, [text_key(t) for t in texts], [Features(vector=np.asarray(p["vector"], np.float32)) for p in posts]
    )
    ws.close()
    return TEXT_KEY


@pytest.fixture
def label_workspace():
    """``label_workspace(root, posts)`` -> the text cache key of a real workspace (see write_label_workspace)."""
    return write_label_workspace
