"""The workspace's saved segmentation, read-only: place a new post without changing stored topics.

``cluster`` segmentations (``postlens segments fit``) assign through ``TopicModel.assign`` (nearest
micro-cluster, no state change); ``seed`` ones through their seed centres. Both carry a shared
space (``tasks/segments/space.py``): the fused vector of a post, its parts' weights, the space the
neighbour index is built in.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from postlens.encoders.bridge import normalise_rows
from postlens.errors import ConfigError
from postlens.tasks.segments.parts import PostParts
from postlens.tasks.segments.space import EmbedTexts, SharedSpace

SPACE_KINDS = ("cluster", "seed")


@dataclass
class Placement:
    """Per post: topic id (None: outlier / nothing to place), cosine, novel, runner-up (topic id, cosine)."""

    topics: list[int | None]
    scores: np.ndarray
    novel: np.ndarray
    runner_up: list[tuple[int, float] | None] = field(default_factory=list)


class Segmenter:
    """One segmentation's model: ``place(parts)``, ``fuse(parts)`` and ``parts_of(parts)``."""

    def __init__(self, name: str, kind: str, folder: Path, embed: EmbedTexts) -> None:
        if kind not in SPACE_KINDS:
            raise ConfigError(f"segmentation {name!r} is of kind {kind!r}; the agent places posts in "
                              f"{' or '.join(SPACE_KINDS)} segmentations")
        self.name, self.kind, self.folder = name, kind, folder
        if kind == "cluster":
            from postlens.tasks.segments.model import TopicModel

            self.model = TopicModel.load(folder, embed_texts=embed)
            self.space: SharedSpace = self.model.space_
            self.centres, self.centre_topics = self.model.centroids_, np.asarray(self.model.centroid_topic_)
        else:
            from postlens.tasks.segments.seeds import SeedSegmenter

            meta = json.loads((folder / "seeds.json").read_text())
            self.seeds = SeedSegmenter(min_similarity=meta.get("min_similarity"))
            with np.load(folder / "seeds.npz", allow_pickle=False) as data:
                self.seeds.centres_ = data["centres"]
            self.seed_names = [str(n) for n in meta["names"]]
            self.space = SharedSpace.load(folder / "space", embed_texts=embed)
            self.centres, self.centre_topics = self.seeds.centres_, np.arange(len(self.seed_names))
        if self.space.dim_ is None:
            raise ConfigError(f"segmentation {name!r}: its shared space is not fitted; run 'postlens segments fit'")

    @property
    def dim(self) -> int:
        assert self.space.dim_ is not None
        return int(self.space.dim_)

    def fingerprint(self, encoder_keys: str) -> str:
        """Changes when the space (its bridges and weights) or the encoders behind the vectors change."""
        digest = hashlib.sha256(encoder_keys.encode())
        for path in sorted((self.folder / "space").glob("*")):
            digest.update(path.name.encode() + path.read_bytes())
        return digest.hexdigest()[:24]

    def fuse(self, parts: PostParts) -> np.ndarray:
        return normalise_rows(self.space.transform(parts))

    def place(self, parts: PostParts, fused: np.ndarray, seed_topic_ids: dict[str, int] | None = None) -> Placement:
        """Topic of each post as the saved model assigns it (ids of seed topics from the topics table)."""
        if self.kind == "cluster":
            assigned = self.model.assign(parts)
            topics, scores, novel = assigned.topics, assigned.scores, assigned.novel
        else:
            labels, scores = self.seeds.predict(fused)
            ids = seed_topic_ids or {}
            topics = [ids.get(self.seed_names[i]) if i >= 0 else None for i in labels]
            novel = np.zeros(len(parts), bool)
        return Placement(list(topics), np.asarray(scores, float), np.asarray(novel, bool),
                         self._runner_up(fused, topics, seed_topic_ids))

    def _runner_up(self, fused: np.ndarray, topics: list[int | None],
                   seed_topic_ids: dict[str, int] | None) -> list[tuple[int, float] | None]:
        out: list[tuple[int, float] | None] = []
        sims = fused @ np.asarray(self.centres, np.float64).T if len(self.centres) else np.zeros((len(fused), 0))
        for row, topic in enumerate(topics):
            best: dict[int, float] = {}
            for centre, value in zip(self.centre_topics, sims[row]):
                tid = int(centre) if self.kind == "cluster" else (seed_topic_ids or {}).get(self.seed_names[int(centre)])
                if tid is not None and tid != topic and value > best.get(tid, -np.inf):
                    best[tid] = float(value)
            out.append(max(best.items(), key=lambda kv: kv[1]) if best and np.any(fused[row]) else None)
        return out
