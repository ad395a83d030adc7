"""The image -> text-space bridge: shapes, persistence, and that the learned map really aligns."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from postlens.encoders.bridge import ImageTextBridge, normalise_rows, zero_shot_vectors


def _synthetic(n: int, seed: int = 0, noise: float = 0.5, text_dim: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Images (n, 96) and their texts (n, text_dim) linked by a hidden linear map plus noise."""
    rng = np.random.default_rng(seed)
    hidden = np.random.default_rng(99).normal(size=(96, text_dim))
    images = rng.normal(size=(n, 96))
    texts = normalise_rows(images @ hidden + noise * rng.normal(size=(n, text_dim)) * np.sqrt(96))
    return images, texts


def _retrieval_accuracy(projected: np.ndarray, texts: np.ndarray) -> float:
    """Share of images whose own text is the nearest of all texts."""
    return float(np.mean(np.argmax(projected @ normalise_rows(texts).T, axis=1) == np.arange(len(texts))))


FAKE_DIM = 512


def _fake_embedder(texts: list[str]) -> np.ndarray:
    """Deterministic bag-of-words vectors: texts sharing words are close."""
    out = np.zeros((len(texts), FAKE_DIM), dtype=np.float32)
    for row, text in enumerate(texts):
        for word in text.lower().split():
            out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % FAKE_DIM] += 1.0
    return out


def test_fit_transform_shapes_and_norms() -> None:
    images, texts = _synthetic(120)
    bridge = ImageTextBridge().fit(images, texts)
    projected = bridge.transform(images[:7])
    assert projected.shape == (7, 32)
    assert np.allclose(np.linalg.norm(projected, axis=1), 1.0, atol=1e-5)
    assert bridge.alpha_ in bridge.alphas


def test_learned_map_aligns_held_out_pairs() -> None:
    images, texts = _synthetic(400, seed=1)
    test_images, test_texts = _synthetic(100, seed=2)
    bridge = ImageTextBridge().fit(images, texts)
    learned = _retrieval_accuracy(bridge.transform(test_images), test_texts)
    random_map = normalise_rows(test_images @ np.random.default_rng(5).normal(size=(96, 32)))
    baseline = _retrieval_accuracy(random_map, test_texts)
    assert learned > 0.5  # chance is 0.01
    assert learned > baseline + 0.3
    assert bridge.loo_cosine_ is not None and bridge.loo_cosine_ > 0.5


def test_save_load_round_trip(tmp_path: Path) -> None:
    images, texts = _synthetic(80)
    zero_shot = normalise_rows(np.random.default_rng(3).normal(size=(80, 32)))
    bridge = ImageTextBridge().fit(images, texts, zero_shot)
    path = bridge.save(tmp_path / "bridge.npz")
    loaded = ImageTextBridge.load(path)
    assert loaded.alpha_ == bridge.alpha_ and loaded.weight_ == bridge.weight_
    np.testing.assert_allclose(loaded.transform(images, zero_shot), bridge.transform(images, zero_shot), atol=1e-6)


def test_duplicate_images_are_merged() -> None:
    images, texts = _synthetic(60)
    doubled = ImageTextBridge().fit(np.vstack([images, images[:10]]), np.vstack([texts, texts[:10]]))
    single = ImageTextBridge().fit(images, texts)
    np.testing.assert_allclose(doubled.transform(images), single.transform(images), atol=1e-5)


def test_zero_shot_vectors_and_mixing() -> None:
    labels = [
        [{"name": "analog clock", "prob": 0.7}, {"name": "wall clock", "prob": 0.2}],
        [("crossword puzzle", 0.9)],
        [],
    ]
    ocr = [None, "daily crossword answers", None]
    vectors = zero_shot_vectors(labels, ocr, _fake_embedder)
    assert vectors.shape == (3, FAKE_DIM)
    assert np.allclose(np.linalg.norm(vectors[:2], axis=1), 1.0, atol=1e-5)
    assert np.allclose(vectors[2], 0.0)  # no signal -> zero row
    clock_text, puzzle_text = normalise_rows(_fake_embedder(["clock on the wall", "crossword puzzle"]))
    assert vectors[0] @ clock_text > vectors[0] @ puzzle_text
    assert vectors[1] @ puzzle_text > vectors[1] @ clock_text
    # unfitted bridge: zero-shot only; fitted: rows without zero-shot fall back to the learned map
    assert np.allclose(ImageTextBridge().transform(None, vectors), vectors)
    images, texts = _synthetic(50, text_dim=FAKE_DIM)
    bridge = ImageTextBridge(learned_weight=0.5).fit(images, texts)
    mixed = bridge.transform(images[:3], vectors)
    assert np.allclose(mixed[2], bridge.project(images[2:3])[0], atol=1e-6)
    assert not np.allclose(mixed[0], bridge.project(images[:1])[0])


def test_errors_are_explicit() -> None:
    with pytest.raises(ValueError, match="not fitted"):
        ImageTextBridge().transform(np.zeros((2, 96)))
    with pytest.raises(ValueError, match="equal n"):
        ImageTextBridge().fit(np.zeros((5, 4)), np.zeros((4, 3)))
    with pytest.raises(ValueError, match="embed_texts"):
        ImageTextBridge().zero_shot([[("tench", 1.0)]])
