"""Featurize stage: every stored medium and every text field through its encoders, into the cache.

Order matters: media first (OCR, transcripts and on-screen text are text the post did not have),
then the post's text fields (its own text plus those), then text encoders over all of them.
Only (content hash, encoder@version) pairs the cache lacks are computed, so a re-run does no
model work. OCR runs in a worker process while the image embedding runs here: both cores busy.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import pyarrow as pa

from postlens.encoders.base import Encoder, Features, cache_key
from postlens.encoders.registry import EncoderSpec, default_encoder_names, get_spec
from postlens.store.features import FeatureCache
from postlens.store.workspace import Workspace
from postlens.types import Modality

Progress = Callable[[str, int, int], None]
"""Called with (encoder name, items done, items total)."""

MEDIA_KINDS_FOR = {
    Modality.IMAGE: ("image", "gif"),
    Modality.AUDIO: ("audio",),
    Modality.VIDEO: ("video",),
}
TEXT_FIELD_OF = {"ocr": "ocr", "video": "video_text", "audio": "transcript"}
_LOCK = threading.Lock()


@dataclass
class EncoderRun:
    encoder: str
    items: int = 0
    computed: int = 0
    errors: int = 0
    seconds: float = 0.0


@dataclass
class FeaturizeSummary:
    runs: list[EncoderRun] = field(default_factory=list)
    text_fields: int = 0
    seconds: float = 0.0

    @property
    def computed(self) -> int:
        return sum(r.computed for r in self.runs)


def featurize(
    workspace: Workspace,
    *,
    encoders: Sequence[str] | None = None,
    batch_size: int = 32,
    progress: Progress | None = None,
    parallel_ocr: bool = True,
    post_ids: Sequence[str] | None = None,
) -> FeaturizeSummary:
    """Compute what the cache lacks for the named encoders (default: all default encoders).

    ``post_ids`` limits the work to the media and text fields of those posts (prediction on new
    posts); ``text_fields`` is still rebuilt for the whole workspace.
    """
    started = time.perf_counter()
    names = list(encoders or default_encoder_names())
    specs = [get_spec(n) for n in names]
    cache = FeatureCache(workspace.features_dir)
    summary = FeaturizeSummary()
    media_specs = [s for s in specs if s.modality != Modality.TEXT]
    text_specs = [s for s in specs if s.modality == Modality.TEXT]

    ocr_spec = next((s for s in media_specs if s.name == "ocr"), None)
    background: _Background | None = None
    if ocr_spec is not None and parallel_ocr:
        items = _media_items(workspace, MEDIA_KINDS_FOR[Modality.IMAGE], post_ids)
        background = _Background(ocr_spec, items, cache, batch_size, progress)
        media_specs = [s for s in media_specs if s is not ocr_spec]
    try:
        for spec in media_specs:
            # one core each while OCR runs in the worker; oversubscribing 2 cores slows both
            encoder = _build(spec, threads=1 if background is not None else None)
            items = _media_items(workspace, MEDIA_KINDS_FOR[spec.modality], post_ids)
            summary.runs.append(_run(encoder, spec.name, items, cache, batch_size, progress, workspace))
    finally:
        if background is not None:
            summary.runs.append(background.wait())
            _record_errors(workspace, background.errors, background.key)

    summary.text_fields = build_text_fields(workspace, cache, names)
    texts = _text_items(workspace, post_ids)
    for spec in text_specs:
        encoder = spec.build()
        summary.runs.append(_run(encoder, spec.name, texts, cache, max(batch_size, 64), progress, workspace))
    summary.seconds = time.perf_counter() - started
    return summary


def _media_items(workspace: Workspace, kinds: Sequence[str],
                 post_ids: Sequence[str] | None = None) -> list[tuple[str, str]]:
    """(sha256, absolute path) of each distinct stored medium of these kinds (of ``post_ids`` only, if given)."""
    with _only_posts(workspace, post_ids) as where:
        rows = workspace.db.execute(
            "SELECT sha256, any_value(path) FROM media WHERE status = 'stored' AND kind IN "
            f"({', '.join('?' for _ in kinds)}) {where} GROUP BY sha256 ORDER BY sha256",
            list(kinds),
        ).fetchall()
    return [(sha, str(workspace.root / path)) for sha, path in rows]


def _text_items(workspace: Workspace, post_ids: Sequence[str] | None = None) -> list[tuple[str, str]]:
    with _only_posts(workspace, post_ids) as where:
        return workspace.db.execute(
            f"SELECT key, any_value(text) FROM text_fields WHERE true {where} GROUP BY key ORDER BY key"
        ).fetchall()


@contextmanager
def _only_posts(workspace: Workspace, post_ids: Sequence[str] | None) -> Iterator[str]:
    """A SQL condition on ``post_id`` limiting a query to ``post_ids`` ('' when None)."""
    if post_ids is None:
        yield ""
        return
    with _LOCK:
        workspace.db.register("_only_ids", pa.table({"id": pa.array(list(post_ids), pa.string())}))
    try:
        yield "AND post_id IN (SELECT id FROM _only_ids)"
    finally:
        with _LOCK:
            workspace.db.unregister("_only_ids")


def _run(
    encoder: Encoder,
    label: str,
    items: list[tuple[str, Any]],
    cache: FeatureCache,
    batch_size: int,
    progress: Progress | None,
    workspace: Workspace,
) -> EncoderRun:
    key = cache_key(encoder)
    todo_keys = set(cache.missing(key, [k for k, _ in items]))
    todo = [(k, payload) for k, payload in items if k in todo_keys]
    run = EncoderRun(label, items=len(items))
    started = time.perf_counter()
    errors: list[tuple[str, str]] = []
    if progress:
        progress(label, 0, len(todo))
    for start in range(0, len(todo), batch_size):
        chunk = todo[start : start + batch_size]
        feats = encoder.encode([payload for _, payload in chunk])
        with _LOCK:
            cache.write(key, [k for k, _ in chunk], feats)
        run.computed += len(chunk)
        errors.extend((k, f.error) for (k, _), f in zip(chunk, feats) if f.error)
        if progress:
            progress(label, run.computed, len(todo))
    run.errors = len(errors)
    run.seconds = time.perf_counter() - started
    _record_errors(workspace, errors, key)
    return run


def _record_errors(workspace: Workspace, errors: list[tuple[str, str]], encoder_key: str) -> None:
    if not errors:
        return
    now = datetime.now(timezone.utc)
    table = pa.table(
        {
            "key": [k for k, _ in errors],
            "encoder": [encoder_key] * len(errors),
            "post_id": [None] * len(errors),
            "error": [e for _, e in errors],
            "failed_at": pa.array([now] * len(errors), pa.timestamp("us", tz="UTC")),
        }
    )
    with _LOCK:
        workspace.db.register("_errors", table)
        workspace.db.execute("INSERT OR REPLACE INTO feature_errors SELECT * FROM _errors")
        workspace.db.unregister("_errors")


# ------------------------------------------------------------------ text fields


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def build_text_fields(workspace: Workspace, cache: FeatureCache, encoder_names: Sequence[str]) -> int:
    """(Re)build ``text_fields``: each post's own text plus text read from its media.

    field is ``text`` | ``ocr`` | ``video_text`` | ``transcript``; ``key`` is the sha256 of the text,
    which is what text encoders' cache rows are keyed by.
    """
    db = workspace.db
    rows: list[tuple[str, str, str]] = [
        (pid, "text", text) for pid, text in db.execute("SELECT id, text FROM posts WHERE length(trim(text)) > 0").fetchall()
    ]
    for name in ("ocr", "video", "audio"):
        spec = get_spec(name)
        media_text = _cached_text(cache, spec)
        if not media_text:
            continue
        kinds = MEDIA_KINDS_FOR[spec.modality]
        links = db.execute(
            f"SELECT post_id, sha256 FROM media WHERE status = 'stored' AND kind IN ({', '.join('?' for _ in kinds)}) "
            "ORDER BY post_id, position",
            list(kinds),
        ).fetchall()
        per_post: dict[str, list[str]] = {}
        for post_id, sha in links:
            text = media_text.get(sha)
            if text and text not in per_post.setdefault(post_id, []):
                per_post[post_id].append(text)
        rows.extend((pid, TEXT_FIELD_OF[name], "\n".join(texts)) for pid, texts in per_post.items())
    table = pa.table(
        {
            "post_id": [r[0] for r in rows],
            "field": [r[1] for r in rows],
            "text": [r[2] for r in rows],
            "key": [text_key(r[2]) for r in rows],
        }
    )
    with _LOCK:
        db.execute("CREATE OR REPLACE TABLE text_fields (post_id VARCHAR, field VARCHAR, text VARCHAR, key VARCHAR)")
        db.register("_tf", table)
        db.execute("INSERT INTO text_fields SELECT * FROM _tf")
        db.unregister("_tf")
    return len(rows)


def _cached_text(cache: FeatureCache, spec: EncoderSpec) -> dict[str, str]:
    """Text an encoder read from media, from every cached version of it (newest part wins)."""
    out: dict[str, str] = {}
    for folder in sorted(cache.root.glob(f"{spec_cache_prefix(spec)}@*")):
        for key, feats in cache.read(folder.name).items():
            if feats.text and feats.text.strip():
                out[key] = feats.text.strip()
    return out


def spec_cache_prefix(spec: EncoderSpec) -> str:
    """The encoder's ``name`` attribute as the cache folder uses it (class attribute, no model load)."""
    import importlib

    module = importlib.import_module(spec.module)
    factory = getattr(module, spec.factory)
    return str(getattr(factory, "name", spec.name))


