"""Repeated inputs: the same picture (or text) in many posts counts once, not once per repost.

On MediaEval 376 distinct images carry 13,416 posts (one image: 1,051 posts) and every image has a
single label, so a model trained per post learns "this picture = fake" a thousand times over. Keys
here are exact: identical vectors (the same file, the same text) share a key; near-duplicates
(re-saved copies) are grouped for splits by perceptual hash in ``evaluation.image_groups``.
"""

from __future__ import annotations

import hashlib

import numpy as np

from postlens.errors import ConfigError
from postlens.models.inputs import PostData

WEIGHTINGS = ("none", "sqrt", "inverse")
_POWER = {"none": 0.0, "sqrt": 0.5, "inverse": 1.0}


def vector_keys(matrix: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """A key per row: the digest of its vector where present, "" where absent."""
    out = np.full(len(matrix), "", dtype=object)
    for row in np.flatnonzero(mask):
        out[row] = hashlib.blake2b(np.ascontiguousarray(matrix[row], np.float32).tobytes(), digest_size=12).hexdigest()
    return out


def duplicate_weights(keys: np.ndarray, weighting: str) -> np.ndarray:
    """1 / n^p per row (n = rows sharing its key; p = 0, 1/2, 1 for none, sqrt, inverse), rows
    without a key weigh 1; scaled to mean 1 so learning rates and regularisation keep their meaning."""
    return _mean_one(_raw_weights(keys, weighting))


def media_keys(data: PostData) -> dict[str, np.ndarray]:
    """``vector_keys`` of every modality that comes from media files (not text): where reposts repeat."""
    return {m: vector_keys(data.modalities[m], data.masks[m]) for m in sorted(data.modalities) if m != "text"}


def post_weights(data: PostData, weighting: str) -> np.ndarray:
    """Per post: the smallest raw weight over its media modalities (under "inverse", a picture
    reposted a thousand times gives each of its posts 1/1000), then scaled to mean 1."""
    weights = np.ones(len(data))
    for keys in media_keys(data).values():
        weights = np.minimum(weights, _raw_weights(keys, weighting))
    return _mean_one(weights)


def _raw_weights(keys: np.ndarray, weighting: str) -> np.ndarray:
    if weighting not in _POWER:
        raise ConfigError(f"unknown duplicate_weighting {weighting!r}; known: {', '.join(WEIGHTINGS)}")
    weights = np.ones(len(keys))
    present = np.array([k != "" for k in keys], bool)
    if _POWER[weighting] and present.any():
        _, inverse, counts = np.unique(keys[present].astype(str), return_inverse=True, return_counts=True)
        weights[present] = 1.0 / counts[inverse] ** _POWER[weighting]
    return weights


def _mean_one(weights: np.ndarray) -> np.ndarray:
    return weights * len(weights) / max(float(weights.sum()), 1e-12)
