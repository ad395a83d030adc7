"""Collect stage: a platform API -> workspace, a page at a time, resumable (``postlens collect``).

Each page is stored (posts, engagement snapshots, downloaded media, quarantine rows) and committed
*before* the cursor moves past it, so a run killed anywhere resumes at the first page not
committed, and a page fetched twice upserts the same posts: nothing lost, nothing duplicated.
Each pass appends an engagement snapshot (observed at fetch time) for every post it sees, so
re-collecting a window tracks how counts grow. Progress goes to callbacks; nothing is printed.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from postlens.errors import ApiError, ConfigError
from postlens.sources.connectors.base import ConnectorOptions, get_connector
from postlens.sources.connectors.cursor import CursorState
from postlens.sources.connectors.download import MediaDownloader
from postlens.store.cursors import delete_cursor, load_cursor, save_cursor, stored_media_paths
from postlens.store.ingest import IngestSession
from postlens.store.workspace import Workspace
from postlens.types import Post, Rejected

DEFAULT_SINCE = timedelta(days=2)
DEFAULT_LAG = timedelta(minutes=15)
"""How far below the last high-water mark a walk goes again: posts indexed late, counts refreshed."""
DEFAULT_MAX_PAGES = 20
INCOMING = "collect-incoming"
"""Scratch folder of the workspace where media are downloaded before the store copies them in."""
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_UNIT = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


@dataclass
class CollectSummary:
    """What one ``collect`` did. ``error`` is set when an API error stopped it (what was committed stays)."""

    source: str
    query: str
    endpoint: str
    run_id: str = ""
    resumed: bool = False
    pages: int = 0
    posts_seen: int = 0
    older_than_window: int = 0
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    snapshots_added: int = 0
    quarantined: int = 0
    flagged: int = 0
    media_fetched: int = 0
    media_refused: int = 0
    requests: int = 0
    retries: int = 0
    rate_limit_waits: int = 0
    waited_seconds: float = 0.0
    caught_up: bool = False
    high_water: datetime | None = None
    floor: datetime | None = None
    stopped: str | None = None
    """Why the run ended before catching up: ``page limit`` or the error's message."""
    error: str | None = None
    reasons: dict[str, int] = field(default_factory=dict)


CollectProgress = Callable[[CollectSummary], None]
"""Called with the running summary after each committed page."""
WaitNotice = Callable[[float, str], None]
"""Called before each rate-limit wait with (seconds, why)."""


def parse_since(value: str | timedelta) -> timedelta:
    """``"2d"``, ``"12h"``, ``"30m"``, ``"1w"``, ``"90s"`` -> timedelta."""
    if isinstance(value, timedelta):
        span = value
    else:
        match = _DURATION.match(value)
        if match is None:
            raise ConfigError(
                f"cannot read the duration {value!r}: write a number and a unit (s, m, h, d, w), e.g. 2d or 12h"
            )
        span = timedelta(**{_UNIT[match.group(2).lower()]: float(match.group(1))})
    if span <= timedelta(0):
        raise ConfigError(f"the duration must be positive, got {value!r}")
    return span


def run_collect(
    source: str,
    query: str,
    *,
    since: str | timedelta = DEFAULT_SINCE,
    until_caught_up: bool = False,
    reset: bool = False,
    max_pages: int = DEFAULT_MAX_PAGES,
    lag: timedelta = DEFAULT_LAG,
    workspace: Any = None,
    base_url: str | None = None,
    environ: Mapping[str, str] | None = None,
    download_media: bool = True,
    max_media_bytes: Mapping[str, int] | None = None,
    allow_private_media: bool | None = None,
    page_size: int | None = None,
    max_wait: float | None = None,
    max_attempts: int | None = None,
    progress: CollectProgress | None = None,
    on_wait: WaitNotice | None = None,
    sleep: Callable[[float], None] | None = None,
    transport: Any = None,
    media_transport: Any = None,
) -> CollectSummary:
    """Collect ``query`` from ``source`` (mastodon, bluesky, reddit, x) into the workspace.

    The first run reads back ``since``; later runs resume an unfinished walk, or walk from the
    newest post down to the last high-water mark minus ``lag``. At most ``max_pages`` pages per run
    unless ``until_caught_up``; ``reset`` forgets the saved cursor first (the run starts from ``since``).
    Credentials come from ``environ`` (default ``os.environ``) only, never from ``base_url``.
    ``sleep`` and ``transport`` are for tests (no real waiting; an httpx transport).
    """
    span = parse_since(since)
    _check_base_url(base_url)
    if max_pages < 1 and not until_caught_up:
        raise ConfigError(f"max_pages must be at least 1, got {max_pages}")
    options = ConnectorOptions(
        base_url=base_url,
        environ=dict(os.environ if environ is None else environ),
        transport=transport,
        sleep=sleep,
        on_wait=on_wait,
        page_size=page_size,
        max_wait=max_wait,
        max_attempts=max_attempts,
    )
    connector = get_connector(source, options)
    try:
        connector.check_query(query)
        summary = CollectSummary(source=source, query=query, endpoint=connector.endpoint)
        private = _is_private(connector.endpoint) if allow_private_media is None else allow_private_media
        with Workspace(workspace) as ws:
            shutil.rmtree(ws.root / INCOMING, ignore_errors=True)  # left by a killed run (we hold the write lock)
            if reset:
                delete_cursor(ws.db, source, connector.endpoint, query)
            incoming = ws.root / INCOMING / uuid.uuid4().hex[:12]
            downloader = (
                MediaDownloader(
                    incoming,
                    max_bytes=max_media_bytes,
                    allow_private=private,
                    transport=media_transport,
                    redactor=connector.client.redactor,
                )
                if download_media
                else None
            )
            try:
                _walk(
                    ws,
                    connector,
                    query,
                    span,
                    lag,
                    until_caught_up,
                    max_pages,
                    downloader,
                    summary,
                    progress,
                    max_media_bytes,
                )
            finally:
                if downloader is not None:
                    downloader.close()
                shutil.rmtree(incoming, ignore_errors=True)
        return summary
    finally:
        stats = getattr(getattr(connector, "client", None), "stats", None)
        if stats is not None and "summary" in locals():
            summary.requests, summary.retries = stats.requests, stats.retries
            summary.rate_limit_waits, summary.waited_seconds = stats.rate_limit_waits, stats.waited_seconds
        connector.close()


