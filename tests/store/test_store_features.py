"""The feature cache: round trip, per-item errors kept, only missing keys recomputed."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from postlens.encoders.base import Features
from postlens.store.features import FeatureCache


def test_round_trip_keeps_vectors_sequences_text_info_and_errors(tmp_path: Path) -> None:
    cache = FeatureCache(tmp_path)
    seq = np.arange(6, dtype=np.float32).reshape(3, 2)
    feats = [
        Features(vector=np.array([1, 2, 3], np.float32), sequence=seq, text="hi", info={"labels": ["cat"], "n": np.int64(3)}),
        Features.failed("corrupt", "truncated PNG"),
    ]
    cache.write("enc@1", ["a", "b"], feats)
    back = cache.read("enc@1")
    assert np.array_equal(back["a"].vector, feats[0].vector)
    assert np.array_equal(back["a"].sequence, seq)
    assert back["a"].text == "hi" and back["a"].info == {"labels": ["cat"], "n": 3}
    assert back["b"].error == "corrupt: truncated PNG" and back["b"].vector is None


def test_missing_lists_only_keys_not_yet_computed_for_that_version(tmp_path: Path) -> None:
    cache = FeatureCache(tmp_path)
    cache.write("enc@1", ["a"], [Features(vector=np.ones(2, np.float32))])
    assert cache.missing("enc@1", ["a", "b", "b", "c"]) == ["b", "c"]
    assert cache.missing("enc@2", ["a"]) == ["a"], "a new encoder version recomputes"


def test_vectors_are_aligned_with_keys_and_masked(tmp_path: Path) -> None:
    cache = FeatureCache(tmp_path)
    cache.write("enc@1", ["a", "c"], [Features(vector=np.ones(2, np.float32)), Features.failed("x", "y")])
    matrix, mask = cache.vectors("enc@1", ["c", "a", "z"])
    assert matrix.shape == (3, 2) and mask.tolist() == [False, True, False]
    assert matrix[1].tolist() == [1.0, 1.0] and matrix[0].tolist() == [0.0, 0.0]
