"""Training inputs read from the feature cache a batch of posts at a time (``model: {kind: sgd}``).

``assemble(..., vectors=False)`` keeps what the split needs (ids, times, groups, labels, metadata)
and, per feature block, each post's cache keys (``Links``, numpy arrays): no vector is loaded.

Before a fit (or a prediction pass), ``materialized()`` scans each block's Parquet parts once,
record batch by record batch, and writes every post's vectors (the mean of its keys' vectors, as
``load_post_data``) and masks, in post order, to a scratch ``.npy`` file in a temporary folder,
removed afterwards (also on error). Batches are then read from that file by row: one pass over
the cache per fit, however many batches and epochs. The file is mapped only while a chunk is read
or written, so resident memory follows the batch size, not the corpus.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
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
CHUNK_ROWS = 4096
"""Posts written to the scratch file at a time."""
NEAR_ROWS = 8
"""Wanted rows of a scratch file at most this far apart are read in one ``pread``."""


@dataclass
class Links:
    """Per post, the content keys whose vectors are averaged, as CSR arrays: post i's keys are
    ``keys[offsets[i]:offsets[i + 1]]`` (bytes; none: the post lacks the block)."""

    offsets: np.ndarray  # (n + 1,) int64
    keys: np.ndarray  # (links,) bytes

    @classmethod
    def from_lists(cls, per_post: Sequence[Sequence[str]]) -> Links:
        lengths = np.fromiter((len(ks) for ks in per_post), np.int64, len(per_post))
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        flat = [k.encode() for ks in per_post for k in ks]
        return cls(offsets, np.array(flat, dtype=bytes) if flat else np.zeros(0, "S1"))

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def subset(self, rows: np.ndarray) -> Links:
        lengths = np.diff(self.offsets)[rows]
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        within = np.arange(offsets[-1]) - np.repeat(offsets[:-1], lengths)
        return Links(offsets, self.keys[np.repeat(self.offsets[:-1][rows], lengths) + within])

    def of(self, row: int) -> list[str]:
        return [k.decode() for k in self.keys[self.offsets[row] : self.offsets[row + 1]]]


@dataclass
class StreamSource:
    """Where a set of posts' vectors are, without the vectors.

    keys   block -> cache key (``name@version``)
    links  block -> per post, the content keys whose vectors are averaged
    dims   block -> vector width
    meta   (n, m) metadata rows (small), ``meta_names`` their names; ``ids`` the posts
    matrix a scratch ``.npy`` of the posts' vectors and masks (``materialized``), None: read the cache
    """

    features_dir: Path
    keys: dict[str, str]
    links: dict[str, Links]
    dims: dict[str, int]
    meta: np.ndarray
    meta_names: list[str]
    ids: np.ndarray
    matrix: Path | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, rows: np.ndarray) -> StreamSource:
        if self.matrix is not None:
            raise ValueError("a materialized source is read by row; subset the source before materializing it")
        rows = np.asarray(rows, dtype=np.int64)
        return replace(
            self,
            links={b: links.subset(rows) for b, links in self.links.items()},
            meta=self.meta[rows],
            ids=self.ids[rows],
        )

    def _columns(self) -> dict[str, tuple[int, int, int]]:
        """block -> (first column, width, mask column) in the scratch matrix."""
        out, at = {}, 0
        for block in self.keys:
            out[block] = (at, self.dims[block], at + self.dims[block])
            at += self.dims[block] + 1
        return out

    @contextmanager
    def materialized(self, folder: Path | None = None) -> Iterator[StreamSource]:
        """This source with its vectors written once to a scratch file (removed on leaving)."""
        with tempfile.TemporaryDirectory(prefix="postlens-stream-", dir=folder) as tmp:
            path = Path(tmp) / "posts.npy"
            width = sum(self.dims[b] + 1 for b in self.keys)
            np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(len(self), max(width, 1))).flush()
            cache = FeatureCache(self.features_dir)
            for block, (first, dim, mask) in self._columns().items():
                _write_block(cache, self.keys[block], self.links[block], dim, path, first, mask, Path(tmp))
            yield replace(self, matrix=path)

    def read(self, rows: np.ndarray) -> PostData:
        """The posts at ``rows`` with their vectors (means of their keys' cached vectors)."""
        rows = np.asarray(rows, dtype=np.int64)
        if self.matrix is None:  # a one-off read: one scan for these rows
            with self.subset(rows).materialized() as source:
                return source.read(np.arange(len(rows)))
        values = read_rows(self.matrix, rows)
        modalities = {b: values[:, f : f + d].copy() for b, (f, d, _) in self._columns().items()}
        masks = {b: values[:, m] > 0.5 for b, (_, _, m) in self._columns().items()}
        return PostData(
            modalities=modalities,
            masks=masks,
            meta=self.meta[rows],
            meta_names=list(self.meta_names),
            ids=self.ids[rows].tolist(),
        )

    def batches(
        self, batch_size: int, *, seed: int | Sequence[int] | None = None
    ) -> Iterator[tuple[np.ndarray, PostData]]:
        """(rows, PostData) of ``batch_size`` posts at a time: in order, or shuffled by ``seed``."""
        if batch_size < 1:
            raise ConfigError(f"stream_batch_size must be at least 1, got {batch_size}")
        if self.matrix is None:
            with self.materialized() as source:
                yield from source.batches(batch_size, seed=seed)
            return
        order = np.arange(len(self)) if seed is None else np.random.default_rng(seed).permutation(len(self))
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            yield rows, self.read(rows)


def scan_part(part: Path) -> Iterator[pa.RecordBatch]:
    """The (key, vector) record batches of one cache part, in file order, no read-ahead."""
    scanner = ds.dataset([part], format="parquet", schema=SCHEMA).scanner(
        columns=["key", "vector"], filter=pc.field("vector").is_valid(), batch_size=SCAN_ROWS, batch_readahead=0
    )
    yield from scanner.to_batches()


def read_rows(path: Path, rows: np.ndarray) -> np.ndarray:
    """Rows of a 2-D float32 ``.npy``, read with ``pread`` (nearby rows in one read), not mapped:
    a mapping's fault-around would make most of the file resident for a scattered batch."""
    with path.open("rb") as handle:
        version = np.lib.format.read_magic(handle)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read_header(handle)
        if fortran or dtype != np.dtype(np.float32) or len(shape) != 2:
            raise ValueError(f"{path} is not a 2-D C-ordered float32 array")
        start, width = handle.tell(), int(shape[1])
        out = np.empty((len(rows), width), np.float32)
        if not len(rows) or not width:
            return out
        order = np.argsort(rows, kind="stable")
        ordered = rows[order]
        breaks = np.flatnonzero(np.diff(ordered) > NEAR_ROWS) + 1
        row_bytes = width * 4
        at = 0
        for run in np.split(ordered, breaks):
            first, last = int(run[0]), int(run[-1])
            data = os.pread(handle.fileno(), (last - first + 1) * row_bytes, start + first * row_bytes)
            block = np.frombuffer(data, np.float32).reshape(-1, width)
            out[order[at : at + len(run)]] = block[run - first]
            at += len(run)
        return out


def _write_block(
    cache: FeatureCache, key: str, links: Links, dim: int, path: Path, first: int, mask: int, tmp: Path
) -> None:
    """Scan ``key``'s parts once into a scratch of its distinct wanted keys (the last copy of a key
    wins, as ``FeatureCache.read``), then write each post's mean into the posts' matrix."""
    wanted = np.unique(links.keys)
    if not len(wanted):
        return
    store = tmp / "keys.npy"
    found = _scan_keys(cache, key, wanted, dim, store)
    where = np.searchsorted(wanted, links.keys)
    for start in range(0, len(links), CHUNK_ROWS):
        stop = min(len(links), start + CHUNK_ROWS)
        lo, hi = links.offsets[start], links.offsets[stop]
        owner = np.repeat(np.arange(stop - start), np.diff(links.offsets[start : stop + 1]))
        index = where[lo:hi]
        present = found[index]
        owner, index = owner[present], index[present]
        out = np.zeros((stop - start, dim + 1), np.float32)
        if len(index):
            picked = read_rows(store, index)
            posts, begins, counts = np.unique(owner, return_index=True, return_counts=True)
            sums = np.add.reduceat(picked, begins, axis=0) if len(picked) > len(posts) else picked
            out[posts, :dim] = sums / counts[:, None].astype(np.float32) if len(picked) > len(posts) else sums
            out[posts, dim] = 1.0
        matrix = np.load(path, mmap_mode="r+")
        matrix[start:stop, first : first + dim] = out[:, :dim]
        matrix[start:stop, mask] = out[:, dim]
        matrix.flush()
        del matrix
    store.unlink()


def _scan_keys(cache: FeatureCache, key: str, wanted: np.ndarray, dim: int, store: Path) -> np.ndarray:
    """Write the vectors of ``wanted`` (sorted bytes) to ``store`` (rows in ``wanted`` order); which were found."""
    for attempt in range(8):  # a compaction may remove a listed part meanwhile: list them again
        np.lib.format.open_memmap(store, mode="w+", dtype=np.float32, shape=(len(wanted), dim)).flush()
        found = np.zeros(len(wanted), bool)
        try:
            for part in cache.parts(key):
                for batch in scan_part(part):
                    _store_batch(batch, wanted, dim, key, store, found)
            return found
        except FileNotFoundError:
            if attempt == 7:
                raise
            time.sleep(0.01 * (attempt + 1))
    return np.zeros(len(wanted), bool)  # unreachable


def _store_batch(batch: pa.RecordBatch, wanted: np.ndarray, dim: int, key: str, store: Path, found: np.ndarray) -> None:
    if batch.num_rows == 0:
        return
    keys = np.asarray(batch.column("key").cast(pa.binary()).to_numpy(zero_copy_only=False), dtype=bytes)
    at = np.minimum(np.searchsorted(wanted, keys), len(wanted) - 1)
    hit = wanted[at] == keys
    if not hit.any():
        return
    vectors = batch.column("vector").filter(pa.array(hit))
    widths = pc.list_value_length(vectors).to_numpy(zero_copy_only=False)
    if (widths != dim).any():
        raise ConfigError(
            f"the cached vectors of {key} differ in length ({sorted(set(widths.tolist()) | {dim})}); "
            "delete that folder and run 'postlens featurize' again"
        )
    matrix = np.asarray(vectors.flatten().to_numpy(zero_copy_only=False), np.float32).reshape(len(widths), dim)
    mapped = np.load(store, mmap_mode="r+")
    mapped[at[hit]] = matrix  # a key twice in one batch: the later row is written last
    mapped.flush()
    del mapped
    found[at[hit]] = True


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
