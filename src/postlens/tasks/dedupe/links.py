"""Duplicate links between posts, chained into clusters (single linkage), with why each link exists.

Posts are numbered 0..n-1 in their order (earliest first), so a cluster's root (the union-find
root is the smaller index) is its earliest post. Each reason keeps its own forest too, so a report
can say how many groups the same picture alone makes even when text already joined those posts.
Only links that join two clusters are kept as edges: they form a spanning forest, one path from
every post to its cluster's first post (``rows``), which is what the table stores.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from postlens.evaluation.image_groups import UnionFind
from postlens.tasks.dedupe.minhash import band_keys, similarity

REASONS = ("id", "url", "text", "image")
"""Why two posts are copies, strongest first (a post's stored reason is the first that linked it)."""
MAX_LEADERS = 16
"""Per LSH bucket, a post is compared with at most this many earlier members that started a group."""


@dataclass(frozen=True)
class Edge:
    first: int
    second: int
    reason: str
    similarity: float


class Links:
    """Unions of posts by reason; ``edges``: the links that joined two clusters."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.forest = UnionFind(n)
        self.by_reason = {reason: UnionFind(n) for reason in REASONS}
        self.edges: list[Edge] = []

    def link(self, first: int, second: int, reason: str, score: float = 1.0) -> None:
        self.by_reason[reason].union(first, second)
        if self.forest.union(first, second):
            self.edges.append(Edge(min(first, second), max(first, second), reason, score))

    def link_groups(self, members_by_key: Iterable[list[int]], reason: str) -> None:
        """Every post of a group to the group's first: one key (an id, a URL, an exact text) = one group."""
        for members in members_by_key:
            for other in members[1:]:
                self.link(members[0], other, reason)

    def link_similar_texts(self, posts: np.ndarray, signatures: np.ndarray, threshold: float) -> int:
        """Link texts (row i of ``signatures`` is post ``posts[i]``) whose estimated Jaccard is at least
        ``threshold``, among LSH candidates only; returns the number of pairs compared."""
        compared = 0
        keys = band_keys(signatures)
        for band in range(keys.shape[1]):
            buckets: dict[int, list[int]] = defaultdict(list)
            for row, key in enumerate(keys[:, band].tolist()):
                buckets[key].append(row)
            for members in buckets.values():
                if len(members) < 2:
                    continue
                leaders: list[int] = []
                for row in members:
                    joined = False
                    for leader in leaders:
                        if self.by_reason["text"].find(int(posts[leader])) == self.by_reason["text"].find(
                            int(posts[row])
                        ):
                            joined = True
                            break
                        compared += 1
                        score = similarity(signatures, leader, row)
                        if score >= threshold:
                            self.link(int(posts[leader]), int(posts[row]), "text", score)
                            joined = True
                            break
                    if not joined and len(leaders) < MAX_LEADERS:
                        leaders.append(row)
        return compared

    def clusters(self) -> dict[int, list[int]]:
        """root -> members (sorted) of every cluster with two or more posts."""
        members: dict[int, list[int]] = defaultdict(list)
        for edge in self.edges:
            for post in (edge.first, edge.second):
                members[self.forest.find(post)].append(post)
        return {root: sorted(set(posts)) for root, posts in members.items()}

    def reason_groups(self, reason: str) -> dict[int, int]:
        """root -> size of every group of two or more that ``reason`` alone makes."""
        forest = self.by_reason[reason]
        sizes: dict[int, int] = defaultdict(int)
        for post in range(self.n):
            sizes[forest.find(post)] += 1
        return {root: size for root, size in sizes.items() if size > 1}

    def paths(self) -> dict[int, tuple[int, Edge]]:
        """post -> (the post it links to on the way to its cluster's first post, that edge); roots absent."""
        adjacent: dict[int, list[Edge]] = defaultdict(list)
        for edge in self.edges:
            adjacent[edge.first].append(edge)
            adjacent[edge.second].append(edge)
        out: dict[int, tuple[int, Edge]] = {}
        for root in self.clusters():
            queue = deque([root])
            seen = {root}
            while queue:
                here = queue.popleft()
                for edge in adjacent[here]:
                    other = edge.second if edge.first == here else edge.first
                    if other not in seen:
                        seen.add(other)
                        out[other] = (here, edge)
                        queue.append(other)
        return out
