"""A single-threaded EfficientNet (a Ray actor, a worker process) runs small forward batches, with the same output.

On one thread, batches of 1-2 images cost 20-30% less CPU per image than 8-32 (``SINGLE_THREAD_BATCH``); the batch
is not part of the cache key, so the vectors must not depend on it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from _image_fixtures import draw_clock, draw_crossword

from postlens.encoders.image.efficientnet import SINGLE_THREAD_BATCH, EfficientNetEncoder


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("images")
    paths = []
    for i in range(5):  # more than one small batch, fewer than one large one
        paths.append(folder / f"picture-{i}.png")
        (draw_clock() if i % 2 else draw_crossword()).rotate(20 * i).save(paths[-1])
    return paths


def _encode_counting_batches(encoder: EfficientNetEncoder, paths: list[Path]) -> tuple[np.ndarray, list[int]]:
    sizes: list[int] = []
    forward = encoder.forward

    def counted(batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        sizes.append(len(batch))
        return forward(batch)

    encoder.forward = counted  # type: ignore[method-assign]
    features = encoder.encode(paths)
    assert all(f.error is None for f in features)
    return np.stack([f.vector for f in features]), sizes  # type: ignore[misc]


def test_one_thread_runs_small_batches_with_the_same_vectors(images: list[Path]) -> None:
    one_thread, one_sizes = _encode_counting_batches(EfficientNetEncoder(num_threads=1, batch_size=32), images)
    two_threads, two_sizes = _encode_counting_batches(EfficientNetEncoder(num_threads=2, batch_size=32), images)
    assert max(one_sizes) == SINGLE_THREAD_BATCH and sum(one_sizes) == len(images)
    assert two_sizes == [len(images)]  # with more threads the caller's batch size stands
    np.testing.assert_allclose(one_thread, two_threads, rtol=0, atol=1e-5)
    assert _encode_counting_batches(EfficientNetEncoder(num_threads=1, batch_size=1), images)[1] == [1] * len(images)
