"""Progress display and summary table around :func:`postlens.pipeline.featurize.featurize`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from postlens.encoders.registry import SPECS
from postlens.pipeline.featurize import FeaturizeSummary, featurize
from postlens.store.workspace import Workspace


def run_featurize(
    *, workspace: Path | None = None, encoders: Sequence[str] | None = None, batch_size: int = 32,
    console: Console | None = None,
) -> FeaturizeSummary:
    console = console or Console()
    with Workspace(workspace) as ws, Progress(
        TextColumn("{task.description:<14}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TimeRemainingColumn(), console=console,
    ) as bar:
        tasks: dict[str, TaskID] = {}

        def update(name: str, done: int, total: int) -> None:
            if name not in tasks:
                tasks[name] = bar.add_task(name, total=total)
            bar.update(tasks[name], completed=done, total=total)

        summary = featurize(ws, encoders=encoders, batch_size=batch_size, progress=update)
    console.print(summary_table(summary))
    return summary


def summary_table(summary: FeaturizeSummary) -> Table:
    table = Table(title=f"featurize: {summary.computed:,} items computed in {summary.seconds:.1f} s "
                        f"({summary.text_fields:,} text fields)", title_justify="left")
    for col in ("encoder", "items", "computed now", "errors", "seconds"):
        table.add_column(col, justify="left" if col == "encoder" else "right")
    for run in summary.runs:
        table.add_row(run.encoder, f"{run.items:,}", f"{run.computed:,}", f"{run.errors:,}", f"{run.seconds:.1f}")
    return table


def list_encoder_table() -> Table:
    table = Table(title="encoders (default ones run when --encoders is not given)", title_justify="left")
    for col in ("name", "modality", "default", "extra", "what"):
        table.add_column(col)
    for spec in SPECS.values():
        table.add_row(spec.name, str(spec.modality), "yes" if spec.default else "", spec.extra, spec.help)
    return table
