"""The ``import_runs`` table: one row per import, opened when it starts and closed with its counts.

``ImportSummary`` lives here (not in ``ingest.py``) because both the ingest writer and the label
merger (``labels.py``) report through it, and the table writer needs only its counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import duckdb
import orjson

from postlens.values import json_text, safe_text


@dataclass
class ImportSummary:
    """Counts of one run, of what was committed. Records read = posts written + ``quarantined`` + blank lines.

    ``quarantined`` counts records that were not imported; ``flagged`` counts problems with one
    field or media part of a post that was imported anyway (``quarantine.post_kept``), of which
    ``media_problems`` are media parts. ``reasons`` counts quarantine rows by code (both kinds).
    ``notes`` (``import_runs.notes``) counts what the run assumed or cleaned up: ``created_at_naive_as_utc``
    (dates without a time zone, taken as UTC), ``write_failed`` (records the database refused, quarantined),
    ``orphan_media_removed`` (media files of records that were not committed) and ``records_not_recorded``
    (records that could be neither stored nor quarantined; always absent unless the database is broken).
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
    notes: dict[str, int] = field(default_factory=dict)

    @property
    def posts_written(self) -> int:
        return self.imported + self.updated + self.unchanged

    def note(self, key: str, count: int = 1) -> None:
        self.notes[key] = self.notes.get(key, 0) + count


def start_run(
    db: duckdb.DuckDBPyConnection, run_id: str, importer: str, inputs: list[str], options: dict[str, Any]
) -> None:
    db.execute(
        "INSERT INTO import_runs (run_id, started_at, status, importer, inputs, options) VALUES (?, ?, 'running', ?, ?, ?)",
        [run_id, datetime.now(timezone.utc), importer, inputs, json_text(options)],
    )


def finish_run(db: duckdb.DuckDBPyConnection, summary: ImportSummary, *, status: str, error: str | None = None) -> None:
    db.execute(
        "UPDATE import_runs SET finished_at = ?, status = ?, imported = ?, updated = ?, unchanged = ?, "
        "quarantined = ?, snapshots_added = ?, error = ?, flagged = ?, notes = ? WHERE run_id = ?",
        [
            datetime.now(timezone.utc), status, summary.imported, summary.updated, summary.unchanged,
            summary.quarantined, summary.snapshots_added, safe_text(error) if error else None, summary.flagged,
            orjson.dumps(summary.notes).decode(), summary.run_id,
        ],
    )
