"""Featurize on Ray Data: the same items, cache keys and error records as the in-process path.

The driver works out what the cache lacks exactly as ``featurize`` does, writes those items
(content key, file path or capped text, one post that carries it) as Parquet parts in a scratch
folder inside the workspace, and maps one actor pool per encoder over them (``EncodeBatch``: the
model is built once per actor, single-threaded). Actors return the cache's own rows; the driver
writes each batch into the workspace's feature cache as it arrives, so a re-run computes nothing
and an interrupted run keeps every batch already returned. On a cluster the workspace (its media
and this scratch folder) must be on storage every node mounts at the same path (docs/ray.md).
"""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from postlens.encoders.base import cache_key
from postlens.encoders.registry import EncoderSpec, get_spec
from postlens.engine.ray_engine import RayEngine
from postlens.pipeline.featurize import (
    EncoderRun,
    FeaturizeSummary,
    Progress,
    _Errors,
    _media_items,
    _raised,
    _text_batches,
    encode_isolated,
    recording_errors,
)
from postlens.pipeline.featurize_text import build_text_fields, export_text_items
from postlens.pipeline.featurize_worker import build_encoder
from postlens.store.features import FeatureCache, features_table, table_features
from postlens.store.workspace import open_briefly
from postlens.types import MEDIA_KINDS_OF

ITEMS_SCHEMA = pa.schema(
    [("key", pa.string()), ("payload", pa.string()), ("cut", pa.bool_()), ("post_id", pa.string())]
)
"""One item to encode: content key, file path (media) or text (already capped), cut by the cap?, a carrier post."""
SCRATCH_DIR = "tmp"
"""Under the workspace: ``tmp/featurize-<id>/`` holds a run's input parts and is removed when it ends."""
PARTS_PER_WORKER = 16
"""At least this many input parts per actor when there is enough work, so that no actor idles long at the end
(parts differ in cost: one OCR image has more text than another)."""


class EncodeBatch:
    """A Ray actor: one encoder built once, then a batch of items in and the feature cache's rows out
    (plus ``encoder_key``: the key of what made them, ``raised``: not cacheable, ``post_id``)."""

    def __init__(self, encoder: str, threads: int) -> None:
        self.encoder = build_encoder(get_spec(encoder), threads=threads)

    def __call__(self, batch: pa.Table) -> pa.Table:
        keys = batch.column("key").to_pylist()
        cut = batch.column("cut").to_pylist()
        feats = encode_isolated(self.encoder, batch.column("payload").to_pylist())
        for was_cut, feat in zip(cut, feats):
            if was_cut and not feat.error:
                feat.info["truncated"] = True
        table = features_table(keys, feats)
        return (
            table.append_column("encoder_key", pa.array([cache_key(self.encoder)] * len(keys), pa.string()))
            .append_column("raised", pa.array([_raised(f) for f in feats], pa.bool_()))
            .append_column("post_id", batch.column("post_id"))
        )


