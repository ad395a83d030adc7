"""Feature cache: encoder outputs keyed by (content sha256, encoder name@version), stored as Parquet.

``features/<name>@<version>/part-*.parquet``: featurize writes one part per batch, each to a
temporary name then renamed, so a killed run loses at most the batch in flight and a re-run
computes only the keys no part holds yet. Parquet so that DuckDB, pandas and Ray read it as is.

Many small parts read slowly, so they are compacted (``compact``): merged into parts of up to
``COMPACT_TARGET_BYTES``, at the end of featurize, when a folder passes ``AUTO_COMPACT_PARTS``
parts, or by ``postlens cache compact``. A merged part is renamed into place before the parts it
replaces are removed, so a key is never missing; a reader that lists a part which is then removed
lists again (its rows are in the merged part by then), and a key found twice is read once. Only
parts that existed when a compaction started are merged, so parts a concurrent featurize writes
meanwhile are never lost; a lock file keeps two compactions of one folder from running at once.
(A program globbing the parts itself, not through this class, may see a key twice for the
moment between the rename and the removals.)

Reads go from Arrow columns straight to numpy: fixed-size vectors become one ``(n, d)`` array.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from postlens.types import Features

SCHEMA = pa.schema(
    [
        ("key", pa.string()),
        ("vector", pa.list_(pa.float32())),
        ("seq_len", pa.int32()),
        ("sequence", pa.list_(pa.float32())),  # row-major (seq_len, dim) flattened
        ("text", pa.string()),
        ("info", pa.string()),  # JSON
        ("error", pa.string()),
    ]
)
PART_GLOB = "part-*.parquet"
COMPACT_TARGET_BYTES = 256 * 2**20
"""A merged part holds about this much input; parts at least half this size are left as they are."""
MERGE_RATIO = 0.1
"""The largest small part is rewritten only when the others add at least this share of its size: a run that
adds a few rows does not rewrite a large part each time (each row is rewritten a few times at most)."""
AUTO_COMPACT_PARTS = 256
"""A write that leaves a folder with more parts than this compacts the folder."""
ROW_GROUP_BYTES = 32 * 2**20
"""Rows of a merged part are written in row groups of about this size (a batch of 32 is far too small)."""
_STALE_TMP_SECONDS = 3600
_LIST_ATTEMPTS = 8
T = TypeVar("T")


@dataclass(frozen=True)
class Compaction:
    """What ``compact`` did to one encoder folder."""

    encoder_key: str
    parts_before: int
    parts_after: int
    rows: int
    duplicates_dropped: int
    seconds: float


class FeatureCache:
    def __init__(self, features_dir: Path) -> None:
        self.root = features_dir
        self.written: set[str] = set()  # encoder keys this object wrote parts for (featurize compacts them)

    def folder(self, encoder_key: str) -> Path:
        return self.root / encoder_key.replace("/", "_")

    def parts(self, encoder_key: str) -> list[Path]:
        folder = self.folder(encoder_key)
        return sorted(folder.glob(PART_GLOB)) if folder.exists() else []

    # ------------------------------------------------------------------ reading

    def known_keys(self, encoder_key: str) -> set[str]:
        """Keys already computed (successfully or with an error) by this encoder version."""
        table = self._table(encoder_key, ["key"])
        return set(table.column("key").to_pylist()) if table is not None else set()

    def missing(self, encoder_key: str, keys: Iterable[str]) -> list[str]:
        known = self.known_keys(encoder_key)
        return list(dict.fromkeys(k for k in keys if k not in known))

    def texts(self, encoder_key: str) -> dict[str, str]:
        """key -> text of the rows that have text (OCR lines, transcripts), reading only those two columns."""
        table = self._table(encoder_key, ["key", "text"], where=pc.field("text").is_valid())
        if table is None:
            return {}
        return {k: t for k, t in zip(table.column("key").to_pylist(), table.column("text").to_pylist()) if t}

    def read(self, encoder_key: str, keys: Iterable[str] | None = None) -> dict[str, Features]:
        """key -> Features for ``keys`` (every key when None); a key computed twice is read once."""
        table = self._table(encoder_key, SCHEMA.names, keys=keys)
        return {} if table is None else _features_by_key(table)

    def vectors(self, encoder_key: str, keys: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(matrix, present mask) aligned with ``keys``; rows without a vector are zeros."""
        table = self._table(encoder_key, ["key", "vector"], keys=keys, where=pc.field("vector").is_valid())
        if table is None or table.num_rows == 0:
            return np.zeros((len(keys), 0), dtype=np.float32), np.zeros(len(keys), dtype=bool)
        found = _fixed_matrix(table.column("vector"), encoder_key)
        row_of = {key: row for row, key in enumerate(table.column("key").to_pylist())}  # the last copy wins
        index = np.fromiter((row_of.get(k, -1) for k in keys), dtype=np.int64, count=len(keys))
        mask = index >= 0
        matrix = np.zeros((len(keys), found.shape[1]), dtype=np.float32)
        matrix[mask] = found[index[mask]]
        return matrix, mask

    def _table(
        self, encoder_key: str, columns: list[str], *, keys: Iterable[str] | None = None, where: Any = None
    ) -> pa.Table | None:
        """The rows of every part (those of ``keys`` only, when given) as one table, or None without parts."""
        condition = where
        if keys is not None:
            wanted = pc.field("key").isin(pa.array(list(dict.fromkeys(keys)), pa.string()))
            condition = wanted if condition is None else condition & wanted

        def read(parts: list[Path]) -> pa.Table:
            return ds.dataset(parts, format="parquet", schema=SCHEMA).to_table(columns=columns, filter=condition)

        return self._over_parts(encoder_key, read)

    def _over_parts(self, encoder_key: str, read: Callable[[list[Path]], T]) -> T | None:
        """``read(parts)``, listing the parts again when one was removed meanwhile (a compaction merged it)."""
        for attempt in range(_LIST_ATTEMPTS):
            parts = self.parts(encoder_key)
            if not parts:
                return None
            try:
                return read(parts)
            except FileNotFoundError:
                if attempt == _LIST_ATTEMPTS - 1:
                    raise
                time.sleep(0.01 * (attempt + 1))
        return None  # unreachable

    # ------------------------------------------------------------------ writing

    def write(self, encoder_key: str, keys: Sequence[str], features: Sequence[Features]) -> Path:
        if len(keys) != len(features):
            raise ValueError(f"{len(keys)} keys but {len(features)} features for {encoder_key}")
        folder = self.folder(encoder_key)
        folder.mkdir(parents=True, exist_ok=True)
        table = pa.table(_columns(keys, features), schema=SCHEMA)
        final = _write_part(folder, lambda tmp: pq.write_table(table, tmp))
        self.written.add(encoder_key)
        if len(self.parts(encoder_key)) > AUTO_COMPACT_PARTS:
            self.compact(encoder_key)
        return final

    def compact(self, encoder_key: str) -> Compaction | None:
        """Merge the folder's small parts into as few parts as ``COMPACT_TARGET_BYTES`` allows.

        Returns None when another process is compacting this folder or there is nothing worth merging
        (fewer than two small parts, or a large part beside a few rows: ``MERGE_RATIO``). Safe to run
        while featurize writes to the folder.
        """
        folder = self.folder(encoder_key)
        if not folder.is_dir():
            return None
        started = time.perf_counter()
        with _folder_lock(folder) as locked:
            if not locked:
                return None
            _remove_stale_tmp(folder)
            before = self.parts(encoder_key)
            small = _worth_merging([p for p in before if _size(p) < COMPACT_TARGET_BYTES // 2])
            if not small:
                return None
            rows, dropped = 0, 0
            for group in _groups_by_size(small, COMPACT_TARGET_BYTES):
                written, skipped = _merge(folder, group)
                rows, dropped = rows + written, dropped + skipped
                for part in group:  # only after the merged part is in place: no key is ever missing
                    part.unlink(missing_ok=True)
        return Compaction(
            encoder_key, len(before), len(self.parts(encoder_key)), rows, dropped, time.perf_counter() - started
        )

    def compact_all(self) -> list[Compaction]:
        """``compact`` every encoder folder; the folders that changed."""
        if not self.root.is_dir():
            return []
        done = (self.compact(folder.name) for folder in sorted(self.root.iterdir()) if folder.is_dir())
        return [result for result in done if result is not None]


def features_table(keys: Sequence[str], features: Sequence[Features]) -> pa.Table:
    """(key, Features) pairs as the Arrow table a cache part holds (how a Ray actor sends results back)."""
    if len(keys) != len(features):
        raise ValueError(f"{len(keys)} keys but {len(features)} features")
    return pa.table(_columns(keys, features), schema=SCHEMA)


def table_features(table: pa.Table) -> dict[str, Features]:
    """The inverse of ``features_table`` (extra columns are ignored)."""
    return _features_by_key(table.select(SCHEMA.names))


# ---------------------------------------------------------------- Arrow -> numpy


def _features_by_key(table: pa.Table) -> dict[str, Features]:
    keys = table.column("key").to_pylist()
    vectors = _rows(table.column("vector"))
    flat_sequences = _rows(table.column("sequence"))
    seq_len = table.column("seq_len").fill_null(0).to_numpy()
    texts, infos, errors = (table.column(name).to_pylist() for name in ("text", "info", "error"))
    out: dict[str, Features] = {}
    for i, key in enumerate(keys):  # a key found twice: the last copy wins, as before compaction
        flat = flat_sequences[i]
        sequence = flat.reshape(int(seq_len[i]), -1) if flat is not None and seq_len[i] else None
        out[key] = Features(
            vector=vectors[i],
            sequence=sequence,
            text=texts[i],
            info=orjson.loads(infos[i]) if infos[i] else {},
            error=errors[i],
        )
    return out


def _rows(column: pa.ChunkedArray) -> list[np.ndarray | None]:
    """One float32 array per row (None for a null list): views into one writable block per chunk;
    when every row has the same length, rows of one ``(n, d)`` matrix."""
    out: list[np.ndarray | None] = []
    for chunk in column.chunks:
        valid = chunk.is_valid().to_numpy(zero_copy_only=False)
        if not valid.any():
            out.extend([None] * len(chunk))
            continue
        lengths = pc.list_value_length(chunk).fill_null(0).to_numpy()
        values = np.array(chunk.flatten().to_numpy(zero_copy_only=False), dtype=np.float32)  # one copy: writable
        width = lengths[valid]
        if (width == width[0]).all() and width[0] > 0:
            matrix = values.reshape(-1, int(width[0]))
            rows = iter(matrix)
            out.extend(next(rows) if ok else None for ok in valid)
            continue
        ends = np.cumsum(lengths)
        out.extend(values[end - n : end] if ok else None for ok, n, end in zip(valid, lengths, ends))
    return out


def _fixed_matrix(column: pa.ChunkedArray, encoder_key: str) -> np.ndarray:
    """Non-null fixed-size vectors as one ``(n, d)`` float32 matrix (``flatten`` + reshape, no per-row work)."""
    array = column.combine_chunks()
    lengths = pc.list_value_length(array).to_numpy(zero_copy_only=False)
    if len(lengths) and not (lengths == lengths[0]).all():
        raise ValueError(
            f"the cached vectors of {encoder_key} differ in length ({sorted(set(lengths.tolist()))[:5]}); "
            "delete that folder and run 'postlens featurize' again"
        )
    values = array.flatten().to_numpy(zero_copy_only=False)
    return values.reshape(len(array), int(lengths[0]) if len(lengths) else 0)


# ---------------------------------------------------------------- writing and compaction


def _columns(keys: Sequence[str], features: Sequence[Features]) -> dict[str, list[Any]]:
    cols: dict[str, list[Any]] = {name: [] for name in SCHEMA.names}
    for key, feat in zip(keys, features):
        cols["key"].append(key)
        cols["vector"].append(None if feat.vector is None else np.asarray(feat.vector, np.float32).ravel())
        seq = None if feat.sequence is None else np.asarray(feat.sequence, np.float32)
        cols["seq_len"].append(None if seq is None else int(seq.shape[0]))
        cols["sequence"].append(None if seq is None else seq.ravel())
        cols["text"].append(feat.text)
        cols["info"].append(orjson.dumps(feat.info, default=_jsonable, option=orjson.OPT_SERIALIZE_NUMPY).decode())
        cols["error"].append(feat.error)
    return cols


def _jsonable(value: Any) -> Any:
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot store {type(value).__name__} in feature info")


def _write_part(folder: Path, write: Callable[[Path], None]) -> Path:
    """A new part written under a temporary name and renamed into place (never seen half-written)."""
    final = folder / f"part-{uuid.uuid4().hex}.parquet"
    tmp = folder / f".tmp-{final.name}"
    try:
        write(tmp)
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    return final


def _merge(folder: Path, parts: list[Path]) -> tuple[int, int]:
    """Write the rows of ``parts`` as one part, each key once (its last copy); (rows written, copies dropped)."""
    seen: set[str] = set()
    batches: list[pa.Table] = []
    dropped = 0
    for part in reversed(parts):  # newest name last in listing order: keep the copy read() would keep
        table = pq.read_table(part, schema=SCHEMA)
        keys = table.column("key").to_pylist()
        keep = []
        for key in keys:
            keep.append(key not in seen)
            seen.add(key)
        if not all(keep):
            dropped += keep.count(False)
            table = table.filter(pa.array(keep))
        batches.append(table)
    merged = pa.concat_tables(reversed(batches))
    rows_per_group = max(1024, int(ROW_GROUP_BYTES / max(1, merged.nbytes / max(1, merged.num_rows))))
    _write_part(folder, lambda tmp: pq.write_table(merged, tmp, row_group_size=rows_per_group))
    return merged.num_rows, dropped


def _worth_merging(parts: list[Path]) -> list[Path]:
    """The parts to merge, in listing order: the largest ones are left out while the rest are small beside them."""
    by_size = sorted(parts, key=_size, reverse=True)
    while len(by_size) >= 2 and sum(_size(p) for p in by_size[1:]) < MERGE_RATIO * _size(by_size[0]):
        by_size.pop(0)
    return sorted(by_size) if len(by_size) >= 2 else []


def _groups_by_size(parts: list[Path], target: int) -> Iterator[list[Path]]:
    group: list[Path] = []
    size = 0
    for part in parts:
        if group and size + _size(part) > target:
            if len(group) > 1:
                yield group
            group, size = [], 0
        group.append(part)
        size += _size(part)
    if len(group) > 1:
        yield group


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _remove_stale_tmp(folder: Path) -> None:
    """Temporary files a killed writer left behind (an hour old: never one a live writer is writing)."""
    cutoff = time.time() - _STALE_TMP_SECONDS
    for tmp in folder.glob(".tmp-part-*.parquet"):
        try:
            if tmp.stat().st_mtime < cutoff:
                tmp.unlink()
        except FileNotFoundError:
            pass


@contextmanager
def _folder_lock(folder: Path) -> Iterator[bool]:
    """An exclusive, non-blocking lock on ``folder/.compact.lock``: True when this process holds it."""
    try:
        import fcntl
    except ImportError:  # no flock (Windows): compactions may overlap; readers still see every key
        yield True
        return
    with open(folder / ".compact.lock", "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
