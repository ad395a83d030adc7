"""Add labels to posts already in the workspace, without importing them again.

A ``LabelRow`` names a post id and ``{label name: value}``. ``merge_labels`` merges each row into
``posts.labels``: a name the post lacks is added, a name it has with another value is REPLACED (the
summary counts both), a value equal to the stored one changes nothing, and a label the row does not
name is kept. A post whose labels change gets a new ``content_hash`` (the same one ``store/ingest.py``
gives the post with these labels, so a later ingest of a file carrying the same labels finds it
unchanged), ``updated_at`` and ``run_id``. A row whose id matches no post is quarantined
(``label_unknown_post``, with file and line), never dropped; a later row for an id already seen in
the same file is quarantined as ``duplicate_id`` (the first is kept, as ingest does). Every batch is
one transaction, and the run is recorded in ``import_runs`` with importer ``labels``. Running the
same file twice changes no post the second time.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import pyarrow as pa

from postlens.store import runs, tables
from postlens.store.post_hash import content_hash
from postlens.store.runs import ImportSummary
from postlens.store.workspace import Workspace
from postlens.types import RAW_LIMIT, Rejected

IMPORTER = "labels"
UNKNOWN_POST = "label_unknown_post"
Progress = Callable[[int, int], None]
"""Called with (rows seen so far, rows quarantined so far) after each batch."""

_LABELS = pa.map_(pa.string(), pa.string())
_TS = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True, slots=True)
class LabelRow:
    """Labels for one post, read from ``file`` at ``line`` (``raw`` = the record, for the quarantine)."""

    post_id: str
    labels: dict[str, str]
    file: str
    line: int | None = None
    raw: str | None = None


@dataclass
class LabelSummary:
    """Counts of one label run. Rows read = ``matched`` + ``quarantined`` (+ blank lines).

    ``changed`` + ``unchanged`` = ``matched``. ``added`` and ``replaced`` count label values: a value
    set under a name the post lacked, and a value that replaced a different one under the same name.
    """

    run_id: str
    rows: int = 0
    matched: int = 0
    changed: int = 0
    unchanged: int = 0
    unknown: int = 0
    quarantined: int = 0
    added: int = 0
    replaced: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def as_import_summary(self) -> ImportSummary:
        """The counts in ``import_runs``' columns: changed posts are 'updated'."""
        return ImportSummary(run_id=self.run_id, updated=self.changed, unchanged=self.unchanged,
                             quarantined=self.quarantined, reasons=dict(self.reasons))


def merge_labels(
    workspace: Workspace,
    records: Iterable[LabelRow | Rejected],
    *,
    inputs: list[str],
    options: dict[str, Any] | None = None,
    batch_size: int = 5000,
    progress: Progress | None = None,
) -> LabelSummary:
    """Merge every ``LabelRow`` into its post; quarantine the rest; record the run."""
    workspace.mark_interrupted_runs()
    run_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    runs.start_run(workspace.db, run_id, IMPORTER, inputs, options or {})
    merger = _Merger(workspace, LabelSummary(run_id=run_id))
    try:
        for record in records:
            merger.add(record)
            if merger.pending >= batch_size:
                merger.flush()
                if progress:
                    progress(merger.summary.rows, merger.summary.quarantined)
        merger.flush()
        if progress:
            progress(merger.summary.rows, merger.summary.quarantined)
    except BaseException as exc:
        runs.finish_run(workspace.db, merger.summary.as_import_summary(), status="failed",
                          error=repr(exc)[:2000])
        raise
    runs.finish_run(workspace.db, merger.summary.as_import_summary(), status="done")
    return merger.summary


