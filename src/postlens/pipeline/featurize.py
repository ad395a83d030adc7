"""Featurize stage: every stored medium and every text field through its encoders, into the cache.

Order matters: media first (OCR, transcripts and on-screen text are text the post did not have),
then the post's text fields (its own text plus those), then text encoders over all of them.
Only (content hash, encoder@version) pairs the cache lacks are computed, so a re-run does no
model work. OCR runs in a supervised worker process while the image embedding runs here.

The workspace database is opened only for short reads and writes (``open_briefly``) and closed
while models run: the feature cache is Parquet files, so ``postlens stats`` or ``sql`` can open the
workspace while featurize works. Ctrl-C (or SIGTERM through the CLI) stops it promptly: the worker
is terminated and joined, everything already computed stays in the cache, and a re-run resumes.
"""

from __future__ import annotations

import logging
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from postlens.encoders.base import Encoder, Features, cache_key, default_threads
from postlens.encoders.identity import spec_cache_prefix, text_key
from postlens.encoders.registry import EncoderSpec, default_encoder_names, get_spec
from postlens.engine.base import Engine, is_local
from postlens.errors import ConfigError
from postlens.pipeline.featurize_text import (
    TEXT_MAX_CHARS,
    build_text_fields,
    cut_at_space,
    export_text_items,
)
from postlens.pipeline.featurize_worker import RAISED, SupervisedRun, build_encoder
from postlens.store.features import FeatureCache
from postlens.store.workspace import Workspace, open_briefly, resolve_workspace_path
from postlens.types import MEDIA_KINDS_OF, Modality

__all__ = [
    "TEXT_MAX_CHARS",
    "EncoderRun",
    "FeaturizeInterrupted",
    "FeaturizeSummary",
    "build_text_fields",
    "featurize",
    "spec_cache_prefix",
    "text_key",
]

LOG = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]
MEDIA_BATCH = 32
"""Media items per model call by default (``postlens featurize --batch-size``)."""
TEXT_BATCH_MIN = 64
"""Text encoders get at least this many texts per call: a short text costs little, a call's overhead much."""
"""Called with (encoder name, items done, items total)."""


@dataclass
class EncoderRun:
    encoder: str
    items: int = 0
    computed: int = 0
    errors: int = 0
    seconds: float = 0.0
    restarts: int = 0  # worker processes restarted after a crash


@dataclass
class FeaturizeSummary:
    runs: list[EncoderRun] = field(default_factory=list)
    text_fields: int = 0
    seconds: float = 0.0
    interrupted: bool = False

    @property
    def computed(self) -> int:
        return sum(r.computed for r in self.runs)


class FeaturizeInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped featurize; ``summary`` says what was computed (and cached) before it."""

    def __init__(self, summary: FeaturizeSummary) -> None:
        super().__init__(f"featurize interrupted after computing {summary.computed:,} items")
        self.summary = summary


@dataclass
class _Failure:
    encoder_key: str
    key: str
    error: str


@dataclass
class _Errors:
    """Per-item failures and successes of this run, written to ``feature_errors`` in one short write."""

    failures: list[_Failure] = field(default_factory=list)
    succeeded: dict[str, list[str]] = field(default_factory=dict)  # encoder key -> keys computed without error
    carriers: dict[str, str] = field(default_factory=dict)  # item key -> one post id that carries it

    def add(self, encoder_key: str, keys: Sequence[str], feats: Sequence[Features]) -> int:
        failed = 0
        for key, feat in zip(keys, feats):
            if feat.error:
                self.failures.append(_Failure(encoder_key, key, feat.error))
                failed += 1
            else:
                self.succeeded.setdefault(encoder_key, []).append(key)
        return failed


def featurize(
    workspace: Workspace | str | Path,
    *,
    encoders: Sequence[str] | None = None,
    batch_size: int = MEDIA_BATCH,
    progress: Progress | None = None,
    parallel_ocr: bool = True,
    post_ids: Sequence[str] | None = None,
    text_max_chars: int = TEXT_MAX_CHARS,
    engine: Engine | None = None,
) -> FeaturizeSummary:
    """Compute what the cache lacks for the named encoders (default: all default encoders).

    ``workspace`` is a Workspace or its folder; only its path is used (the database is opened
    briefly when needed). ``post_ids`` limits the work to the media and text fields of those
    posts (prediction on new posts); ``text_fields`` is still rebuilt for the whole workspace.
    Text encoders see at most ``text_max_chars`` characters of a text (cache key: the full text).
    Raises ``FeaturizeInterrupted`` (a KeyboardInterrupt) on Ctrl-C, after stopping the worker.
    At the end, the parts written (one per batch) are merged into a few (``FeatureCache.compact``).
    ``engine``: where the encoders run (default: this process; a ``RayEngine``: one actor pool per encoder,
    same cache keys and features; ``parallel_ocr`` is then moot, OCR is one more pool).
    """
    started = time.perf_counter()
    root = workspace.root if isinstance(workspace, Workspace) else resolve_workspace_path(workspace)
    names = list(encoders or default_encoder_names())
    specs = [get_spec(n) for n in names]
    cache = FeatureCache(root / "features")
    summary = FeaturizeSummary()
    media_specs = [s for s in specs if s.modality != Modality.TEXT]
    text_specs = [s for s in specs if s.modality == Modality.TEXT]
    text_batch = max(batch_size, TEXT_BATCH_MIN)
    try:
        if not is_local(engine):
            from postlens.engine.ray_engine import RayEngine
            from postlens.pipeline.featurize_ray import media_stage_on, text_stage_on

            if not isinstance(engine, RayEngine):
                raise ConfigError(f"featurize runs on the local or the Ray engine, not {engine!r}")
            if media_specs:
                media_stage_on(engine, root, cache, media_specs, batch_size, progress, post_ids, summary)
            text_stage_on(engine, root, cache, text_specs, text_batch, progress, post_ids, text_max_chars, summary)
        else:
            if media_specs:
                _media_stage(root, cache, media_specs, batch_size, progress, parallel_ocr, post_ids, summary)
            _text_stage(root, cache, text_specs, text_batch, progress, post_ids, text_max_chars, summary)
        for encoder_key in sorted(cache.written):  # one part per batch was written: merge them for fast reads
            cache.compact(encoder_key)
    except KeyboardInterrupt as exc:
        summary.interrupted = True
        summary.seconds = time.perf_counter() - started
        raise FeaturizeInterrupted(summary) from exc
    summary.seconds = time.perf_counter() - started
    return summary


# ------------------------------------------------------------------ media


def _media_stage(
    root: Path,
    cache: FeatureCache,
    specs: list[EncoderSpec],
    batch_size: int,
    progress: Progress | None,
    parallel_ocr: bool,
    post_ids: Sequence[str] | None,
    summary: FeaturizeSummary,
) -> None:
    errors = _Errors()
    with open_briefly(root) as ws:  # one short read; the database is closed while models run
        items = {
            spec.name: _media_items(ws.db, root, MEDIA_KINDS_OF[spec.modality], post_ids, errors.carriers)
            for spec in specs
        }
    ocr_spec = next((s for s in specs if s.name == "ocr"), None) if parallel_ocr else None
    background: _Background | None = None
    try:
        if ocr_spec is not None:
            background = _Background(ocr_spec, items[ocr_spec.name], cache, batch_size, progress, errors)
            summary.runs.append(background.run)
            background.start()  # only once ``background`` is bound, so that an interrupt can stop it
        for spec in specs:
            if spec is ocr_spec:
                continue
            # one core each while OCR runs in the worker; oversubscribing the cores slows both
            encoder = build_encoder(spec, threads=1 if background is not None else None)
            run = EncoderRun(spec.name)
            summary.runs.append(run)
            _run(encoder, run, items[spec.name], cache, batch_size, progress, errors)
        if background is not None:
            background.supervised.threads = default_threads()  # this process is done: OCR gets every core
            background.wait()
    except BaseException:  # Ctrl-C or a fatal error: stop the worker, keep what was learnt, re-raise
        if background is not None:
            background.stop()
        _write_errors_anyway(root, errors)
        raise
    if background is not None:
        background.stop()
    _write_errors(root, errors)


def _media_items(
    db: duckdb.DuckDBPyConnection,
    root: Path,
    kinds: Sequence[str],
    post_ids: Sequence[str] | None,
    carriers: dict[str, str],
) -> list[tuple[str, str]]:
    """(sha256, absolute path) of each distinct stored medium of these kinds (of ``post_ids`` only, if given)."""
    with _only_posts(db, post_ids) as where:
        rows = db.execute(
            "SELECT sha256, any_value(path), min(post_id) FROM media WHERE status = 'stored' AND kind IN "
            f"({', '.join('?' for _ in kinds)}) {where} GROUP BY sha256 ORDER BY sha256",
            list(kinds),
        ).fetchall()
    carriers.update((sha, post_id) for sha, _, post_id in rows)
    return [(sha, str(root / path)) for sha, path, _ in rows]


@contextmanager
def _only_posts(db: duckdb.DuckDBPyConnection, post_ids: Sequence[str] | None) -> Iterator[str]:
    """A SQL condition on ``post_id`` limiting a query to ``post_ids`` ('' when None)."""
    if post_ids is None:
        yield ""
        return
    db.register("_only_ids", pa.table({"id": pa.array(list(post_ids), pa.string())}))
    try:
        yield "AND post_id IN (SELECT id FROM _only_ids)"
    finally:
        db.unregister("_only_ids")


def _run(
    encoder: Encoder,
    run: EncoderRun,
    items: list[tuple[str, Any]],
    cache: FeatureCache,
    batch_size: int,
    progress: Progress | None,
    errors: _Errors,
) -> None:
    """Encode in this process what the cache lacks, a batch at a time, caching each batch as it returns."""
    key = cache_key(encoder)
    todo_keys = set(cache.missing(key, [k for k, _ in items]))
    todo = [(k, payload) for k, payload in items if k in todo_keys]
    if todo:
        key = _settled_key(encoder, key)
    run.items = len(items)
    started = time.perf_counter()
    if progress:
        progress(run.encoder, 0, len(todo))
    for start in range(0, len(todo), batch_size):
        chunk = todo[start : start + batch_size]
        feats = encode_isolated(encoder, [payload for _, payload in chunk])
        cacheable = [(k, f) for (k, _), f in zip(chunk, feats) if not _raised(f)]
        if cacheable:
            cache.write(key, [k for k, _ in cacheable], [f for _, f in cacheable])
        run.computed += len(chunk)
        run.errors += errors.add(key, [k for k, _ in chunk], feats)
        run.seconds = time.perf_counter() - started
        if progress:
            progress(run.encoder, run.computed, len(todo))


def _settled_key(encoder: Encoder, key: str) -> str:
    """The cache key once the model is loaded: a runtime that cannot load (a failed ONNX export) falls
    back to torch, and the key of what really makes the vectors says so. Loaded only when there is work."""
    getattr(encoder, "model", None)
    settled = cache_key(encoder)
    if settled != key:
        LOG.warning("%s: writing under %s, not %s (the model fell back to another runtime)", key, settled, key)
    return settled


def encode_isolated(encoder: Encoder, payloads: list[Any]) -> list[Features]:
    """``encoder.encode``; if it raises (it should not), item by item so only the culprits fail (uncached)."""
    try:
        feats = encoder.encode(payloads)
        if len(feats) == len(payloads):
            return feats
    except Exception:  # noqa: BLE001 - isolate below
        pass
    out: list[Features] = []
    for payload in payloads:
        try:
            out.extend(encoder.encode([payload])[:1] or [Features.failed(RAISED, "no result")])
        except Exception as exc:  # noqa: BLE001 - reported per item, not cached: a fixed encoder retries it
            out.append(Features.failed(RAISED, f"{type(exc).__name__}: {exc}"))
    return out


def _raised(feat: Features) -> bool:
    return bool(feat.error and feat.error.startswith(f"{RAISED}:"))


class _Background:
    """One media encoder (OCR) in a supervised worker process; each chunk is cached as it returns."""

    def __init__(
        self,
        spec: EncoderSpec,
        items: list[tuple[str, Any]],
        cache: FeatureCache,
        batch_size: int,
        progress: Progress | None,
        errors: _Errors,
    ) -> None:
        self.key = cache_key(spec.build())
        self.cache, self.errors, self.progress = cache, errors, progress
        todo_keys = set(cache.missing(self.key, [k for k, _ in items]))
        todo = [(k, p) for k, p in items if k in todo_keys]
        self.run = EncoderRun(spec.name, items=len(items))
        self.total = len(todo)
        self.started = time.perf_counter()
        if progress:
            progress(spec.name, 0, self.total)
        self.supervised = SupervisedRun(spec, todo, max(1, batch_size // 4), self._done)

    def start(self) -> None:
        self.supervised.start()

    def _done(self, chunk: list[tuple[str, Any]], feats: list[Features]) -> None:
        self.cache.write(self.key, [k for k, _ in chunk], feats)
        self._count(len(chunk), self.errors.add(self.key, [k for k, _ in chunk], feats))

    def _count(self, items: int, errors: int) -> None:
        self.run.computed += items
        self.run.errors += errors
        self.run.seconds = time.perf_counter() - self.started
        if self.progress:
            self.progress(self.run.encoder, self.run.computed, self.total)

    def wait(self) -> None:
        self.supervised.wait()

    def stop(self) -> None:
        """Cancel what is pending, terminate and join the worker; record items that crashed it twice."""
        self.supervised.stop()
        self.run.restarts = self.supervised.restarts
        failed = self.supervised.failed
        self.supervised.failed = []
        for key, error in failed:
            self.errors.failures.append(_Failure(self.key, key, error))
        if failed:
            self._count(len(failed), len(failed))


def _write_errors(root: Path, errors: _Errors, *, wait_seconds: float = 60.0) -> None:
    """Record this run's failures (with a post that carries each item) and clear rows of items now computed."""
    if not errors.failures and not errors.succeeded:
        return
    now = datetime.now(UTC)
    failures = pa.table(
        {
            "key": [f.key for f in errors.failures],
            "encoder": [f.encoder_key for f in errors.failures],
            "post_id": [errors.carriers.get(f.key) for f in errors.failures],
            "error": [f.error for f in errors.failures],
            "failed_at": pa.array([now] * len(errors.failures), pa.timestamp("us", tz="UTC")),
        },
        schema=pa.schema(
            [
                ("key", pa.string()),
                ("encoder", pa.string()),
                ("post_id", pa.string()),
                ("error", pa.string()),
                ("failed_at", pa.timestamp("us", tz="UTC")),
            ]
        ),
    )
    done = pa.table(
        {
            "encoder": [enc for enc, keys in errors.succeeded.items() for _ in keys],
            "key": [k for keys in errors.succeeded.values() for k in keys],
        },
        schema=pa.schema([("encoder", pa.string()), ("key", pa.string())]),
    )
    with open_briefly(root, wait_seconds=wait_seconds) as ws:
        db = ws.db
        db.register("_failed", failures)
        db.register("_done", done)
        try:
            db.execute("BEGIN")
            db.execute("DELETE FROM feature_errors WHERE (encoder, key) IN (SELECT (encoder, key) FROM _done)")
            db.execute("INSERT OR REPLACE INTO feature_errors SELECT * FROM _failed")
            db.execute("COMMIT")
        finally:
            db.unregister("_failed")
            db.unregister("_done")