# ------------------------------------------------------------------ OCR in a worker process

_WORKER_ENCODER: Encoder | None = None


def _exit_with_parent(parent_pid: int) -> None:
    """Worker initializer: a killed featurize must not leave an orphan burning a core."""
    import os
    import threading

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="postlens-parent-watch").start()


def _worker_encode(spec: EncoderSpec, payloads: list[Any]) -> list[Features]:
    global _WORKER_ENCODER
    if _WORKER_ENCODER is None:
        import torch

        torch.set_num_threads(1)
        _WORKER_ENCODER = _build(spec, threads=1)
    return _WORKER_ENCODER.encode(payloads)


def _build(spec: EncoderSpec, *, threads: int | None) -> Encoder:
    """Build an encoder, pinning its thread count when it takes one (``num_threads``)."""
    import importlib
    import inspect

    if threads is not None:
        factory = getattr(importlib.import_module(spec.module), spec.factory)
        if "num_threads" in inspect.signature(factory).parameters:
            return spec.build(num_threads=threads)
    return spec.build()


class _Background:
    """Runs one encoder in a spawned worker process; results are cached as each chunk returns."""

    def __init__(self, spec: EncoderSpec, items: list[tuple[str, Any]], cache: FeatureCache,
                 batch_size: int, progress: Progress | None) -> None:
        self.spec = spec
        self.cache = cache
        probe = spec.build()
        self.key = cache_key(probe)
        todo_keys = set(cache.missing(self.key, [k for k, _ in items]))
        todo = [(k, p) for k, p in items if k in todo_keys]
        self.run = EncoderRun(spec.name, items=len(items))
        self.errors: list[tuple[str, str]] = []
        self.progress = progress
        self.total = len(todo)
        self.started = time.perf_counter()
        self.pool = ProcessPoolExecutor(
            max_workers=1, mp_context=get_context("spawn"), initializer=_exit_with_parent, initargs=(os.getpid(),)
        )
        self.futures: list[Future[list[Features]]] = []
        step = max(1, batch_size // 4)
        for start in range(0, len(todo), step):
            chunk = todo[start : start + step]
            future = self.pool.submit(_worker_encode, spec, [p for _, p in chunk])
            future.add_done_callback(lambda f, chunk=chunk: self._done(chunk, f))
            self.futures.append(future)
        if progress:
            progress(spec.name, 0, self.total)

    def _done(self, chunk: list[tuple[str, Any]], future: Future[list[Features]]) -> None:
        exc = future.exception()
        feats = future.result() if exc is None else [Features.failed("worker", repr(exc)) for _ in chunk]
        with _LOCK:
            self.cache.write(self.key, [k for k, _ in chunk], feats)
        self.run.computed += len(chunk)
        self.errors.extend((k, f.error) for (k, _), f in zip(chunk, feats) if f.error)
        if self.progress:
            self.progress(self.spec.name, self.run.computed, self.total)

    def wait(self) -> EncoderRun:
        for future in self.futures:
            try:
                future.result()
            except Exception:  # noqa: BLE001 - already recorded as per-item errors in _done
                pass
        self.pool.shutdown()
        self.run.errors = len(self.errors)
        self.run.seconds = time.perf_counter() - self.started
        return self.run