def media_stage_on(
    engine: RayEngine,
    root: Path,
    cache: FeatureCache,
    specs: list[EncoderSpec],
    batch_size: int,
    progress: Progress | None,
    post_ids: Sequence[str] | None,
    summary: FeaturizeSummary,
) -> None:
    """``featurize``'s media stage on ``engine``: every media encoder over the stored media it lacks."""
    errors = _Errors()
    with open_briefly(root) as ws:
        items = {
            spec.name: _media_items(ws.db, root, MEDIA_KINDS_OF[spec.modality], post_ids, errors.carriers)
            for spec in specs
        }
    with recording_errors(root, errors), _scratch(root) as scratch:
        for spec in specs:
            key = cache_key(spec.build())  # encoders load their model lazily: building one is cheap
            todo_keys = set(cache.missing(key, [k for k, _ in items[spec.name]]))
            rows = (
                {"key": k, "payload": path, "cut": False, "post_id": errors.carriers.get(k)}
                for k, path in items[spec.name]
                if k in todo_keys
            )
            run = EncoderRun(spec.name, items=len(items[spec.name]))
            summary.runs.append(run)
            # OCR reads an image for seconds: smaller batches keep every actor busy (as the local worker does)
            size = max(1, batch_size // 4) if spec.name == "ocr" else batch_size
            _encode(engine, spec, rows, len(todo_keys), scratch, cache, size, progress, errors, run)


def text_stage_on(
    engine: RayEngine,
    root: Path,
    cache: FeatureCache,
    specs: list[EncoderSpec],
    batch_size: int,
    progress: Progress | None,
    post_ids: Sequence[str] | None,
    max_chars: int,
    summary: FeaturizeSummary,
) -> None:
    """``featurize``'s text stage on ``engine``: text fields rebuilt, then every text encoder over what it lacks."""
    keys = {spec.name: cache_key(spec.build()) for spec in specs}
    errors = _Errors()
    with recording_errors(root, errors), _scratch(root) as scratch:
        items_file = scratch / "texts.parquet"
        with open_briefly(root) as ws:
            summary.text_fields = build_text_fields(ws.db, cache)
            todo = export_text_items(ws.db, items_file, list(keys.values()), cache, post_ids, max_chars)
        for spec in specs:
            run = EncoderRun(spec.name, items=todo.items)
            summary.runs.append(run)
            wanted = todo.missing[keys[spec.name]]
            rows = (
                {"key": r["key"], "payload": r["text"], "cut": r["cut"], "post_id": r["post_id"]}
                for chunk in (_text_batches(items_file, wanted, batch_size) if wanted else ())
                for r in chunk
            )
            _encode(engine, spec, rows, len(wanted), scratch, cache, batch_size, progress, errors, run)


def _encode(
    engine: RayEngine,
    spec: EncoderSpec,
    rows: Iterable[dict[str, Any]],
    total: int,
    scratch: Path,
    cache: FeatureCache,
    batch_size: int,
    progress: Progress | None,
    errors: _Errors,
    run: EncoderRun,
) -> None:
    """Write ``rows`` as parts, map the encoder's actor pool over them, cache each batch that comes back."""
    if progress:
        progress(run.encoder, 0, total)
    if not total:
        return
    folder = scratch / spec.name
    per_part = batch_size * max(1, total // (batch_size * engine.pool_size() * PARTS_PER_WORKER))
    parts = write_parts(rows, folder, per_part)
    kwargs = {"encoder": spec.name, "threads": engine.threads_per_worker}
    started = time.perf_counter()
    for table in engine.map_parquet(parts, EncodeBatch, kwargs, batch_size=batch_size):
        _cache_results(table, cache, errors, run)
        run.seconds = time.perf_counter() - started
        if progress:
            progress(run.encoder, run.computed, total)
    shutil.rmtree(folder, ignore_errors=True)


def _cache_results(table: pa.Table, cache: FeatureCache, errors: _Errors, run: EncoderRun) -> None:
    """One returned batch into the cache (items whose encoder raised are not cached: a re-run retries them)."""
    feats = table_features(table)
    raised = table.column("raised").to_pylist()
    carriers = table.column("post_id").to_pylist()
    by_encoder: dict[str, list[int]] = {}
    for i, encoder_key in enumerate(table.column("encoder_key").to_pylist()):
        by_encoder.setdefault(encoder_key, []).append(i)
    keys = table.column("key").to_pylist()
    for encoder_key, rows in by_encoder.items():
        cacheable = [keys[i] for i in rows if not raised[i]]
        if cacheable:
            cache.write(encoder_key, cacheable, [feats[k] for k in cacheable])
        for i in rows:
            if feats[keys[i]].error and carriers[i] is not None:
                errors.carriers.setdefault(keys[i], carriers[i])
        run.errors += errors.add(encoder_key, [keys[i] for i in rows], [feats[keys[i]] for i in rows])
    run.computed += table.num_rows


def write_parts(rows: Iterable[dict[str, Any]], folder: Path, rows_per_part: int) -> list[Path]:
    """``rows`` as ``part-NNNNN.parquet`` files of ``rows_per_part`` rows in ``folder`` (streamed)."""
    folder.mkdir(parents=True, exist_ok=True)
    parts: list[Path] = []
    for chunk in _chunks(rows, rows_per_part):
        parts.append(folder / f"part-{len(parts):05d}.parquet")
        pq.write_table(pa.Table.from_pylist(chunk, schema=ITEMS_SCHEMA), parts[-1])
    return parts


def _chunks(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


@contextmanager
def _scratch(root: Path) -> Iterator[Path]:
    """A fresh folder inside the workspace (every node of a cluster sees it there), removed at the end."""
    folder = root / SCRATCH_DIR / f"featurize-{uuid.uuid4().hex[:12]}"
    folder.mkdir(parents=True)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        try:
            folder.parent.rmdir()  # only when empty: another run may be using it
        except OSError:
            pass
