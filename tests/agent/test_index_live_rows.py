"""``NeighbourIndex.live_rows`` (what the dashboard's map draws) and the map's projection ``pca_2d``: a sample
holds only live rows (a changed post once, with its new vector; a deleted post never), is the same for the same
seed, and the projection keeps the direction the points spread along."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from test_index import new_rows, unit

from postlens.agent.index import NeighbourIndex
from postlens.serve.dashboard.space import pca_2d


def test_live_rows_hold_each_live_post_once_with_its_newest_vector(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    ids = [f"p:{i:03d}" for i in range(200)]
    vectors = unit(rng.normal(size=(200, 16)))
    index = NeighbourIndex(tmp_path / "index", fingerprint="f", dim=16, kind="exact")
    index.sync({i: "s1" for i in ids}, new_rows(ids, vectors))
    current = {i: "s1" for i in ids if i != "p:005"} | {"p:001": "s2"}
    index.sync(current, new_rows(["p:001"], vectors[9:10], signature="s2"))
    every, meta = index.live_rows()
    listed = meta.column("post_id").to_pylist()
    assert sorted(listed) == sorted(current) and len(every) == 199
    assert np.allclose(every[listed.index("p:001")], vectors[9])
    sample, sample_meta = index.live_rows(50, seed=3)
    again, _ = index.live_rows(50, seed=3)
    picked = sample_meta.column("post_id").to_pylist()
    assert len(picked) == len(set(picked)) == 50 and set(picked) <= set(current) and np.array_equal(sample, again)
    for post_id, vector in zip(picked, sample):
        assert np.allclose(vector, every[listed.index(post_id)])
    empty_vectors, empty_meta = NeighbourIndex(None, fingerprint="f", dim=16).live_rows(10)
    assert empty_vectors.shape == (0, 16) and empty_meta.num_rows == 0


def test_pca_keeps_the_main_spread_and_handles_tiny_inputs() -> None:
    rng = np.random.default_rng(2)
    along = rng.normal(size=(300, 1)) * 5.0
    direction = unit(rng.normal(size=(1, 64)))[0]
    points = along * direction + rng.normal(scale=0.01, size=(300, 64))
    xy = pca_2d(points.astype(np.float32))
    assert xy.shape == (300, 2) and abs(np.corrcoef(xy[:, 0], along[:, 0])[0, 1]) > 0.99
    assert xy[:, 0].std() > 50 * xy[:, 1].std()
    assert np.array_equal(pca_2d(points.astype(np.float32)), xy)
    assert pca_2d(np.zeros((1, 8), np.float32)).shape == (1, 2) and pca_2d(np.zeros((0, 8), np.float32)).shape == (0, 2)
