"""The segments map's cache: the newest few maps stay (one per sample size), a size asked for again is not
rebuilt, sizes past the index's posts share one map, and a changed index drops every old map. The agent is a
stand-in here (its real sampling is tested with the agent); the projection and the cache are the real code."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from postlens.agent.agent import SpaceSample
from postlens.agent.index import META_SCHEMA
from postlens.serve.dashboard.space import MAPS_KEPT, SpaceMap

POSTS = 60


class StandInAgent:
    """``space_sample(limit)``: the first ``limit`` rows of a fixed random space of ``live`` posts."""

    def __init__(self, live: int = POSTS) -> None:
        self.live = live
        self.samples = 0
        vectors = np.random.default_rng(0).normal(size=(live, 8)).astype(np.float32)
        self.vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    def space_sample(self, limit: int) -> SpaceSample:
        self.samples += 1
        n = min(limit, self.live)
        meta = pa.table(
            {
                "post_id": [f"p:{i}" for i in range(n)],
                "signature": ["s"] * n,
                "text": [f"post {i}" for i in range(n)],
                "created_at": [None] * n,
                "media_kinds": [[]] * n,
                "topic_id": [i % 3 for i in range(n)],
                "labels": ["{}"] * n,
                "has_vector": [True] * n,
            },
            schema=META_SCHEMA,
        )
        return SpaceSample(self.vectors[:n], meta, {}, self.live, "topics")


def test_each_sample_size_keeps_its_map_and_the_oldest_goes_first() -> None:
    agent = StandInAgent()
    maps = SpaceMap(agent)  # type: ignore[arg-type]
    small = maps.points(10)
    large = maps.points(50)
    assert len(small["points"]) == 10 and len(large["points"]) == 50 and small["sampled"]
    assert maps.points(10) is small and maps.points(50) is large  # switching back and forth rebuilds nothing
    every = maps.points(1000)
    assert maps.points(5000) is every and len(every["points"]) == POSTS and not every["sampled"]
    for limit in range(20, 20 + MAPS_KEPT):
        maps.points(limit)
    assert maps.points(10) is not small and maps.points(10) == small  # pushed out, then built again alike


def test_a_changed_index_drops_the_old_maps() -> None:
    agent = StandInAgent()
    maps = SpaceMap(agent)  # type: ignore[arg-type]
    before = maps.points(10)
    agent.live = POSTS + 1  # the index grew: the same ids sampled, but a new map
    after = maps.points(10)
    assert after is not before and after["live"] == POSTS + 1
    agent.live = POSTS
    assert maps.points(10) is not before  # the old index's map was dropped, not kept for a return
