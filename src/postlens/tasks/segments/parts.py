"""What topic modelling reads of each post: text-field vectors, media vectors, image labels, words.

``PostParts`` is plain arrays so that the topic model runs on anything (a workspace, a notebook,
a benchmark) and is tested without a workspace; ``load_parts`` fills it from a workspace's tables
and feature cache. A part a post lacks is a False in its mask, never an error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from postlens.encoders.identity import TEXT_FIELDS as TEXT_FIELDS  # the text fields topic models read

MEDIA_PARTS = ("image", "video", "audio")
"""image: EfficientNet vectors of images and GIFs; video: the mean of its frames' EfficientNet
vectors (the same space as images); audio: the audio embedding of clips and video sound tracks."""
Labels = list[tuple[str, float]]


@dataclass
class PostParts:
    """Inputs for ``n`` posts, aligned by row.

    vectors   part name (a text field or a media part) -> (n, d) float32, zero rows where absent
    masks     part name -> (n,) bool, True where the post has that part
    labels    per post, the ImageNet labels of its images and video frames as (name, probability)
    texts     per post, all its text (own text, OCR, on-screen text, transcript) joined by newlines
    languages per post, its language code or None (picks the stop words)
    times     seconds since the epoch, NaN when unknown
    media_texts  per post, the part of ``texts`` read from its media (OCR, on-screen text, transcript),
              "" when none or unknown: a picture posted 500 times is one picture when topics are labelled
    """

    ids: list[str]
    vectors: dict[str, np.ndarray]
    masks: dict[str, np.ndarray]
    labels: list[Labels] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    languages: list[str | None] = field(default_factory=list)
    times: np.ndarray | None = None
    media_texts: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        n = len(self.ids)
        if not self.media_texts:
            self.media_texts = [""] * n
        if not self.labels:
            self.labels = [[] for _ in range(n)]
        if not self.texts:
            self.texts = [""] * n
        if not self.languages:
            self.languages = [None] * n
        if self.times is None:
            self.times = np.full(n, np.nan)
        for name, matrix in self.vectors.items():
            if len(matrix) != n or len(self.masks.get(name, ())) != n:
                raise ValueError(f"part {name!r} has {len(matrix)} rows, the posts are {n}: align them")
        for what, values in (
            ("labels", self.labels),
            ("texts", self.texts),
            ("languages", self.languages),
            ("times", self.times),
            ("media_texts", self.media_texts),
        ):
            if len(values) != n:
                raise ValueError(f"{what} has {len(values)} rows, the posts are {n}: align them")

    def __len__(self) -> int:
        return len(self.ids)

    def has(self, name: str) -> np.ndarray:
        return self.masks.get(name, np.zeros(len(self), bool))

    def subset(self, rows: Sequence[int] | np.ndarray) -> PostParts:
        rows = np.asarray(rows, dtype=np.int64)
        assert self.times is not None
        return replace(
            self,
            ids=[self.ids[i] for i in rows],
            vectors={k: v[rows] for k, v in self.vectors.items()},
            masks={k: v[rows] for k, v in self.masks.items()},
            labels=[self.labels[i] for i in rows],
            texts=[self.texts[i] for i in rows],
            languages=[self.languages[i] for i in rows],
            times=self.times[rows],
            media_texts=[self.media_texts[i] for i in rows],
        )

    def own_text(self, row: int) -> str:
        """The post's own text: ``texts`` without its ``media_texts`` part (joined after it)."""
        text, media = self.texts[row], self.media_texts[row]
        if not media or not text.endswith(media):
            return text
        return text[: len(text) - len(media)].removesuffix("\n")

    @classmethod
    def from_text_vectors(
        cls,
        ids: Sequence[str],
        vectors: np.ndarray,
        texts: Sequence[str] | None = None,
        times: np.ndarray | None = None,
    ) -> PostParts:
        """Text-only posts from one matrix of sentence vectors (a zero row = no text)."""
        matrix = np.asarray(vectors, np.float32)
        present = np.linalg.norm(matrix, axis=1) > 1e-12
        return cls(
            ids=list(ids),
            vectors={"text": matrix},
            masks={"text": present},
            texts=list(texts) if texts is not None else [],
            times=times,
        )
