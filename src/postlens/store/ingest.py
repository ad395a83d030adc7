"""Write what an importer yields into a workspace: idempotent, transactional, nothing lost.

Records are buffered and written in batches, each batch in one transaction (posts, their media
rows, engagement snapshots and quarantine rows together), so an import killed midway leaves every
committed batch whole and re-running it completes the job: posts are upserted by id, snapshots by
(post, moment), quarantine rows by (file, line, code, post).

Every post passes ``values.repair_post`` at the door, so no value can make the database refuse a
batch. Should a batch be refused all the same, it is split in halves until the offending record is
alone; that record is quarantined (``write_failed``) and the rest committed. The run's counts
(``import_runs``) are taken from what was committed, never from what was queued, and media files
stored only for records that were not committed are removed at the end of the run.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from postlens.errors import PostlensError
from postlens.store import runs, tables
from postlens.store.media_gate import storable
from postlens.store.media_store import MediaProblem, MediaStore, clear_incoming
from postlens.store.post_hash import content_hash
from postlens.store.runs import ImportSummary
from postlens.store.workspace import Workspace
from postlens.types import INVALID_POST_REASONS, RAW_LIMIT, Importer, Post, Rejected, validate_post
from postlens.values import json_text, repair_post, safe_text, show

BATCH_SIZE = 2000
"""Records written per transaction by default (``postlens ingest --batch-size``)."""
Progress = Callable[[int, int], None]
"""Called with (records seen so far, quarantined so far) after each batch."""

_FATAL = (MemoryError, duckdb.OperationalError, duckdb.FatalException, duckdb.InternalException,
          duckdb.InterruptException)
"""Failures of the database itself (disk, memory, a closed connection): the run stops, nothing is split."""
NAIVE_DATES = "created_at_naive_as_utc"
WRITE_FAILED = "write_failed"
NOT_RECORDED = "records_not_recorded"
ORPHANS_REMOVED = "orphan_media_removed"


@dataclass
class _Unit:
    """The rows of one record: a post with its media, snapshots and flagged-field rows, or quarantine
    rows alone. A refused batch is split along units. Quarantine rows carry ``_kind``: ``record`` (a
    record not imported), ``detail`` (more about a record already counted) or ``kept`` (a flagged post)."""

    post: dict[str, Any] | None = None
    media: list[dict[str, Any]] = field(default_factory=list)
    engagement: list[dict[str, Any]] = field(default_factory=list)
    quarantine: list[dict[str, Any]] = field(default_factory=list)
    naive: bool = False
    stored_paths: list[str] = field(default_factory=list)


@dataclass
class _Written:
    """What one submitted batch committed (summed over the halves when it had to be split)."""

    new: int = 0
    changed: int = 0
    unchanged: int = 0
    snapshots_added: int = 0
    units: list[_Unit] = field(default_factory=list)
    failed: list[_Unit] = field(default_factory=list)
    not_recorded: int = 0


def ingest(
    workspace: Workspace,
    importer: Importer,
    inputs: Iterable[Path],
    *,
    batch_size: int = BATCH_SIZE,
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
    runs.start_run(workspace.db, run_id, importer.name, [safe_text(str(p)) for p in inputs], options or {})
    writer = _Writer(workspace, run_id, max_media_bytes)
    try:
        for path in inputs:
            writer.consume(path, _guarded(path, importer.iter_records(path)), batch_size, progress)
        writer.flush()
        writer.wait()
    except BaseException as exc:
        writer.wait(swallow=True)
        writer.remove_orphans(everything_in_flight=True)
        runs.finish_run(workspace.db, writer.summary, status="failed", error=repr(exc)[:2000])
        raise
    finally:
        writer.close()
    writer.remove_orphans()
    runs.finish_run(workspace.db, writer.summary, status="done")
    return writer.summary


def _guarded(path: Path, records: Iterable[Post | Rejected]) -> Iterator[Post | Rejected]:
    """An importer that breaks part-way (a bug, not a bad record) ends its input with one quarantine row;
    the run goes on with the next input. Errors postlens raises on purpose (an unreadable file, a
    mapping naming missing columns) still stop the run with their message."""
    count = 0
    iterator = iter(records)
    while True:
        try:
            record = next(iterator)
        except StopIteration:
            return
        except PostlensError:
            raise
        except Exception as exc:  # noqa: BLE001
            yield Rejected(str(path), None, "importer_failed",
                           f"the importer stopped after {count} records of this input ({type(exc).__name__}: "
                           f"{str(exc)[:300]}); the rest was not read. Please report this postlens bug.")
            return
        count += 1
        yield record


class _Writer:
    def __init__(self, workspace: Workspace, run_id: str, max_media_bytes: Mapping[str, int] | None = None) -> None:
        self.ws = workspace
        self.media = MediaStore(workspace.root, max_media_bytes)
        self.summary = ImportSummary(run_id=run_id)
        self.units: list[_Unit] = []
        self._batch_ids: set[str] = set()
        self.seen = 0
        self._ids_by_file: dict[str, set[str]] = {}
        self._keys_file: str | None = None
        self._keys: dict[tuple[str, int, str, str], int] = {}
        self._now = datetime.now(timezone.utc)
        self._orphan_candidates: set[str] = set()
        self._in_flight: list[_Unit] = []
        # DuckDB releases the GIL while it writes: parse batch n+1 while batch n is written.
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="postlens-writer")
        self._pending: Future[_Written] | None = None

    def consume(
        self, path: Path, records: Iterator[Post | Rejected], batch_size: int, progress: Progress | None
    ) -> None:
        for record in records:
            self.seen += 1
            if isinstance(record, Rejected):
                self._queue(_Unit(quarantine=[self._row(record, "record")]))
            elif not isinstance(record, Post):
                self._queue(_Unit(quarantine=[self._row(Rejected(
                    str(path), None, "record_error", f"the importer yielded {show(record)} ({type(record).__name__}), "
                    "not a post; please report this postlens bug", raw=json_text(record)[:RAW_LIMIT]), "record")]))
            else:
                try:
                    self._accept(record, default_file=str(path))
                except Exception as exc:  # noqa: BLE001 - the last net: one post, never the file
                    self._queue(self._problem(
                        record, record.origin_file or str(path), "record_error",
                        f"the post could not be prepared for storing ({type(exc).__name__}: {str(exc)[:300]}); "
                        "please report this postlens bug"))
            if len(self.units) >= batch_size:
                self.flush()
                if progress:
                    progress(self.seen, self.summary.quarantined)
        if progress:
            progress(self.seen, self.summary.quarantined)

    def _queue(self, unit: _Unit) -> None:
        if unit.post is not None:
            if unit.post["id"] in self._batch_ids:  # the same id from another file: write the first one first
                self.flush()
            self._batch_ids.add(unit.post["id"])
        self.units.append(unit)

    def _row(self, rejected: Rejected, kind: str) -> dict[str, Any]:
        """A quarantine row, made storable, with a key unique within the run (``#2``... added to the
        post id when one line yields several rows with the same code, e.g. elements of a JSON list)."""
        file = safe_text(rejected.file)
        post_id = _short_id(rejected.post_id or "")
        key = (file, rejected.line or 0, rejected.code, post_id)
        if file != self._keys_file:
            self._keys_file, self._keys = file, {}
        repeat = self._keys.get(key, 0) + 1
        self._keys[key] = repeat
        if repeat > 1:
            post_id = f"{post_id}#{repeat}"
        return {
            "file": file,
            "line": rejected.line or 0,
            "code": safe_text(rejected.code),
            "post_id": post_id,
            "reason": safe_text(rejected.reason)[:4000],
            "raw": safe_text(rejected.raw[:RAW_LIMIT]) if rejected.raw else None,
            "run_id": self.summary.run_id,
            "quarantined_at": self._now,
            "post_kept": kind == "kept",
            "_kind": kind,
        }

    def _problem(self, post: Post, file: str, code: str, reason: str) -> _Unit:
        post_id = post.id if code != "bad_id" else None
        return _Unit(quarantine=[self._row(Rejected(file, post.origin_line, code, reason, post_id=post_id), "record")])

    def _accept(self, post: Post, default_file: str) -> None:
        file = post.origin_file or default_file
        repair_post(post, self._now)
        code = validate_post(post)
        if code is not None:
            self._queue(self._problem(post, file, code, INVALID_POST_REASONS.get(code, code)))
            return
        ids = self._ids_by_file.setdefault(file, set())
        if post.id in ids:
            self._queue(self._problem(post, file, "duplicate_id",
                                      f"id {post.id} appears earlier in this file; kept the first"))
            return
        ids.add(post.id)
        media_rows, media_problems = self._attach_media(post, file)
        stored = [r["path"] for r in media_rows if r["status"] == "stored" and r["path"]]
        if not post.text.strip() and not any(r["status"] in ("stored", "remote") for r in media_rows):
            unit = self._problem(post, file, "empty_post", "no text, and none of its media could be attached")
            unit.quarantine += [self._row(problem, "detail") for problem in media_problems]
            unit.stored_paths = stored
            self._orphan_candidates.update(stored)
            self._queue(unit)
            return
        unit = _Unit(post=_post_row(post, media_rows, self.summary.run_id, file, self._now), media=media_rows,
                     naive=post.created_at_naive, stored_paths=stored)
        unit.quarantine = [self._row(problem, "kept") for problem in media_problems]
        unit.quarantine += [self._row(note, "kept") for note in _merged_notes(post, file)]
        snapshots = {}
        for snap in post.engagement:
            snapshots[snap.observed_at] = {
                "post_id": post.id, "observed_at": snap.observed_at, "likes": snap.likes,
                "shares": snap.shares, "comments": snap.comments, "views": snap.views,
                "run_id": self.summary.run_id, "observed_inferred": snap.observed_inferred,
            }
        unit.engagement = list(snapshots.values())
        self._queue(unit)

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
        units, self.units = self.units, []
        self._batch_ids = set()
        if not units:
            return
        self.wait()
        self._in_flight = units
        self._pending = self._pool.submit(self._write, units)

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def wait(self, *, swallow: bool = False) -> None:
        """Let the batch being written finish (one at a time, in order) and count what it committed."""
        pending, self._pending = self._pending, None
        if pending is None:
            return
        try:
            written = pending.result()
        except BaseException:
            if swallow:
                return
            raise
        self._in_flight = []
        summary = self.summary
        summary.imported += written.new
        summary.updated += written.changed
        summary.unchanged += written.unchanged
        summary.snapshots_added += written.snapshots_added
        for unit in written.units:
            for row in unit.quarantine:
                if row["_kind"] == "record":
                    summary.quarantined += 1
                elif row["_kind"] == "kept":
                    summary.flagged += 1
                summary.reasons[row["code"]] = summary.reasons.get(row["code"], 0) + 1
            if unit.post is not None and unit.naive:
                summary.note(NAIVE_DATES)
        for unit in written.failed:
            summary.note(WRITE_FAILED)
            self._orphan_candidates.update(unit.stored_paths)
        if written.not_recorded:
            summary.note(NOT_RECORDED, written.not_recorded)

    # ------------------------------------------------------------ writing (in the writer thread)

    def _write(self, units: list[_Unit]) -> _Written:
        written = _Written()
        self._write_part(units, written)
        return written

    def _write_part(self, units: list[_Unit], written: _Written) -> None:
        """Write ``units`` in one transaction; if the database refuses, split them until the culprit is alone."""
        try:
            counts = tables.write_batch(self.ws.db, *_rows(units))
        except _FATAL:
            raise
        except Exception as exc:  # noqa: BLE001 - any refusal of the data: find the record, keep the rest
            if len(units) > 1:
                middle = len(units) // 2
                self._write_part(units[:middle], written)
                self._write_part(units[middle:], written)
            else:
                self._write_refused(units[0], exc, written)
            return
        written.new += counts.new
        written.changed += counts.changed
        written.unchanged += counts.unchanged
        written.snapshots_added += counts.snapshots_added
        written.units.extend(units)

    def _write_refused(self, unit: _Unit, exc: Exception, written: _Written) -> None:
        """Quarantine the one record the database refused, with the database's reason."""
        rows = list(unit.quarantine)
        if unit.post is not None:
            written.failed.append(unit)
            post = unit.post
            rows = [{"file": post["origin_file"] or "", "line": post["origin_line"] or 0, "code": WRITE_FAILED,
                     "post_id": post["id"], "reason": f"the database refused this record ({type(exc).__name__}: "
                     f"{safe_text(str(exc))[:300]})", "raw": (post["raw"] or "")[:RAW_LIMIT] or None,
                     "run_id": self.summary.run_id, "quarantined_at": self._now, "post_kept": False,
                     "_kind": "record"}]
            rows += [dict(row, post_kept=False, _kind="detail") for row in unit.quarantine]
        if not rows:
            return
        for attempt in (rows, [_plain_row(rows[0], self.summary.run_id, self._now)]):
            try:
                tables.write_batch(self.ws.db, [], [], [], attempt)
            except _FATAL:
                raise
            except Exception:  # noqa: BLE001 - try the plainer form next
                continue
            written.units.append(_Unit(quarantine=attempt))
            return
        written.not_recorded += 1

    # ------------------------------------------------------------ media clean-up

    def remove_orphans(self, *, everything_in_flight: bool = False) -> None:
        """Delete media files this run stored for records that were not committed (and that no
        committed row uses); with ``everything_in_flight``, also those of batches a failure cut short."""
        candidates = set(self._orphan_candidates)
        if everything_in_flight:
            for unit in [*self._in_flight, *self.units]:
                candidates.update(unit.stored_paths)
        if not candidates:
            return
        try:
            self.ws.db.register("_orphans", pa.table({"path": sorted(candidates)}))
            used = {row[0] for row in self.ws.db.execute(
                "SELECT DISTINCT m.path FROM media m JOIN _orphans o USING (path)").fetchall()}
            self.ws.db.unregister("_orphans")
        except duckdb.Error:
            return  # a broken database cannot say which files are used: keep them all
        media_root = self.ws.media_dir.resolve()
        removed = 0
        for relative in sorted(candidates - used):
            target = (self.ws.root / relative).resolve()
            if target.is_relative_to(media_root) and target.is_file():
                target.unlink(missing_ok=True)
                removed += 1
        if removed:
            self.summary.note(ORPHANS_REMOVED, removed)


