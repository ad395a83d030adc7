"""Training inputs read from the feature cache a batch of posts at a time (``model: {kind: sgd}``).

``assemble(..., vectors=False)`` keeps what the split needs (ids, times, groups, labels, metadata)
and, per feature block, each post's cache keys (``StreamSource``): no vector is loaded. A batch of
posts is then read from the block's Parquet parts with a pyarrow scanner filtered on its keys, one
record batch at a time, and averaged per post as ``load_post_data`` does, so memory follows the
batch size, not the corpus.

Cost, said plainly: each batch scans every part of each block's cache (a key filter cannot skip
row groups of hashed keys), so one pass reads the cache about ``posts / batch_size`` times. Larger
batches make fewer scans; memory grows with the batch, not with the corpus.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from postlens.errors import ConfigError
from postlens.models.inputs import PostData
from postlens.store.features import SCHEMA, FeatureCache

SCAN_ROWS = 4096
"""Cache rows a scanner decodes at a time (one record batch; no read-ahead beyond it)."""


@dataclass
class StreamSource:
    """Where a set of posts' vectors are, without the vectors.

    keys   block -> cache key (``name@version``)
    links  block -> per post, the content keys whose vectors are averaged (empty: the post lacks the block)
    dims   block -> vector width
    meta   (n, m) metadata rows (small), ``meta_names`` their names; ``ids`` the posts
    """

    features_dir: Path
    keys: dict[str, str]
    links: dict[str, list[list[str]]]
    dims: dict[str, int]
    meta: np.ndarray
    meta_names: list[str]
    ids: list[str]

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, rows: np.ndarray) -> StreamSource:
        rows = np.asarray(rows, dtype=np.int64)
        return StreamSource(
            features_dir=self.features_dir,
            keys=self.keys,
            links={b: [links[i] for i in rows] for b, links in self.links.items()},
            dims=self.dims,
            meta=self.meta[rows],
            meta_names=self.meta_names,
            ids=[self.ids[i] for i in rows],
        )

    def read(self, rows: np.ndarray) -> PostData:
        """The posts at ``rows`` with their vectors (means of their keys' cached vectors)."""
        rows = np.asarray(rows, dtype=np.int64)
        cache = FeatureCache(self.features_dir)
        modalities: dict[str, np.ndarray] = {}
        masks: dict[str, np.ndarray] = {}
        for block, key in self.keys.items():
            links = [self.links[block][i] for i in rows]
            found = read_vectors(cache, key, {k for ks in links for k in ks})
            matrix = np.zeros((len(rows), self.dims[block]), np.float32)
            mask = np.zeros(len(rows), bool)
            for i, ks in enumerate(links):
                present = [found[k] for k in ks if k in found]
                if present:
                    matrix[i] = np.mean(present, axis=0)
                    mask[i] = True
            modalities[block], masks[block] = matrix, mask
        return PostData(
            modalities=modalities,
            masks=masks,
            meta=self.meta[rows],
            meta_names=list(self.meta_names),
            ids=[self.ids[i] for i in rows],
        )

    def batches(
        self, batch_size: int, *, seed: int | Sequence[int] | None = None
    ) -> Iterator[tuple[np.ndarray, PostData]]:
        """(rows, PostData) of ``batch_size`` posts at a time: in order, or shuffled by ``seed``."""
        if batch_size < 1:
            raise ConfigError(f"stream_batch_size must be at least 1, got {batch_size}")
        order = np.arange(len(self)) if seed is None else np.random.default_rng(seed).permutation(len(self))
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            yield rows, self.read(rows)


def read_vectors(cache: FeatureCache, key: str, wanted: set[str]) -> dict[str, np.ndarray]:
    """key -> vector of the ``wanted`` keys, scanning the parts one record batch at a time (a key
    cached twice: the last copy wins, as ``FeatureCache.read``)."""
    if not wanted:
        return {}
    condition = pc.field("key").isin(pa.array(sorted(wanted), pa.string())) & pc.field("vector").is_valid()
    for attempt in range(8):  # a compaction may remove a listed part meanwhile: list them again
        parts = cache.parts(key)
        if not parts:
            return {}
        try:
            return _scan(parts, condition, key)
        except FileNotFoundError:
            if attempt == 7:
                raise
            time.sleep(0.01 * (attempt + 1))
    return {}  # unreachable


def _scan(parts: list[Path], condition: pc.Expression, key: str) -> dict[str, np.ndarray]:
    scanner = ds.dataset(parts, format="parquet", schema=SCHEMA).scanner(
        columns=["key", "vector"], filter=condition, batch_size=SCAN_ROWS, batch_readahead=0, fragment_readahead=1
    )
    out: dict[str, np.ndarray] = {}
    for batch in scanner.to_batches():
        if batch.num_rows == 0:
            continue
        vectors = batch.column("vector")
        widths = pc.list_value_length(vectors).to_numpy(zero_copy_only=False)
        if len(set(widths.tolist())) > 1:
            raise ConfigError(
                f"the cached vectors of {key} differ in length; delete that folder and run 'postlens featurize' again"
            )
        matrix = np.asarray(vectors.flatten().to_numpy(zero_copy_only=False), np.float32).reshape(len(widths), -1)
        for k, row in zip(batch.column("key").to_pylist(), matrix):
            out[k] = row
    return out


def block_width(cache: FeatureCache, key: str) -> int:
    """The width of the first cached vector of ``key`` (reads one record batch, not the folder)."""
    for part in cache.parts(key):
        scanner = ds.dataset([part], format="parquet", schema=SCHEMA).scanner(
            columns=["vector"], filter=pc.field("vector").is_valid(), batch_size=64, batch_readahead=0
        )
        for batch in scanner.to_batches():
            if batch.num_rows:
                return int(pc.list_value_length(batch.column("vector"))[0].as_py())
    return 1
