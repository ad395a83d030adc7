"""Small dense views of wide inputs, fitted on the training posts and stored as plain arrays (.npz, no pickle).

A 384-wide sentence embedding next to a dozen metadata columns lets trees split on noise in a few
thousand posts; a 16-component PCA keeps what varies most. Hashtags / YouTube tags become a hashed
bag of tags (no vocabulary to store), tf-idf weighted, then reduced by SVD.
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np

TAG_BUCKETS = 4096


class Projection:
    """x -> (x - mean) @ components.T; rows that are all NaN (no such input) stay NaN."""

    def __init__(self, mean: np.ndarray, components: np.ndarray) -> None:
        self.mean, self.components = mean.astype(np.float32), components.astype(np.float32)

    @classmethod
    def fit_pca(cls, matrix: np.ndarray, size: int, *, seed: int = 0) -> Projection:
        present = matrix[~np.isnan(matrix).any(axis=1)]
        width = matrix.shape[1]
        size = max(1, min(size, width, max(len(present) - 1, 1)))
        if len(present) < 2:
            return cls(np.zeros(width), np.eye(size, width))
        mean = present.mean(axis=0)
        from sklearn.utils.extmath import randomized_svd

        _, _, vt = randomized_svd(present - mean, size, random_state=seed)
        return cls(mean, vt)

    def transform(self, matrix: np.ndarray) -> np.ndarray:
        absent = np.isnan(matrix).any(axis=1)
        out = (np.nan_to_num(matrix) - self.mean) @ self.components.T
        out[absent] = np.nan
        return out.astype(np.float32)

    @property
    def size(self) -> int:
        return int(self.components.shape[0])


def tag_bucket(tag: str) -> int:
    """A stable bucket (crc32 of the lower-cased tag): the same on every machine and Python run."""
    return zlib.crc32(tag.strip().lower().encode("utf-8")) % TAG_BUCKETS


def tag_counts(tags: list[list[str]]) -> Any:
    """(n, TAG_BUCKETS) sparse counts."""
    from scipy.sparse import csr_matrix

    rows, cols = [], []
    for i, post_tags in enumerate(tags):
        for tag in post_tags:
            if tag.strip():
                rows.append(i)
                cols.append(tag_bucket(tag))
    return csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(len(tags), TAG_BUCKETS))


class TagProjection:
    """Hashed tags -> tf-idf -> SVD components; a post with no tag gets NaN (not "the average post")."""

    def __init__(self, idf: np.ndarray, components: np.ndarray) -> None:
        self.idf, self.components = idf.astype(np.float32), components.astype(np.float32)

    @classmethod
    def fit(cls, tags: list[list[str]], size: int, *, seed: int = 0) -> TagProjection:
        counts = tag_counts(tags)
        documents = np.asarray((counts > 0).sum(axis=0)).ravel()
        idf = np.log((1 + counts.shape[0]) / (1 + documents)) + 1
        weighted = _l2_rows(counts.multiply(idf).tocsr())
        size = max(1, min(size, TAG_BUCKETS - 1, max(weighted.shape[0] - 1, 1)))
        from sklearn.utils.extmath import randomized_svd

        _, _, vt = randomized_svd(weighted, size, random_state=seed)
        return cls(idf, vt)

    def transform(self, tags: list[list[str]]) -> np.ndarray:
        counts = tag_counts(tags)
        out = np.asarray(_l2_rows(counts.multiply(self.idf).tocsr()) @ self.components.T, np.float32)
        out[np.asarray(counts.sum(axis=1)).ravel() == 0] = np.nan
        return out

    @property
    def size(self) -> int:
        return int(self.components.shape[0])


def _l2_rows(matrix: Any) -> Any:
    from sklearn.preprocessing import normalize

    return normalize(matrix, norm="l2", axis=1)
