"""Rich tables for the CLI: how results look to a person at a terminal."""

from __future__ import annotations

import csv
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

from postlens.store.ingest import ImportSummary
from postlens.store.queries import WorkspaceStats


def print_import_summary(console: Console, summary: ImportSummary) -> None:
    console.print(
        f"[bold]import {summary.run_id}[/]: {summary.imported:,} imported, {summary.updated:,} updated, "
        f"{summary.unchanged:,} unchanged, {summary.quarantined:,} quarantined (not imported), "
        f"{summary.flagged:,} flagged (imported, a field or media part dropped); "
        f"{summary.snapshots_added:,} engagement snapshots added; media: {summary.media_stored:,} attached, "
        f"{summary.media_problems:,} with problems"
    )
    if summary.reasons:
        reasons = ", ".join(f"{code} {n:,}" for code, n in sorted(summary.reasons.items(), key=lambda kv: -kv[1]))
        console.print(f"  quarantine reasons: {reasons}  (see 'postlens quarantine')")
    for line in import_notes(summary.notes):
        console.print(f"  note: {line}")


def import_notes(notes: dict[str, int]) -> list[str]:
    """What a run assumed or cleaned up, in words (``ImportSummary.notes``)."""
    said = {
        "created_at_naive_as_utc": "{n:,} post date(s) had no time zone and were taken as UTC",
        "write_failed": "{n:,} records were refused by the database and quarantined as write_failed",
        "orphan_media_removed": "{n:,} media files stored for records that were not imported were removed",
        "records_not_recorded": "{n:,} records could be neither stored nor quarantined (the database failed)",
    }
    return [said.get(key, key + ": {n:,}").format(n=count) for key, count in sorted(notes.items()) if count]


def _table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
    table = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
    for i, header in enumerate(headers):
        table.add_column(header, justify="right" if i == len(headers) - 1 else "left")
    for row in rows:
        table.add_row(*[f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v) for v in row])
    return table


def print_stats(console: Console, stats: WorkspaceStats, root: Path) -> None:
    console.print(
        f"[bold]{root}[/]: {stats.posts:,} posts, {stats.engagement_snapshots:,} engagement snapshots, "
        f"{stats.media_stored:,} media attached ({stats.media_files:,} distinct files)"
    )
    console.print(_table("by source", ["source", "posts"], stats.by_source))
    console.print(_table("by modality", ["modality", "posts"], stats.by_modality))
    console.print(_table("by month", ["month", "posts"], stats.by_month))
    if stats.by_label:
        console.print(_table("by label (top values)", ["label", "value", "posts"], stats.by_label))
    if stats.media_by_status:
        console.print(_table("media parts (missing = referenced, not found)", ["kind", "status", "parts"], stats.media_by_status))
    if stats.quarantined:
        console.print(_table("quarantine: records not imported", ["reason", "records"], stats.quarantined))
    if stats.flagged:
        console.print(_table("flagged: posts imported without a bad field or media part", ["reason", "rows"], stats.flagged))
    if stats.runs:
        console.print(_table("recent imports", ["run", "importer", "status", "imported", "updated", "unchanged",
                                                "quarantined", "flagged"], stats.runs))


def print_rows(console: Console, columns: list[str], rows: list[tuple[Any, ...]], output: str) -> None:
    if output == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        writer.writerows(rows)
    elif output == "json":
        for row in rows:
            sys.stdout.write(orjson.dumps(dict(zip(columns, row)), default=str).decode() + "\n")
    elif output == "table":
        console.print(_table("", columns, rows))
    else:
        raise ValueError(f"unknown output {output!r}; use table, csv or json")


def print_quarantine(console: Console, totals: list[tuple[str, int]], flagged: list[tuple[str, int]],
                     rows: list[tuple[Any, ...]]) -> None:
    if not totals and not flagged:
        console.print("the quarantine is empty")
        return
    if totals:
        console.print(_table("records not imported, by reason", ["reason", "records"], totals))
    if flagged:
        console.print(_table("posts imported with a field or media part dropped, by reason", ["reason", "rows"], flagged))
    folders = sorted({str(Path(row[0]).parent) for row in rows})
    console.print(f"in {', '.join(folders)}")
    shown = [(f"{Path(file).name}:{line}", code, post, "kept" if kept else "not imported", reason)
             for file, line, code, post, reason, kept in rows]
    table = Table(show_edge=False, pad_edge=False)
    for header in ("file:line", "code", "post", "post", "reason"):
        table.add_column(header, overflow="fold")
    for row in shown:
        table.add_row(*row)
    console.print(table)
