"""``postlens featurize`` at a terminal: progress bars, the summary table, and Ctrl-C/SIGTERM as a clean stop."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from rich.console import Console
from rich.table import Table

from postlens.encoders.registry import SPECS
from postlens.engine.base import Engine
from postlens.errors import WorkspaceError
from postlens.pipeline.featurize import MEDIA_BATCH, FeaturizeInterrupted, FeaturizeSummary, featurize
from postlens.serve.progress import Bars
from postlens.store.workspace import DB_NAME, resolve_workspace_path


def run_featurize(
    *,
    workspace: Path | None = None,
    encoders: Sequence[str] | None = None,
    batch_size: int = MEDIA_BATCH,
    console: Console | None = None,
    engine: Engine | None = None,
) -> FeaturizeSummary:
    """Featurize with a progress bar and a summary table; the workspace database is not held open meanwhile.

    Ctrl-C or SIGTERM stops the run (worker terminated and joined), says what was saved, and exits
    with 130 (143 for SIGTERM): a re-run resumes from the feature cache.
    """
    console = console or Console()
    root = resolve_workspace_path(workspace)
    if not (root / DB_NAME).exists():
        raise WorkspaceError(f"no workspace at {root}; run 'postlens ingest' first or pass --workspace")
    with stopping_cleanly(console, root), Bars(console) as bars:
        summary = featurize(root, encoders=encoders, batch_size=batch_size, progress=bars.step, engine=engine)
    console.print(summary_table(summary))
    return summary


@contextmanager
def stopping_cleanly(console: Console, root: Path) -> Iterator[None]:
    """Within the block, SIGTERM stops featurize like Ctrl-C; either prints what was saved and exits
    with 130 (Ctrl-C) or 143 (SIGTERM). Also used around the featurize stage of ``postlens demo``."""
    stopped_by: list[int] = []
    try:
        with _sigterm_as_interrupt(stopped_by):
            yield
    except FeaturizeInterrupted as stop:
        console.print(summary_table(stop.summary))
        how = "SIGTERM" if stopped_by else "Ctrl-C"
        console.print(
            f"[bold]featurize stopped ({how})[/]: the {stop.summary.computed:,} items computed before it are saved "
            f"in the feature cache ({root / 'features'}); the worker process was stopped. "
            "Run 'postlens featurize' again to compute only what is missing."
        )
        raise SystemExit(143 if stopped_by else 130) from None


@contextmanager
def _sigterm_as_interrupt(stopped_by: list[int]) -> Iterator[None]:
    """While featurize runs, SIGTERM stops it like Ctrl-C (cleanup runs) instead of killing the process."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        stopped_by.append(signum)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def summary_table(summary: FeaturizeSummary) -> Table:
    state = " (interrupted)" if summary.interrupted else ""
    table = Table(
        title=f"featurize{state}: {summary.computed:,} items computed in {summary.seconds:.1f} s "
        f"({summary.text_fields:,} text fields)",
        title_justify="left",
    )
    restarts = any(run.restarts for run in summary.runs)
    columns = ("encoder", "items", "computed now", "errors", "seconds") + (("worker restarts",) if restarts else ())
    for col in columns:
        table.add_column(col, justify="left" if col == "encoder" else "right")
    for run in summary.runs:
        row = [run.encoder, f"{run.items:,}", f"{run.computed:,}", f"{run.errors:,}", f"{run.seconds:.1f}"]
        table.add_row(*row, *([f"{run.restarts:,}"] if restarts else []))
    return table


def list_encoder_table() -> Table:
    table = Table(title="encoders (default ones run when --encoders is not given)", title_justify="left")
    for col in ("name", "modality", "default", "extra", "what"):
        table.add_column(col)
    for spec in SPECS.values():
        table.add_row(spec.name, str(spec.modality), "yes" if spec.default else "", spec.extra, spec.help)
    return table
