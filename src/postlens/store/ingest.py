"""Write what an importer yields into a workspace: idempotent, transactional, nothing lost.

Records are buffered and written in batches, each batch in one transaction (posts, their media
rows, engagement snapshots and quarantine rows together), so an import killed midway leaves every
committed batch whole and re-running it completes the job: posts are upserted by id, snapshots by
(post, moment), quarantine rows by (file, line, code, post).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import orjson

from postlens.sources.base import Importer
from postlens.store import tables
from postlens.store.media_gate import storable
from postlens.store.media_store import MediaProblem, MediaStore, clear_incoming
from postlens.store.workspace import Workspace
from postlens.types import Post, Rejected, validate_post

Progress = Callable[[int, int], None]
"""Called with (records seen so far, quarantined so far) after each batch."""


@dataclass
class ImportSummary:
    """Counts of one run. Records read = posts written + ``quarantined`` + blank lines.

    ``quarantined`` counts records that were not imported; ``flagged`` counts problems with one
    field or media part of a post that was imported anyway (``quarantine.post_kept``), of which
    ``media_problems`` are media parts. ``reasons`` counts quarantine rows by code (both kinds).
    """

    run_id: str
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    flagged: int = 0
    snapshots_added: int = 0
    media_stored: int = 0
    media_problems: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def posts_written(self) -> int:
        return self.imported + self.updated + self.unchanged


@dataclass
class _Batch:
    """Keyed like the tables' primary keys, so a post seen twice in one batch is written once (last wins)."""

    posts: dict[str, dict[str, Any]] = field(default_factory=dict)
    media: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    engagement: dict[tuple[str, datetime], dict[str, Any]] = field(default_factory=dict)
    quarantine: list[dict[str, Any]] = field(default_factory=list)


def ingest(
    workspace: Workspace,
    importer: Importer,
    inputs: Iterable[Path],
    *,
    batch_size: int = 2000,
    progress: Progress | None = None,
    options: dict[str, Any] | None = None,
    max_media_bytes: Mapping[str, int] | None = None,
) -> ImportSummary:
    """Import every record of ``inputs`` with ``importer``; returns the counts of this run.

    ``max_media_bytes`` (kind -> bytes) overrides the media size limits of ``media/limits.py``.
    """
    inputs = [Path(p) for p in inputs]
    workspace.mark_interrupted_runs()
    clear_incoming(workspace.media_dir)
    run_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    tables.start_run(workspace.db, run_id, importer.name, [str(p) for p in inputs], options or {})
    writer = _Writer(workspace, run_id, max_media_bytes)
    try:
        for path in inputs:
            writer.consume(path, importer.iter_records(path), batch_size, progress)
        writer.flush()
        writer.wait()
    except BaseException as exc:
        writer.wait(swallow=True)
        tables.finish_run(workspace.db, writer.summary, status="failed", error=repr(exc)[:2000])
        raise
    finally:
        writer.close()
    tables.finish_run(workspace.db, writer.summary, status="done")
    return writer.summary