def _write_errors_anyway(root: Path, errors: _Errors) -> None:
    """On the way out of an interrupted or failed run: record what is known, but never hide why it stopped."""
    try:
        _write_errors(root, errors, wait_seconds=10.0)
    except Exception as exc:  # noqa: BLE001 - the original exception matters more
        warnings.warn(
            f"featurize could not record {len(errors.failures):,} item failures in feature_errors: {exc}", stacklevel=2
        )


@contextmanager
def recording_errors(root: Path, errors: _Errors) -> Iterator[None]:
    """Record ``errors`` in ``feature_errors`` when the block ends, also when it is interrupted or fails."""
    try:
        yield
    except BaseException:
        _write_errors_anyway(root, errors)
        raise
    _write_errors(root, errors)


# ------------------------------------------------------------------ text


def _text_stage(
    root: Path,
    cache: FeatureCache,
    specs: list[EncoderSpec],
    batch_size: int,
    progress: Progress | None,
    post_ids: Sequence[str] | None,
    max_chars: int,
    summary: FeaturizeSummary,
) -> None:
    encoders = [(spec, spec.build()) for spec in specs]
    errors = _Errors()
    with tempfile.TemporaryDirectory(prefix="postlens-featurize-") as tmp:
        items_file = Path(tmp) / "texts.parquet"
        with open_briefly(root) as ws:  # rebuild text_fields, export the capped texts to encode, close
            summary.text_fields = build_text_fields(ws.db, cache)
            todo = export_text_items(ws.db, items_file, [cache_key(e) for _, e in encoders], cache, post_ids, max_chars)
        with recording_errors(root, errors):
            for spec, encoder in encoders:
                run = EncoderRun(spec.name, items=todo.items)
                summary.runs.append(run)
                _run_text(
                    encoder, run, items_file, todo.missing[cache_key(encoder)], cache, batch_size, progress, errors
                )