def _post_row(post: Post, media_rows: list[dict[str, Any]], run_id: str, file: str, now: datetime) -> dict[str, Any]:
    kinds = sorted({r["kind"] for r in media_rows if r["status"] == "stored"})  # attached media only, not URLs
    labels = {str(k): str(v) for k, v in post.labels.items()}
    row = {
        "id": post.id, "source": post.source, "native_id": str(post.native_id), "platform": post.platform,
        "created_at": post.created_at, "text": post.text, "language": post.language,
        "author_id": post.author.id, "author_handle": post.author.handle,
        "author_followers": post.author.followers, "author_verified": post.author.verified,
        "hashtags": list(post.hashtags), "mentions": list(post.mentions), "urls": list(post.urls),
        "labels": labels, "media_kinds": kinds, "raw": _raw_json(post.raw),
        "run_id": run_id, "origin_file": safe_text(file), "origin_line": post.origin_line,
        "first_seen": now, "updated_at": now,
    }
    row["content_hash"] = content_hash(row, media_rows)
    return row


def _raw_json(raw: Any) -> str | None:
    return None if raw is None else json_text(raw)


def _short_id(post_id: str) -> str:
    """A post id fit for a quarantine key: a refused (huge or broken) id is cut and cleaned."""
    post_id = safe_text(post_id)
    return post_id if len(post_id) <= 2200 else post_id[:300] + f"...({len(post_id):,} characters)"