class _Merger:
    def __init__(self, workspace: Workspace, summary: LabelSummary) -> None:
        self.db = workspace.db
        self.summary = summary
        self.rows: dict[str, LabelRow] = {}  # post id -> first row for it in this batch
        self.quarantine: list[dict[str, Any]] = []
        self.first_line: dict[tuple[str, str], int | None] = {}  # (file, post id) -> line first seen
        self.now = datetime.now(timezone.utc)

    @property
    def pending(self) -> int:
        return len(self.rows) + len(self.quarantine)

    def add(self, record: LabelRow | Rejected) -> None:
        self.summary.rows += 1
        if isinstance(record, Rejected):
            self._reject(record)
            return
        key = (record.file, record.post_id)
        if key in self.first_line:
            first = self.first_line[key]
            self._reject(Rejected(record.file, record.line, "duplicate_id",
                                  f"id {record.post_id} appears earlier in this file (line {first}); kept the first",
                                  post_id=record.post_id, raw=record.raw))
            return
        self.first_line[key] = record.line
        if record.post_id in self.rows:  # the same id from another file in this batch: apply in order
            self.flush()
        self.rows[record.post_id] = record

    def _reject(self, rejected: Rejected) -> None:
        self.summary.quarantined += 1
        self.summary.reasons[rejected.code] = self.summary.reasons.get(rejected.code, 0) + 1
        self.quarantine.append({
            "file": rejected.file, "line": rejected.line or 0, "code": rejected.code,
            "post_id": rejected.post_id or "", "reason": rejected.reason,
            "raw": rejected.raw[:RAW_LIMIT] if rejected.raw else None, "run_id": self.summary.run_id,
            "quarantined_at": self.now, "post_kept": False,
        })

    def flush(self) -> None:
        """Apply the batch in one transaction: read the posts, merge, write the changed ones."""
        rows, self.rows = self.rows, {}
        if not rows and not self.quarantine:
            return
        self.db.execute("BEGIN TRANSACTION")
        try:
            stored = _stored_posts(self.db, list(rows))
            updates = []
            for post_id, row in rows.items():
                post = stored.get(post_id)
                if post is None:
                    self.summary.unknown += 1
                    self._reject(Rejected(
                        row.file, row.line, UNKNOWN_POST,
                        f"no post {post_id!r} in the workspace: import the posts first, or check the id "
                        "(ids are '<source>:<native id>'; give --source for native ids)",
                        post_id=post_id, raw=row.raw))
                    continue
                self.summary.matched += 1
                merged = {**post.labels, **row.labels}
                if merged == post.labels:
                    self.summary.unchanged += 1
                    continue
                self.summary.changed += 1
                self.summary.added += sum(1 for name in row.labels if name not in post.labels)
                self.summary.replaced += sum(
                    1 for name, value in row.labels.items() if name in post.labels and post.labels[name] != value)
                updates.append((post_id, merged, post.content_hash_with(merged)))
            if updates:
                self._write(updates)
            if self.quarantine:
                self.db.register("_q", tables._table(tables._unique_quarantine(self.quarantine),
                                                     tables.QUARANTINE_SCHEMA))
                self.db.execute("INSERT OR REPLACE INTO quarantine SELECT * FROM _q")
                self.db.unregister("_q")
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        finally:
            self.quarantine = []

    def _write(self, updates: list[tuple[str, dict[str, str], str]]) -> None:
        table = pa.table({
            "id": [u[0] for u in updates],
            "labels": pa.array([list(u[1].items()) for u in updates], type=_LABELS),
            "content_hash": [u[2] for u in updates],
            "updated_at": pa.array([self.now] * len(updates), type=_TS),
            "run_id": [self.summary.run_id] * len(updates),
        })
        self.db.register("_labels", table)
        self.db.execute(
            "UPDATE posts SET labels = u.labels, content_hash = u.content_hash, updated_at = u.updated_at, "
            "run_id = u.run_id FROM _labels u WHERE posts.id = u.id"
        )
        self.db.unregister("_labels")


@dataclass
class _StoredPost:
    """A stored post's row (the columns its content hash covers) and its media parts."""

    row: dict[str, Any]
    media: list[dict[str, Any]]

    @property
    def labels(self) -> dict[str, str]:
        return dict(self.row["labels"])

    def content_hash_with(self, labels: dict[str, str]) -> str:
        """The hash any writer gives this post carrying ``labels`` (``store/post_hash.py``)."""
        return content_hash({**self.row, "labels": labels}, self.media)


_HASHED_COLUMNS = ("platform", "text", "created_at", "language", "author_id", "author_handle",
                   "author_followers", "author_verified", "hashtags", "mentions", "urls")


def _stored_posts(db: Any, ids: list[str]) -> dict[str, _StoredPost]:
    if not ids:
        return {}
    db.register("_label_ids", pa.table({"id": ids}))
    try:
        columns = ", ".join(f"p.{name}" for name in _HASHED_COLUMNS)
        posts = db.execute(
            f"SELECT p.id, {columns}, map_keys(p.labels), map_values(p.labels) FROM posts p JOIN _label_ids USING (id)"
        ).fetchall()
        media: dict[str, list[dict[str, Any]]] = {}
        for post_id, kind, status, sha256, url in db.execute(
            "SELECT m.post_id, m.kind, m.status, m.sha256, m.url FROM media m "
            "JOIN _label_ids i ON m.post_id = i.id ORDER BY m.post_id, m.position"
        ).fetchall():
            media.setdefault(post_id, []).append({"kind": kind, "status": status, "sha256": sha256, "url": url})
    finally:
        db.unregister("_label_ids")
    stored = {}
    for post_id, *values, keys, values_ in posts:
        row = dict(zip(_HASHED_COLUMNS, values))
        row["labels"] = dict(zip(keys or [], values_ or []))
        stored[post_id] = _StoredPost(row=row, media=media.get(post_id, []))
    return stored
