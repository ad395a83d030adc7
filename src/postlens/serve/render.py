"""Rich tables for the CLI: how results look to a person at a terminal."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from postlens.serve.cells import cell_text, csv_line, json_line, terminal_safe
from postlens.store.features import Compaction
from postlens.store.ingest import ImportSummary
from postlens.store.labels import LabelSummary
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


def label_summary_lines(summary: LabelSummary) -> list[str]:
    """Lines for a person: what matched, what changed, what was replaced, what was quarantined."""
    lines = [
        f"labels {summary.run_id}: {summary.rows:,} rows read; {summary.matched:,} matched a post "
        f"({summary.changed:,} changed, {summary.unchanged:,} unchanged); {summary.unknown:,} unknown ids; "
        f"{summary.quarantined:,} rows quarantined in all",
        f"  label values: {summary.added:,} added, {summary.replaced:,} replaced "
        "(a new value for a label the post already has replaces the old one)",
    ]
    if summary.reasons:
        reasons = ", ".join(f"{code} {n:,}" for code, n in sorted(summary.reasons.items(), key=lambda kv: -kv[1]))
        lines.append(f"  quarantine reasons: {reasons}  (see 'postlens quarantine')")
    return lines


def print_label_summary(console: Console, summary: LabelSummary) -> None:
    for line in label_summary_lines(summary):
        console.print(line, highlight=False)


def print_compactions(console: Console, done: list[Compaction]) -> None:
    if not done:
        console.print("nothing to compact: every encoder folder already has at most one small part")
        return
    rows = [(c.encoder_key, c.parts_before, c.parts_after, c.rows, c.duplicates_dropped, f"{c.seconds:.1f}")
            for c in done]
    console.print(_table("feature cache compacted", ["encoder folder", "parts before", "parts after", "rows merged",
                                                     "duplicates dropped", "seconds"], rows))


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
        table.add_column(header, justify="right" if i == len(headers) - 1 else "left", overflow="fold")
    for row in rows:
        table.add_row(*[Text(f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else terminal_safe(str(v)))
                        for v in row])
    return table


_STATUS_SHOWN = {"stored": "attached", "remote": "remote, not fetched"}


def print_stats(console: Console, stats: WorkspaceStats, root: Path) -> None:
    console.print(
        f"[bold]{escape(str(root))}[/]: {stats.posts:,} posts, {stats.engagement_snapshots:,} engagement snapshots, "
        f"{stats.media_stored:,} media attached ({stats.media_files:,} distinct files)"
    )
    console.print(_table("by source", ["source", "posts"], stats.by_source))
    console.print(_table("by modality", ["modality", "posts"], stats.by_modality))
    if stats.remote_by_kind:  # URLs only: not the posts' modality above (nothing was fetched)
        console.print(_table("remote, not fetched", ["remote kind", "posts", "parts"], stats.remote_by_kind))
    console.print(_table("by month", ["month", "posts"], stats.by_month))
    if stats.by_label:
        console.print(_table("by label (top values)", ["label", "value", "posts"], stats.by_label))
    if stats.media_by_status:
        shown = [(kind, _STATUS_SHOWN.get(status, status), n) for kind, status, n in stats.media_by_status]
        console.print(_table("media parts (missing = referenced, not found; rejected = refused, see quarantine)",
                             ["kind", "status", "parts"], shown))
    if stats.quarantined:
        console.print(_table("quarantine: records not imported", ["reason", "records"], stats.quarantined))
    if stats.flagged:
        console.print(_table("flagged: posts imported without a bad field or media part", ["reason", "rows"], stats.flagged))
    if stats.runs:
        console.print(_table("recent imports", ["run", "importer", "status", "imported", "updated", "unchanged",
                                                "quarantined", "flagged"], stats.runs))


OUTPUTS = ("table", "csv", "json")
_MIN_CELL_WIDTH = 10
"""Below this many characters per column, a table shows each row as a block of name/value lines."""


def _cell(value: Any) -> Text:
    text = cell_text(value)
    return Text("NULL", style="dim") if text is None else Text(terminal_safe(text))


def print_rows(console: Console, columns: list[str], rows: list[tuple[Any, ...]], output: str) -> None:
    """``columns`` must be unique (``unique_column_names``); values are written as ``serve/cells.py`` says.

    csv and json go to stdout unstyled (one JSON object per line); table is for a person at a
    terminal: values are shown literally, control characters escaped, nothing cut off.
    """
    if output == "csv":
        sys.stdout.write(csv_line(columns))
        for row in rows:
            sys.stdout.write(csv_line(row))
    elif output == "json":
        for row in rows:
            sys.stdout.write(json_line(columns, row) + "\n")
    elif output == "table" and len(columns) * _MIN_CELL_WIDTH <= console.width:
        table = Table(show_edge=False, pad_edge=False)
        for name in columns:
            table.add_column(Text(terminal_safe(name)), overflow="fold")
        for row in rows:
            table.add_row(*[_cell(v) for v in row])
        console.print(table)
    elif output == "table":  # too many columns to read side by side: one block per row, like psql's \x
        for number, row in enumerate(rows, start=1):
            console.print(Text(f"-[ row {number} ]-", style="dim"))
            block = Table(show_header=False, show_edge=False, pad_edge=False, box=None)
            block.add_column(style="bold", no_wrap=True)
            block.add_column(overflow="fold")
            for name, value in zip(columns, row):
                block.add_row(Text(terminal_safe(name)), _cell(value))
            console.print(block)
    else:
        raise ValueError(f"unknown output {output!r}; use {', '.join(OUTPUTS)}")


def print_row_count(console: Console, shown: int, total: int, *, at_least: bool = False) -> None:
    """Say how many rows there are when fewer are shown (on the console given: stderr keeps csv/json clean)."""
    if shown < total:
        of = f"more than {total - 1:,}" if at_least else f"{total:,}"
        console.print(f"showing {shown:,} of {of} rows; --limit shows more", highlight=False)


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
    console.print(Text(terminal_safe(f"in {', '.join(folders)}")))
    shown = [(f"{Path(file).name}:{line}", code, post, "kept" if kept else "not imported", reason)
             for file, line, code, post, reason, kept in rows]
    table = Table(show_edge=False, pad_edge=False)
    for header in ("file:line", "code", "post", "post", "reason"):
        table.add_column(header, overflow="fold")
    for row in shown:
        table.add_row(*[Text(terminal_safe(str(v))) for v in row])
    console.print(table)