class _Writer:
    def __init__(self, workspace: Workspace, run_id: str, max_media_bytes: Mapping[str, int] | None = None) -> None:
        self.ws = workspace
        self.media = MediaStore(workspace.root, max_media_bytes)
        self.summary = ImportSummary(run_id=run_id)
        self.batch = _Batch()
        self.seen = 0
        self._ids_by_file: dict[str, set[str]] = {}
        self._now = datetime.now(timezone.utc)
        # DuckDB releases the GIL while it writes: parse batch n+1 while batch n is written.
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="postlens-writer")
        self._pending: Future[tables.BatchCounts] | None = None

    def consume(
        self, path: Path, records: Iterator[Post | Rejected], batch_size: int, progress: Progress | None
    ) -> None:
        for record in records:
            self.seen += 1
            if isinstance(record, Rejected):
                self._reject(record)
            else:
                self._accept(record, default_file=str(path))
            if len(self.batch.posts) + len(self.batch.quarantine) >= batch_size:
                self.flush()
                if progress:
                    progress(self.seen, self.summary.quarantined)
        if progress:
            progress(self.seen, self.summary.quarantined)

    def _reject(self, rejected: Rejected, *, count: bool = True) -> None:
        """Queue a quarantine row; ``count`` False for detail rows of a record already counted."""
        if rejected.post_kept:
            self.summary.flagged += 1
        elif count:
            self.summary.quarantined += 1
        self.summary.reasons[rejected.code] = self.summary.reasons.get(rejected.code, 0) + 1
        self.batch.quarantine.append(
            {
                "file": rejected.file,
                "line": rejected.line or 0,
                "code": rejected.code,
                "post_id": rejected.post_id or "",
                "reason": rejected.reason,
                "raw": rejected.raw[:2000] if rejected.raw else None,
                "run_id": self.summary.run_id,
                "quarantined_at": self._now,
                "post_kept": rejected.post_kept,
            }
        )

    def _problem(self, post: Post, file: str, code: str, reason: str) -> None:
        self._reject(Rejected(file, post.origin_line, code, reason, post_id=post.id))

    def _accept(self, post: Post, default_file: str) -> None:
        file = post.origin_file or default_file
        code = validate_post(post)
        if code is not None:
            self._problem(post, file, code, _REASONS.get(code, code))
            return
        ids = self._ids_by_file.setdefault(file, set())
        if post.id in ids:
            self._problem(post, file, "duplicate_id", f"id {post.id} appears earlier in this file; kept the first")
            return
        ids.add(post.id)
        media_rows, media_problems = self._attach_media(post, file)
        if not post.text.strip() and not any(r["status"] in ("stored", "remote") for r in media_rows):
            self._problem(post, file, "empty_post", "no text, and none of its media could be attached")
            for problem in media_problems:  # why: detail rows of the record just counted
                self._reject(problem, count=False)
            return
        for problem in media_problems:
            problem.post_kept = True
            self._reject(problem)
        self.batch.posts[post.id] = _post_row(post, media_rows, self.summary.run_id, file, self._now)
        self.batch.media[post.id] = media_rows
        for snap in post.engagement:
            self.batch.engagement[(post.id, snap.observed_at)] = (
                {
                    "post_id": post.id, "observed_at": snap.observed_at, "likes": snap.likes,
                    "shares": snap.shares, "comments": snap.comments, "views": snap.views,
                    "run_id": self.summary.run_id, "observed_inferred": snap.observed_inferred,
                }
            )

    def _attach_media(self, post: Post, file: str) -> tuple[list[dict[str, Any]], list[Rejected]]:
        """Media rows of the post, and one quarantine entry per problem code among parts not attached.

        Local files go through the store's gate (confined to ``part.root``); a URL is kept as
        ``remote`` (never fetched). Names are stored escaped, so no name can break the batch.
        """
        rows: list[dict[str, Any]] = []
        problems: dict[str, list[str]] = {}
        for position, part in enumerate(post.media):
            row: dict[str, Any] = {
                "post_id": post.id, "position": position, "kind": str(part.kind), "status": "remote",
                "path": None, "url": storable(part.url), "source_path": storable(part.source_path),
                **self._claimed_facts(part),
            }
            try:
                stored = self.media.add_part(part)
            except MediaProblem as problem:
                row["status"] = "missing" if problem.code == "media_missing" else "rejected"
                self.summary.media_problems += 1
                problems.setdefault(problem.code, []).append(f"part {position + 1}: {problem.reason}")
            else:
                if stored is not None:
                    self.summary.media_stored += 1
                    row.update(
                        status="stored", path=stored.path, sha256=stored.sha256, mime=stored.mime,
                        bytes=stored.bytes, kind=str(stored.kind), width=stored.width,
                        height=stored.height, duration_s=stored.duration_s,
                    )
            rows.append(row)
        # one row per code: the quarantine key is (file, line, code, post), so two parts with the
        # same problem share a row (and a count) instead of one silently replacing the other
        rejected = [Rejected(file, post.origin_line, code, "; ".join(reasons), post_id=post.id)
                    for code, reasons in problems.items()]
        return rows, rejected

    @staticmethod
    def _claimed_facts(part: Any) -> dict[str, Any]:
        """What the source says about a part it did not give us (a URL): kept only when the column can hold it."""
        def count(value: Any, bits: int = 31) -> int | None:
            ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**bits
            return value if ok else None

        def text(value: Any) -> str | None:
            return storable(value)[:200] if isinstance(value, str) else None  # type: ignore[index]

        duration = part.duration_s
        finite = isinstance(duration, (int, float)) and not isinstance(duration, bool) and 0 <= duration < 1e9
        return {"sha256": text(part.sha256), "mime": text(part.mime), "bytes": count(part.bytes, 63),
                "width": count(part.width), "height": count(part.height),
                "duration_s": float(duration) if finite else None}

    def flush(self) -> None:
        batch, self.batch = self.batch, _Batch()
        if not (batch.posts or batch.quarantine):
            return
        self.wait()
        self._pending = self._pool.submit(
            tables.write_batch,
            self.ws.db,
            list(batch.posts.values()),
            [row for rows in batch.media.values() for row in rows],
            list(batch.engagement.values()),
            batch.quarantine,
        )

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def wait(self, *, swallow: bool = False) -> None:
        """Let the batch being written finish (one at a time, in order) and count it."""
        pending, self._pending = self._pending, None
        if pending is None:
            return
        try:
            counts = pending.result()
        except BaseException:
            if swallow:
                return
            raise
        self.summary.imported += counts.new
        self.summary.updated += counts.changed
        self.summary.unchanged += counts.unchanged
        self.summary.snapshots_added += counts.snapshots_added


_REASONS = {
    "missing_id": "the record has no id",
    "empty_post": "the post has neither text nor media",
    "naive_datetime": "created_at has no time zone (importer bug: dates must be UTC-aware)",
}


def _post_row(post: Post, media_rows: list[dict[str, Any]], run_id: str, file: str, now: datetime) -> dict[str, Any]:
    kinds = sorted({r["kind"] for r in media_rows if r["status"] == "stored"})  # attached media only, not URLs
    labels = {str(k): str(v) for k, v in post.labels.items()}
    identity = (
        post.platform, post.text, post.created_at.isoformat() if post.created_at else None, post.language,
        post.author.id, post.author.handle, post.author.followers, post.author.verified,
        post.hashtags, post.mentions, post.urls, sorted(labels.items()),
        [(r["kind"], r["status"], r["sha256"], r["url"]) for r in media_rows],
    )
    content_hash = hashlib.blake2b(orjson.dumps(identity), digest_size=16).hexdigest()
    return {
        "id": post.id, "source": post.source, "native_id": str(post.native_id), "platform": post.platform,
        "created_at": post.created_at, "text": post.text, "language": post.language,
        "author_id": post.author.id, "author_handle": post.author.handle,
        "author_followers": post.author.followers, "author_verified": post.author.verified,
        "hashtags": list(post.hashtags), "mentions": list(post.mentions), "urls": list(post.urls),
        "labels": labels, "media_kinds": kinds, "raw": _raw_json(post.raw), "content_hash": content_hash,
        "run_id": run_id, "origin_file": file, "origin_line": post.origin_line,
        "first_seen": now, "updated_at": now,
    }


def _raw_json(raw: Any) -> str | None:
    if raw is None:
        return None
    return orjson.dumps(raw, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
