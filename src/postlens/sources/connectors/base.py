"""What every connector looks like from the outside: a page of records at a time, newest first.

A connector turns one API call into a :class:`Page` (posts and quarantine rows, like a file
importer yields, plus the parameters of the next, older page). It never touches the workspace:
``pipeline/collect.py`` drives it, stores each page, then saves the cursor. Unknown source names
raise an error listing the known ones.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from postlens.errors import ConfigError
from postlens.types import Post, Rejected

if TYPE_CHECKING:
    from postlens.sources.connectors.http import ApiClient


@dataclass
class Page:
    records: list[Post | Rejected]
    next: dict[str, str] | None
    """API parameters of the next (older) page; None at the end of the listing."""
    items: int
    """Items the API returned on this page (posts + malformed ones)."""
    label: str
    """The call, for people and for ``origin_file`` (scheme dropped, credentials redacted)."""

    @property
    def posts(self) -> list[Post]:
        return [r for r in self.records if isinstance(r, Post)]

    def times(self) -> tuple[datetime | None, datetime | None]:
        """(oldest, newest) ``created_at`` on the page."""
        moments = [p.created_at for p in self.posts if p.created_at is not None]
        return (min(moments), max(moments)) if moments else (None, None)


class Connector(Protocol):
    name: str
    endpoint: str
    """The API base URL (part of the cursor's key; never holds credentials)."""
    client: ApiClient
    """Its HTTP client; collect gives the media downloader the client's redactor."""

    def check_query(self, query: str) -> None:
        """Raise ConfigError (naming the forms accepted) for a query this platform cannot run."""

    def page(self, query: str, after: Mapping[str, str] | None, *, observed: datetime, since: datetime | None) -> Page:
        """One page of ``query``: the newest when ``after`` is None, else the one ``after`` names.
        ``since`` is the floor of the walk, for APIs that can filter by time."""

    def close(self) -> None: ...


@dataclass
class ConnectorOptions:
    """What ``postlens collect`` passes every connector."""

    base_url: str | None = None
    environ: Mapping[str, str] = field(default_factory=dict)
    transport: Any = None
    sleep: Callable[[float], None] | None = None
    on_wait: Callable[[float, str], None] | None = None
    page_size: int | None = None
    max_wait: float | None = None
    max_attempts: int | None = None


CONNECTORS: dict[str, Callable[[ConnectorOptions], Connector]] = {}


def connector(
    name: str,
) -> Callable[[Callable[[ConnectorOptions], Connector]], Callable[[ConnectorOptions], Connector]]:
    def add(factory: Callable[[ConnectorOptions], Connector]) -> Callable[[ConnectorOptions], Connector]:
        CONNECTORS[name] = factory
        return factory

    return add


def known_connectors() -> list[str]:
    _load_all()
    return sorted(CONNECTORS)


def get_connector(name: str, options: ConnectorOptions) -> Connector:
    _load_all()
    factory = CONNECTORS.get(name)
    if factory is None:
        raise ConfigError(f"unknown source {name!r} for collect; known: {', '.join(sorted(CONNECTORS))}")
    return factory(options)


def fix_observed(records: list[Post | Rejected]) -> None:
    """Snapshots of a collect were observed at fetch time: not inferred (the file importers' default)."""
    for record in records:
        if isinstance(record, Post):
            for snap in record.engagement:
                snap.observed_inferred = False


def _load_all() -> None:
    from postlens.sources.connectors import bluesky, mastodon, reddit, x  # noqa: F401 - registers them
