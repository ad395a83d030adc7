"""Fetch one web page politely and defensively: allow-list, robots.txt, rate limit, SSRF guard, size and time caps.

For every URL, and again for every redirect hop (at most ``max_redirects``):

1. ``http``/``https`` only, no user info in the URL, the host on the domain allow-list (a listed
   domain allows its subdomains too);
2. robots.txt of that scheme+host+port (``robots.py``; cached ``robots_ttl`` seconds; 4xx = allow
   all, 5xx/429/unreachable = disallow all): a disallowed URL is refused before any request for it;
3. the per-host rate limit: at least ``min_interval`` seconds between two requests to a host, or
   the robots ``Crawl-delay`` when longer (one above ``max_crawl_delay`` refuses the host);
4. the host is resolved and every address checked (``guard.py``); the request is sent to the checked
   address (Host header and TLS SNI keep the name), so DNS rebinding cannot redirect it;
5. only a 2xx with an HTML content type is read, streamed: a ``Content-Length`` over
   ``max_page_bytes`` is refused unread, a body running past it is cut off there, and reading stops
   at ``page_seconds`` after the request began.

Everything refused raises :class:`Refused` with a stable code and a reason; nothing is retried
(a scraper that hammers a failing site is worse than one that skips it).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from postlens.errors import ConfigError
from postlens.sources.connectors.http import Redactor, require_httpx
from postlens.sources.scrape.guard import (
    AllowPrivate,
    Refused,
    Resolver,
    check_host,
    pinned_request,
    system_resolver,
)
from postlens.sources.scrape.robots import MAX_ROBOTS_BYTES, RobotsRules, allow_all, disallow_all, parse_robots

PRODUCT_TOKEN = "postlens"
DEFAULT_CONTACT = "https://pypi.org/project/postlens/"
HTML_TYPES = ("text/html", "application/xhtml+xml")
_REDIRECTS = (301, 302, 303, 307, 308)
_CHUNK = 1 << 16


def user_agent(contact: str | None = None) -> str:
    """``postlens/<version> (+<contact URL>)``: sites can tell who is crawling and whom to ask."""
    from postlens import __version__

    return f"{PRODUCT_TOKEN}/{__version__} (+{contact or DEFAULT_CONTACT})"


@dataclass(frozen=True, slots=True)
class ScrapePolicy:
    contact: str | None = None
    min_interval: float = 1.0
    max_crawl_delay: float = 60.0
    max_page_bytes: int = 5 * 1024 * 1024
    timeout: float = 20.0
    """Seconds for connecting and for each read."""
    page_seconds: float = 60.0
    """Seconds for a whole page (headers and body); a slower page is refused."""
    max_redirects: int = 5
    robots_ttl: float = 24 * 3600.0


@dataclass
class FetchedPage:
    url: str
    """The final URL, after redirects (the page's provenance)."""
    content_type: str
    charset: str | None
    body: bytes


@dataclass
class FetchStats:
    requests: int = 0
    robots_fetched: int = 0
    waits: list[float] = field(default_factory=list)


class PageFetcher:
    """Fetches pages for one scrape run; holds the robots cache and the per-host clock."""

    def __init__(
        self,
        allow_domains: Collection[str],
        *,
        policy: ScrapePolicy = ScrapePolicy(),
        allow_private: AllowPrivate = False,
        resolver: Resolver = system_resolver,
        transport: Any = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        lib = require_httpx()
        try:
            self.allow_domains = sorted({_ascii(d.strip().lower().strip(".")) for d in allow_domains if d.strip()})
        except UnicodeError:
            raise ConfigError(
                f"an allowed domain is not a valid host name: {', '.join(map(repr, allow_domains))}"
            ) from None
        self.policy = policy
        self.allow_private = allow_private
        self.user_agent = user_agent(policy.contact)
        self.stats = FetchStats()
        self.redactor = Redactor()
        self._resolver = resolver
        self._sleep = sleep
        self._clock = clock
        self._http_error = lib.HTTPError
        # no kept-alive connections: a pooled TLS connection to one pinned address, set up for one name,
        # must not carry a request for another name served from the same address
        self._client = lib.Client(
            transport=transport,
            timeout=policy.timeout,
            follow_redirects=False,
            headers={"User-Agent": self.user_agent},
            limits=lib.Limits(max_keepalive_connections=0),
        )
        self._robots: dict[str, tuple[RobotsRules, float]] = {}
        self._last_request: dict[str, float] = {}

    def close(self) -> None:
        self._client.close()

    def shown(self, url: str) -> str:
        return self.redactor.url(url)[:300]

    def fetch(self, url: str) -> FetchedPage:
        """The page at ``url``; :class:`Refused` when any rule of the module docstring says no."""
        for _ in range(self.policy.max_redirects + 1):
            parts = self._checked_url(url)
            check_host(parts.hostname, resolver=self._resolver, allow_private=self.allow_private)
            rules = self.robots_for(parts.scheme, parts.netloc)
            allowed, why = rules.verdict(url)
            if not allowed:
                raise Refused("scrape_robots_disallowed", f"{self.shown(url)}: {why}; not fetched")
            location = self._get(url, parts, rules, self._read_page)
            if isinstance(location, FetchedPage):
                return location
            url = location
        raise Refused("scrape_redirects", f"{self.shown(url)}: more than {self.policy.max_redirects} redirects")

    # ------------------------------------------------------------ robots

    def robots_for(self, scheme: str, netloc: str) -> RobotsRules:
        key = f"{scheme}://{netloc.lower()}"
        cached = self._robots.get(key)
        now = self._clock()
        if cached is not None and now - cached[1] < self.policy.robots_ttl:
            return cached[0]
        rules = self._fetch_robots(key + "/robots.txt")
        self._robots[key] = (rules, self._clock())
        return rules

    def _fetch_robots(self, url: str) -> RobotsRules:
        self.stats.robots_fetched += 1
        for _ in range(self.policy.max_redirects + 1):
            try:
                parts = _split(url)
                if parts.scheme not in ("http", "https") or not parts.hostname:
                    return disallow_all(f"robots.txt redirects to {self.shown(url)}, not an http(s) URL")
                answer = self._get(url, parts, None, self._read_robots)
            except Refused as refused:
                return disallow_all(f"{refused}")
            except ValueError:
                return disallow_all(f"robots.txt redirects to {self.shown(url)}, not a URL")
            if isinstance(answer, RobotsRules):
                return answer
            url = answer
        return allow_all("robots.txt redirects too often: taken as unavailable")

    # ------------------------------------------------------------ one request

    def _checked_url(self, url: str) -> Any:
        try:
            parts = _split(url)
        except ValueError:
            raise Refused("scrape_bad_url", f"{self.shown(url)} is not a URL") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise Refused("scrape_bad_url", f"{self.shown(url)} is not an http(s) URL with a host")
        if parts.username or parts.password:
            raise Refused("scrape_bad_url", f"{self.shown(url)} carries user credentials; give the URL without them")
        try:
            host = _ascii(parts.hostname.lower().rstrip("."))
        except UnicodeError:
            raise Refused("scrape_bad_url", f"{self.shown(url)}: the host name is not valid") from None
        if not any(host == d or host.endswith("." + d) for d in self.allow_domains):
            raise Refused(
                "scrape_domain_not_allowed",
                f"{self.shown(url)}: {host} is not on the allow-list "
                f"({', '.join(self.allow_domains) or 'empty'}); pass "
                "--allow-domain to add it",
            )
        return parts

    def _get(self, url: str, parts: Any, rules: RobotsRules | None, read: Callable[..., Any]) -> Any:
        """GET ``url`` at its checked address; a redirect returns the next URL, else ``read(response, url)``."""
        target = check_host(parts.hostname, resolver=self._resolver, allow_private=self.allow_private)
        self._wait_turn(parts.hostname.lower(), rules)
        pinned, headers, extensions = pinned_request(parts, target)
        started = self._clock()
        self.stats.requests += 1
        try:
            with self._client.stream("GET", pinned, headers=headers, extensions=extensions) as response:
                if response.status_code in _REDIRECTS and response.headers.get("location"):
                    return urljoin(url, response.headers["location"])
                return read(response, url, started)
        except self._http_error as exc:
            raise Refused(
                "scrape_unreachable", f"{self.shown(url)}: {type(exc).__name__}: {self.redactor.text(str(exc))[:200]}"
            ) from None

    def _wait_turn(self, host: str, rules: RobotsRules | None) -> None:
        delay = rules.crawl_delay if rules is not None and rules.crawl_delay else 0.0
        if delay > self.policy.max_crawl_delay:
            raise Refused(
                "scrape_crawl_delay",
                f"{host} asks for {delay:g} s between requests (Crawl-delay), more "
                f"than the {self.policy.max_crawl_delay:g} s allowed; not fetched",
            )
        interval = max(self.policy.min_interval, delay)
        last = self._last_request.get(host)
        if last is not None:
            wait = last + interval - self._clock()
            if wait > 0:
                self.stats.waits.append(wait)
                self._sleep(wait)
        self._last_request[host] = self._clock()

    def _read_page(self, response: Any, url: str, started: float) -> FetchedPage:
        shown = self.shown(url)
        if not 200 <= response.status_code < 300:
            raise Refused("scrape_http_status", f"{shown} answered {response.status_code}")
        content_type, charset = _content_type(response.headers.get("content-type", ""))
        if content_type and content_type not in HTML_TYPES:
            raise Refused("scrape_not_html", f"{shown} is {content_type}, not an HTML page; not read")
        body = self._read_capped(response, shown, self.policy.max_page_bytes, started, refuse=True)
        return FetchedPage(url=url, content_type=content_type or "text/html", charset=charset, body=body)

    def _read_robots(self, response: Any, url: str, started: float) -> RobotsRules:
        status = response.status_code
        if status == 429 or status >= 500:
            return disallow_all(f"robots.txt answered {status}")
        if 400 <= status < 500:
            return allow_all(f"robots.txt answered {status}")
        if not 200 <= status < 300:
            return disallow_all(f"robots.txt answered {status}")
        body = self._read_capped(response, self.shown(url), MAX_ROBOTS_BYTES, started, refuse=False)
        return parse_robots(body.decode("utf-8", "replace"), PRODUCT_TOKEN)

    def _read_capped(self, response: Any, shown: str, limit: int, started: float, *, refuse: bool) -> bytes:
        """The body up to ``limit`` bytes: past it, ``Refused`` (``refuse``) or the first ``limit`` bytes."""
        declared = response.headers.get("content-length", "")
        if refuse and declared.isdigit() and int(declared) > limit:
            raise Refused(
                "scrape_too_large",
                f"{shown} announces {int(declared):,} bytes, over the page limit of {limit:,}; not read",
            )
        chunks, size = [], 0
        for chunk in response.iter_bytes(_CHUNK):
            size += len(chunk)
            if size > limit:
                if refuse:
                    raise Refused(
                        "scrape_too_large",
                        f"{shown} sent more than the page limit of {limit:,} bytes; reading was stopped there",
                    )
                chunks.append(chunk[: len(chunk) - (size - limit)])
                break
            chunks.append(chunk)
            if self._clock() - started > self.policy.page_seconds:
                raise Refused(
                    "scrape_too_slow", f"{shown} took more than {self.policy.page_seconds:g} s; reading was stopped"
                )
        return b"".join(chunks)


def _ascii(host: str) -> str:
    """The DNS form of a host name (IDNA); an IP literal as it is. ``UnicodeError`` for an invalid name."""
    return host if ":" in host or not host else host.encode("idna").decode("ascii")


def _split(url: str) -> Any:
    parts = urlsplit(url.strip())
    _ = parts.port  # raises ValueError on a bad port
    return parts


def _content_type(header: str) -> tuple[str, str | None]:
    kind, _, rest = header.partition(";")
    charset = None
    for param in rest.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip("\"'")[:40]
    return kind.strip().lower(), charset
