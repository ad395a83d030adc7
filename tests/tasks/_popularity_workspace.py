"""A real workspace (DuckDB file + feature cache) of posts whose engagement follows planted rules.

log1p(shares) = 0.6 * log1p(followers) + 1.2 * text[0] + noise: followers explain part, the text
vector's first dimension the rest, so a model that reads text must beat followers alone. Posts are
one hour apart; the last ``fresh`` posts have no engagement yet (publish time). Every post also has
daily dated ``views`` snapshots growing with age, for the curve.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from postlens.encoders.base import Features
from postlens.encoders.identity import text_key
from postlens.store.features import FeatureCache
from postlens.store.workspace import Workspace

TEXT_KEY = "text-minilm-l6@popularitytest"
TAGS = ["news", "sport", "music", "tech", "cats", "food", "travel", "art"]
START = datetime(2024, 1, 1, tzinfo=UTC)


def base_config(**features: object) -> dict:
    """A popularity config reading the planted text vectors (no encoder runs in these tests)."""
    return {
        "target": {"metric": "shares"},
        "features": {"modalities": {"text": TEXT_KEY}, "sentiment": None, "embedding_components": 8, **features},
        "model": {"min_child_samples": 10},
    }


def build(root: Path, *, n: int = 500, fresh: int = 5, other_platform: int = 30, seed: int = 0) -> list[str]:
    """Write the workspace; returns the ids of the fresh posts (no engagement)."""
    rng = np.random.default_rng(seed)
    now = datetime.now(UTC)
    followers_of = {f"a{k}": int(math.exp(rng.uniform(3, 13))) for k in range(50)}
    vectors = rng.normal(size=(n, 8)).astype(np.float32)
    texts = [f"post {i} about things" for i in range(n)]
    fresh_ids = []
    ws = Workspace(root)
    try:
        for i in range(n):
            platform = "other" if i < other_platform else "twitter"
            author = f"a{rng.integers(0, 50)}"
            followers = None if platform == "other" else followers_of[author]
            created = START + timedelta(hours=i)
            tags = list(rng.choice(TAGS, size=int(rng.integers(0, 3)), replace=False))
            raw = {
                "user": {
                    "listed_count": int((followers or 0) ** 0.5),
                    "statuses_count": int(rng.integers(10, 10000)),
                    "friends_count": int(rng.integers(10, 5000)),
                    "favourites_count": 10,
                    "created_at": "Sat Oct 18 02:39:23 +0000 2008",
                },
                "in_reply_to_status_id_str": None,
            }
            post_id = f"t:{i:04d}"
            ws.db.execute(
                "INSERT INTO posts (id, source, native_id, platform, created_at, text, author_id, author_followers, "
                "author_verified, hashtags, mentions, urls, labels, media_kinds, raw, content_hash, run_id, first_seen, "
                "updated_at) VALUES (?, 't', ?, ?, ?, ?, ?, ?, false, ?, [], [], MAP(), [], ?, 'h', 'r', ?, ?)",
                [post_id, str(i), platform, created, texts[i], author, followers, tags, json.dumps(raw), now, now],
            )
            if i >= n - fresh:
                fresh_ids.append(post_id)
                continue
            log_followers = math.log1p(followers) if followers is not None else 6.0
            y = 0.6 * log_followers + 1.2 * float(vectors[i, 0]) + rng.normal(scale=0.4) + 1.0
            shares = int(round(math.expm1(max(y, 0.0))))
            views = math.exp(7 + 0.5 * float(vectors[i, 1]) + rng.normal(scale=0.3))
            for day in range(4):
                ws.db.execute(
                    "INSERT INTO engagement (post_id, observed_at, shares, views, run_id, observed_inferred) "
                    "VALUES (?, ?, ?, ?, 'r', false)",
                    [post_id, created + timedelta(days=day, hours=1), shares, int(views * (1 + 0.8 * day))],
                )
    finally:
        ws.close()
    FeatureCache(root / "features").write(TEXT_KEY, [text_key(t) for t in texts], [Features(vector=v) for v in vectors])
    return fresh_ids
