"""The segments map: a 2-D PCA projection of a sample of the shared space (the agent's neighbour index), coloured
by topic. The server samples (at most ``limit`` points, default 5,000) so that a 50,000-post workspace draws
as fast as a small one, and caches the projection until the index changes."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from postlens.agent import Agent

DEFAULT_POINTS = 5000
MAX_POINTS = 50_000
TEXT_CHARS = 160
FIT_ROWS = 5000
MAPS_KEPT = 3
"""Maps cached at once (one per sample size asked for): switching the page's Points control back and forth
rebuilt the other size each time (0.3-0.6 s on MediaEval's 15,629 posts) while only the newest was kept."""


class SpaceMap:
    """Cached maps per (index size, limit), the ``MAPS_KEPT`` newest; rebuilt when the index has grown or changed."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self._lock = threading.Lock()
        self._cache: dict[tuple[Any, ...], dict[str, Any]] = {}

    def points(self, limit: int = DEFAULT_POINTS) -> dict[str, Any]:
        sample = self.agent.space_sample(limit)
        if sample is None:
            return {
                "segmentation": None,
                "points": [],
                "topics": [],
                "live": 0,
                "note": "no shared space yet: run 'postlens segments fit'",
            }
        ids = sample.meta.column("post_id").to_pylist()
        key = (sample.segmentation, sample.live, min(limit, sample.live), hash(tuple(ids)))
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        answer = _project(sample)
        with self._lock:
            for old in [k for k in self._cache if k[:2] != key[:2]]:  # another index: its maps are stale
                del self._cache[old]
            self._cache[key] = answer
            while len(self._cache) > MAPS_KEPT:
                del self._cache[next(iter(self._cache))]  # the oldest
        return answer


def _project(sample: Any) -> dict[str, Any]:
    meta = sample.meta
    has_vector = np.asarray(meta.column("has_vector").to_pylist(), bool)
    vectors = sample.vectors[has_vector]
    xy = pca_2d(vectors)
    keep = np.flatnonzero(has_vector)
    ids = meta.column("post_id").to_pylist()
    texts = meta.column("text").to_pylist()
    topics = meta.column("topic_id").to_pylist()
    kinds = meta.column("media_kinds").to_pylist()
    points = [
        {
            "id": ids[i],
            "x": round(float(x), 4),
            "y": round(float(y), 4),
            "topic": topics[i],
            "text": (texts[i] or "")[:TEXT_CHARS],
            "media": list(kinds[i] or []),
        }
        for i, (x, y) in zip(keep, xy)
    ]
    labels = [
        {"topic_id": tid, "label": row.label or row.name or f"topic {tid}", "words": list(row.words[:5])}
        for tid, row in sorted(sample.topics.items())
        if row.status == "active"
    ]
    return {
        "segmentation": sample.segmentation,
        "live": sample.live,
        "points": points,
        "topics": labels,
        "sampled": len(points) < sample.live,
    }


def pca_2d(vectors: np.ndarray) -> np.ndarray:
    """The first two principal components of the rows (deterministic signs); fewer than 2 rows: zeros."""
    if len(vectors) < 2:
        return np.zeros((len(vectors), 2), np.float32)
    centred = vectors - vectors.mean(axis=0, keepdims=True)
    # eigenvectors of the d x d covariance of at most FIT_ROWS rows (the rows come in random order), not an
    # SVD of every row: the axes barely move and a 50,000-point map stays well under a second of work
    fit = centred[:FIT_ROWS].astype(np.float64)
    _, eigenvectors = np.linalg.eigh(fit.T @ fit)
    axes = eigenvectors[:, ::-1][:, :2].T.astype(np.float32)
    signs = np.sign(axes[np.arange(len(axes)), np.abs(axes).argmax(axis=1)])
    axes = axes * np.where(signs == 0, 1, signs)[:, None]
    out = centred @ axes.T
    if out.shape[1] < 2:
        out = np.pad(out, ((0, 0), (0, 2 - out.shape[1])))
    return out.astype(np.float32)
