"""Scrape stage: web pages that allow it -> posts in the workspace (``postlens scrape URL...``).

    from postlens.pipeline.scrape import run_scrape
    summary = run_scrape(["https://example.org/thread/1"], allow_domains=["example.org"])

Each page is fetched by ``sources/scrape/fetch.py`` (allow-list, robots.txt, rate limit, SSRF guard,
size and time caps), its post markup read (``markup.py``) and mapped to posts (``posts.py``), then
committed through the store's ``IngestSession`` like a collect page. A page that is refused or
cannot be read becomes a quarantine row naming the URL and the reason; the other pages go on.
Without ``allow_domains`` the hosts of the given URLs are the allow-list (a redirect elsewhere is
refused). ``allow_private`` (Python only, for tests and self-hosted sites) lets the scraper reach
non-public addresses: ``True`` for any, or a set of address strings.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from postlens.errors import ConfigError
from postlens.sources.connectors.http import label_of
from postlens.sources.scrape.fetch import PageFetcher, ScrapePolicy
from postlens.sources.scrape.guard import AllowPrivate, Refused, Resolver, system_resolver
from postlens.sources.scrape.markup import decode_page, read_markup
from postlens.sources.scrape.posts import page_posts
from postlens.store.ingest import IngestSession
from postlens.store.workspace import Workspace
from postlens.types import Post, Rejected


@dataclass
class PageOutcome:
    url: str
    posts: int = 0
    refused: str | None = None
    """The quarantine code when the page was not read (``scrape_robots_disallowed``, ...)."""
    reason: str | None = None


@dataclass
class ScrapeSummary:
    run_id: str = ""
    pages: list[PageOutcome] = field(default_factory=list)
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    flagged: int = 0
    requests: int = 0
    robots_fetched: int = 0
    reasons: dict[str, int] = field(default_factory=dict)


def run_scrape(
    urls: Sequence[str],
    *,
    allow_domains: Collection[str] | None = None,
    workspace: Any = None,
    contact: str | None = None,
    min_interval: float = 1.0,
    max_page_bytes: int | None = None,
    page_seconds: float | None = None,
    allow_private: AllowPrivate = False,
    resolver: Resolver = system_resolver,
    transport: Any = None,
    sleep: Callable[[float], None] | None = None,
    clock: Callable[[], float] | None = None,
    progress: Callable[[PageOutcome], None] | None = None,
) -> ScrapeSummary:
    """Scrape ``urls`` into the workspace; returns per-page outcomes and the import counts."""
    if not urls:
        raise ConfigError("give at least one URL to scrape")
    if min_interval < 0:
        raise ConfigError(f"min_interval must be >= 0 seconds, got {min_interval}")
    domains = list(allow_domains or []) or sorted({h for h in (_host(u) for u in urls) if h})
    default = ScrapePolicy()
    policy = ScrapePolicy(
        contact=contact,
        min_interval=min_interval,
        max_page_bytes=max_page_bytes or default.max_page_bytes,
        page_seconds=page_seconds or default.page_seconds,
    )
    extra: dict[str, Any] = {k: v for k, v in (("sleep", sleep), ("clock", clock)) if v is not None}
    fetcher = PageFetcher(
        domains, policy=policy, allow_private=allow_private, resolver=resolver, transport=transport, **extra
    )
    summary = ScrapeSummary()
    options = {
        "allow_domains": domains,
        "contact": contact,
        "min_interval": min_interval,
        "max_page_bytes": policy.max_page_bytes,
    }
    try:
        with (
            Workspace(workspace) as ws,
            IngestSession(ws, "scrape", [fetcher.shown(u) for u in urls], options=options) as session,
        ):
            summary.run_id = session.summary.run_id
            for url in dict.fromkeys(u.strip() for u in urls):
                outcome, records = _one_page(fetcher, url)
                session.commit(records, label_of(fetcher.shown(url)))
                summary.pages.append(outcome)
                if progress is not None:
                    progress(outcome)
            counts = session.summary
        summary.imported, summary.updated, summary.unchanged = counts.imported, counts.updated, counts.unchanged
        summary.quarantined, summary.flagged, summary.reasons = counts.quarantined, counts.flagged, dict(counts.reasons)
    finally:
        summary.requests, summary.robots_fetched = fetcher.stats.requests, fetcher.stats.robots_fetched
        fetcher.close()
    return summary


def _one_page(fetcher: PageFetcher, url: str) -> tuple[PageOutcome, list[Post | Rejected]]:
    """Fetch and read one page; any refusal or failure is a quarantine row, never an exception."""
    label = label_of(fetcher.shown(url))
    try:
        page = fetcher.fetch(url)
        text, notes = decode_page(page.body, page.charset)
        markup = read_markup(text)
        markup.notes[:0] = notes
        records = page_posts(markup, page.url, label_of(fetcher.shown(page.url)), datetime.now(UTC))
    except Refused as refused:
        return PageOutcome(url, refused=refused.code, reason=str(refused)), [
            Rejected(label, None, refused.code, str(refused))
        ]
    except Exception as exc:  # noqa: BLE001 - the last net: a page the reader cannot handle is quarantined, the run goes on
        reason = f"{fetcher.shown(url)} could not be read ({type(exc).__name__}: {str(exc)[:200]})"
        return PageOutcome(url, refused="scrape_page_error", reason=reason), [
            Rejected(label, None, "scrape_page_error", reason)
        ]
    posts = sum(isinstance(r, Post) for r in records)
    if posts == 0 and not records:
        records = [
            Rejected(
                label,
                None,
                "scrape_no_posts",
                f"{fetcher.shown(page.url)} has no post markup (JSON-LD, microdata, OpenGraph or Twitter card)",
            )
        ]
    return PageOutcome(url, posts=posts), records


def _host(url: str) -> str | None:
    try:
        return (urlsplit(url.strip()).hostname or "").rstrip(".") or None
    except ValueError:
        return None