def _walk(
    ws: Workspace,
    connector: Any,
    query: str,
    span: timedelta,
    lag: timedelta,
    until_caught_up: bool,
    max_pages: int,
    downloader: MediaDownloader | None,
    summary: CollectSummary,
    progress: CollectProgress | None,
    max_media_bytes: Mapping[str, int] | None,
) -> None:
    key = (summary.source, connector.endpoint, query)
    state = CursorState.from_json(load_cursor(ws.db, *key))
    walk, summary.resumed = state.begin(datetime.now(UTC), span, lag)
    summary.floor, summary.high_water = walk.floor, state.high_water
    options = {
        "source": summary.source,
        "query": query,
        "endpoint": connector.endpoint,
        "since": str(span),
        "until_caught_up": until_caught_up,
        "max_pages": max_pages,
    }
    with IngestSession(
        ws,
        f"collect:{summary.source}",
        [f"{summary.source} {connector.endpoint} {query}"],
        options=options,
        max_media_bytes=max_media_bytes,
    ) as session:
        summary.run_id = session.summary.run_id
        while until_caught_up or summary.pages < max_pages:
            try:
                page = connector.page(query, walk.next, observed=datetime.now(UTC), since=walk.floor)
            except ApiError as exc:
                summary.stopped = summary.error = str(exc)
                break
            oldest, newest = page.times()
            kept = [r for r in page.records if not _older(r, walk.floor)]
            summary.older_than_window += len(page.records) - len(kept)
            if downloader is not None:
                _reuse_stored_media(ws, kept)
                for record in kept:
                    if isinstance(record, Post):
                        downloader.attach(record)
                summary.media_fetched, summary.media_refused = downloader.fetched, downloader.refused
            session.commit(kept, page.label)
            if downloader is not None:
                shutil.rmtree(downloader.folder, ignore_errors=True)
            done = state.advance(next_page=page.next, oldest=oldest, newest=newest, items=page.items)
            save_cursor(ws.db, *key, state.to_json())
            summary.pages += 1
            summary.posts_seen += sum(isinstance(r, Post) for r in kept)
            _take_counts(summary, session)
            summary.high_water = state.high_water
            if progress is not None:
                progress(summary)
            if done:
                summary.caught_up = True
                break
            walk = state.walk  # type: ignore[assignment]
        else:
            summary.stopped = f"page limit ({max_pages}); run again or pass --until-caught-up to go on"
    _take_counts(summary, session)


def _reuse_stored_media(ws: Workspace, records: list[Post | Rejected]) -> None:
    """Point parts whose URL the workspace already stored at that file: a second pass downloads nothing again."""
    parts = [part for r in records if isinstance(r, Post) for part in r.media if part.url and not part.source_path]
    stored = stored_media_paths(ws.db, [part.url for part in parts if part.url])
    for part in parts:
        path = stored.get(part.url or "")
        if path is not None:
            part.source_path, part.root = path, str(ws.root)


def _older(record: Post | Rejected, floor: datetime) -> bool:
    return isinstance(record, Post) and record.created_at is not None and record.created_at < floor


def _take_counts(summary: CollectSummary, session: IngestSession) -> None:
    counts = session.summary
    summary.imported, summary.updated, summary.unchanged = counts.imported, counts.updated, counts.unchanged
    summary.snapshots_added, summary.quarantined, summary.flagged = (
        counts.snapshots_added,
        counts.quarantined,
        counts.flagged,
    )
    summary.reasons = dict(counts.reasons)


def _check_base_url(base_url: str | None) -> None:
    if base_url is None:
        return
    try:
        parts = urlsplit(base_url)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"the base URL must be http(s)://host[:port][/path], got {base_url[:200]!r}")
    if parts.username or parts.password or parts.query:
        raise ConfigError(
            "the base URL holds credentials or a query string; give only the host (and path) and "
            "put credentials in the environment (see postlens collect --help)"
        )


def _is_private(endpoint: str) -> bool:
    """The API itself runs on this machine or network (a test server, a self-hosted instance)."""
    host = urlsplit(endpoint).hostname or ""
    if host == "localhost":
        return True
    try:
        return not ipaddress.ip_address(host).is_global
    except ValueError:
        return False