def _merged_notes(post: Post, file: str) -> list[Rejected]:
    """The post's field notes, one per code (the quarantine key is (file, line, code, post))."""
    merged: dict[str, Rejected] = {}
    for note in post.notes:
        found = merged.get(note.code)
        if found is None:
            merged[note.code] = Rejected(note.file or file, post.origin_line if note.line is None else note.line,
                                         note.code, note.reason, post_id=post.id, raw=note.raw, post_kept=True)
        else:
            found.reason += "; " + note.reason
            if note.raw:
                found.raw = f"{found.raw}; {note.raw}" if found.raw else note.raw
    return list(merged.values())


def _rows(units: list[_Unit]) -> tuple[list[dict[str, Any]], ...]:
    posts = [u.post for u in units if u.post is not None]
    media = [row for u in units for row in u.media]
    engagement = [row for u in units for row in u.engagement]
    quarantine = [row for u in units for row in u.quarantine]
    return posts, media, engagement, quarantine


def _plain_row(row: dict[str, Any], run_id: str, now: datetime) -> dict[str, Any]:
    """A quarantine row reduced to ASCII and no raw text: the last try when the database refused a row."""

    def plain(text: Any) -> str:
        return str(text).encode("ascii", "backslashreplace").decode()[:2000]

    line = row["line"] if isinstance(row["line"], int) and abs(row["line"]) < 2**62 else 0
    return {"file": plain(row["file"]), "line": line, "code": plain(row["code"]), "post_id": plain(row["post_id"]),
            "reason": plain(row["reason"]), "raw": None, "run_id": run_id, "quarantined_at": now,
            "post_kept": False, "_kind": row["_kind"]}
