"""The suite's row: one figure of one area. Scripts import it as ``_rows`` (run as files) or ``bench._rows``."""

from __future__ import annotations

from typing import Any

ROW_KEYS = ("area", "metric", "value", "unit", "goal", "met")


def row(
    area: str, metric: str, value: Any, unit: str = "", goal: str = "", met: bool | None = None, **extra: Any
) -> dict[str, Any]:
    """One figure; ``met`` is None when there is no goal. ``value`` None with a ``note`` when there is no figure."""
    return {"area": area, "metric": metric, "value": value, "unit": unit, "goal": goal, "met": met, **extra}


def skipped(area: str, metric: str, reason: str) -> dict[str, Any]:
    """A row that says why an area gave no figure (never a made-up one)."""
    return row(area, metric, None, note=f"skipped: {reason}")
