"""``postlens trends``: update the saved trend state of a workspace and report a window."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from postlens.store.workspace import open_briefly, resolve_workspace_path
from postlens.tasks.trends import SOURCES, TermSource, Topics, TrendSettings, TrendsReport, detect_trends


def run_trends(
    *,
    workspace: str | Path | None = None,
    since: str = "7d",
    bin: str = "1h",
    sources: list[str] | None = None,
    detector: str = "poisson",
    relative_to_now: bool = False,
    entity_extractor: str = "light",
    top: int = 20,
    min_count: int | None = None,
    min_share: float | None = None,
    segmentation: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> TrendsReport:
    """Open the workspace for writing (the state is saved there), fold new bins, report the window.

    ``progress(message)`` hears what the detector is doing (bins folded, entities extracted).
    """
    changes = {k: v for k, v in (("min_count", min_count), ("min_share", min_share)) if v is not None}
    settings = TrendSettings(detector=detector).with_changes(**changes)
    chosen: list[str | TermSource] = list(sources or SOURCES)
    if segmentation is not None:  # count one named topic set only
        chosen = [Topics(segmentation) if s == "topics" else s for s in chosen]
    with open_briefly(resolve_workspace_path(workspace)) as ws:
        return detect_trends(ws.db, since=since, bin=bin, sources=chosen, settings=settings,
                             relative_to_now=relative_to_now, entity_extractor=entity_extractor, top=top,
                             progress=progress)