def _run_text(
    encoder: Encoder,
    run: EncoderRun,
    items_file: Path,
    todo: set[str],
    cache: FeatureCache,
    batch_size: int,
    progress: Progress | None,
    errors: _Errors,
) -> None:
    """Stream the exported texts, encode those this encoder lacks; texts cut by the cap say so in ``info``."""
    key = cache_key(encoder)
    started = time.perf_counter()
    if progress:
        progress(run.encoder, 0, len(todo))
    if not todo:
        return
    key = _settled_key(encoder, key)
    for chunk in _text_batches(items_file, todo, batch_size):
        keys = [row["key"] for row in chunk]
        feats = encode_isolated(encoder, [row["text"] for row in chunk])
        for row, feat in zip(chunk, feats):
            if row["cut"] and not feat.error:
                feat.info["truncated"] = True
            if feat.error:
                errors.carriers[row["key"]] = row["post_id"]
        cacheable = [(k, f) for k, f in zip(keys, feats) if not _raised(f)]
        if cacheable:
            cache.write(key, [k for k, _ in cacheable], [f for _, f in cacheable])
        run.computed += len(chunk)
        run.errors += errors.add(key, keys, feats)
        run.seconds = time.perf_counter() - started
        if progress:
            progress(run.encoder, run.computed, len(todo))


def _text_batches(items_file: Path, wanted: set[str], batch_size: int) -> Iterable[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for record_batch in pq.ParquetFile(items_file).iter_batches(batch_size=1024):
        for row in record_batch.to_pylist():
            if row["key"] in wanted:
                if row["cut"]:
                    row["text"] = cut_at_space(row["text"])
                batch.append(row)
                if len(batch) == batch_size:
                    yield batch
                    batch = []
    if batch:
        yield batch
