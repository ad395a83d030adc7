"""The incremental cursor of a collect: a high-water mark and the walk in progress (dlt's ``last_value``).

Every supported API lists newest first and pages towards older posts. A *walk* starts at the
newest post and pages back until it reaches its *floor*: the previous high-water mark minus a
lag (posts indexed late, clocks that disagree), or ``now - since`` on the first run. The walk's
token for the next page is saved after each committed page, so a killed run resumes at the page
after the last one committed. When a walk ends, the newest time it saw becomes the high-water
mark and the next walk stops there (minus the lag).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any


@dataclass
class Walk:
    floor: datetime
    started_at: datetime
    top: datetime | None = None
    """The newest post time seen by this walk: the next high-water mark."""
    next: dict[str, str] | None = None
    """The API parameters of the next (older) page; None before the first page."""
    pages: int = 0


@dataclass
class CursorState:
    high_water: datetime | None = None
    walk: Walk | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    """Connector facts worth keeping (e.g. the account id a handle resolved to)."""

    def to_json(self) -> dict[str, Any]:
        walk = None
        if self.walk is not None:
            walk = {
                "floor": self.walk.floor.isoformat(),
                "started_at": self.walk.started_at.isoformat(),
                "top": _iso(self.walk.top),
                "next": self.walk.next,
                "pages": self.walk.pages,
            }
        return {"high_water": _iso(self.high_water), "walk": walk, "extra": self.extra}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> CursorState:
        if not data:
            return cls()
        walk_data = data.get("walk")
        walk = None
        if isinstance(walk_data, dict):
            walk = Walk(
                floor=datetime.fromisoformat(walk_data["floor"]),
                started_at=datetime.fromisoformat(walk_data["started_at"]),
                top=_parse(walk_data.get("top")),
                next=walk_data.get("next"),
                pages=int(walk_data.get("pages") or 0),
            )
        extra_data = data.get("extra")
        extra: dict[str, Any] = extra_data if isinstance(extra_data, dict) else {}
        return cls(high_water=_parse(data.get("high_water")), walk=walk, extra=extra)

    def begin(self, now: datetime, since: timedelta, lag: timedelta) -> tuple[Walk, bool]:
        """The walk to run: the unfinished one (resumed: True) or a new one from the present down to the floor."""
        if self.walk is not None:
            return self.walk, True
        floor = self.high_water - lag if self.high_water is not None else now - since
        self.walk = Walk(floor=floor, started_at=now)
        return self.walk, False

    def advance(
        self, *, next_page: dict[str, str] | None, oldest: datetime | None, newest: datetime | None, items: int
    ) -> bool:
        """Fold in one committed page; True when the walk is over (the high-water mark then moves)."""
        walk = self.walk
        assert walk is not None, "advance() before begin()"
        walk.pages += 1
        if newest is not None and (walk.top is None or newest > walk.top):
            walk.top = newest
        done = next_page is None or items == 0 or (oldest is not None and oldest < walk.floor)
        if not done:
            walk.next = dict(next_page)  # type: ignore[arg-type]
            return False
        if walk.top is not None and (self.high_water is None or walk.top > self.high_water):
            self.high_water = walk.top
        self.walk = None
        return True


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _parse(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None
