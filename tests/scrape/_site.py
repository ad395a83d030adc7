"""A real HTTP site on 127.0.0.1 for scraper tests, reached under a made-up name (``site.test``).

The scraper resolves names itself (the SSRF guard checks addresses after resolution), so tests give
it a resolver mapping ``site.test`` to 127.0.0.1 and allow exactly that address: every other
non-public address stays refused, as in production.
"""

from __future__ import annotations

from typing import Any

from _apiserver import ApiServer, Reply, Request

HOST = "site.test"
ALLOWED = frozenset({"127.0.0.1"})


def html(body: str, status: int = 200, charset: str | None = "utf-8", headers: dict[str, str] | None = None) -> Reply:
    kind = "text/html" + (f"; charset={charset}" if charset else "")
    return Reply(
        status,
        body.encode(charset if charset and charset != "bogus" else "utf-8"),
        {"Content-Type": kind, **(headers or {})},
    )


def raw(body: bytes, content_type: str, status: int = 200) -> Reply:
    return Reply(status, body, {"Content-Type": content_type})


def robots(text: str, status: int = 200) -> Reply:
    return Reply(status, text.encode(), {"Content-Type": "text/plain"})


class Site:
    """An ``ApiServer`` plus the resolver and URLs that make it look like ``site.test``."""

    def __init__(self, server: ApiServer) -> None:
        self.server = server
        self.port = int(server.base_url.rsplit(":", 1)[1])
        self.names = {HOST: ["127.0.0.1"], f"www.{HOST}": ["127.0.0.1"]}

    def url(self, path: str, host: str = HOST) -> str:
        return f"http://{host}:{self.port}{path}"

    def resolve(self, host: str) -> list[str]:
        if host not in self.names:
            raise OSError(f"unknown test host {host}")
        return self.names[host]

    def page(self, path: str, reply: Reply) -> None:
        self.server.route("GET", path, lambda request: reply)

    def handler(self, path: str, handler: Any) -> None:
        self.server.route("GET", path, handler)

    def paths(self) -> list[str]:
        return [r.path for r in self.server.log]

    def requests_to(self, path: str) -> list[Request]:
        return self.server.requests_to(path)


class FakeClock:
    """Time that moves only when the scraper sleeps: rate limits are checked by the waits asked, never by time."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
