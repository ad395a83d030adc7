"""The scraper's manners and defences against a real HTTP server: robots.txt, allow-list, SSRF guard, rate and size limits."""

from __future__ import annotations

import duckdb
import pytest
from _apiserver import Reply, endless
from _site import ALLOWED, HOST, FakeClock, Site, html, raw, robots

from postlens.sources.scrape.fetch import PageFetcher, ScrapePolicy
from postlens.sources.scrape.guard import Refused

CARD = '<html><head><meta property="og:description" content="hello from the card"></head><body></body></html>'


def quarantine(tmp_path) -> list[tuple[str, str, str]]:
    with duckdb.connect(str(tmp_path / "ws" / "postlens.duckdb"), read_only=True) as db:
        return db.execute("SELECT file, code, reason FROM quarantine ORDER BY code").fetchall()


def test_robots_disallow_refuses_with_reason_and_never_requests_the_page(site: Site, scrape, tmp_path):
    site.page("/robots.txt", robots("User-agent: *\nAllow: /\n\nUser-agent: postlens\nDisallow: /private\n"))
    site.page("/private/a", html(CARD))
    site.page("/public", html(CARD))
    summary = scrape([site.url("/private/a"), site.url("/public")])
    refused, read = summary.pages
    assert refused.refused == "scrape_robots_disallowed" and "Disallow: /private" in (refused.reason or "")
    assert site.requests_to("/private/a") == []
    assert read.refused is None and read.posts == 1
    assert site.paths() == ["/robots.txt", "/public"]  # robots.txt read once per host
    rows = quarantine(tmp_path)
    assert [(code, "Disallow: /private" in reason) for _, code, reason in rows] == [("scrape_robots_disallowed", True)]


@pytest.mark.parametrize(("status", "allowed"), [(404, True), (410, True), (500, False), (503, False), (429, False)])
def test_robots_unavailable_allows_all_but_unreachable_disallows_all(site: Site, scrape, status, allowed):
    site.page("/robots.txt", robots("oops", status=status))
    site.page("/p", html(CARD))
    summary = scrape([site.url("/p")])
    assert (summary.pages[0].refused is None) is allowed
    assert len(site.requests_to("/p")) == (1 if allowed else 0)


def test_robots_is_cached_per_host_until_its_ttl(site: Site, clock: FakeClock):
    site.page("/robots.txt", robots("User-agent: *\nDisallow: /x\n"))
    site.page("/p", html(CARD))
    fetcher = PageFetcher(
        [HOST],
        policy=ScrapePolicy(min_interval=0, robots_ttl=100),
        allow_private=ALLOWED,
        resolver=site.resolve,
        sleep=clock.sleep,
        clock=clock,
    )
    try:
        fetcher.fetch(site.url("/p"))
        fetcher.fetch(site.url("/p"))
        assert len(site.requests_to("/robots.txt")) == 1
        clock.now += 101
        fetcher.fetch(site.url("/p"))
        assert len(site.requests_to("/robots.txt")) == 2
    finally:
        fetcher.close()


def test_user_agent_names_postlens_version_and_contact(site: Site, scrape):
    from postlens import __version__

    site.page("/p", html(CARD))
    scrape([site.url("/p")], contact="mailto:me@example.org")
    agents = {r.headers["user-agent"] for r in site.server.log}
    assert agents == {f"postlens/{__version__} (+mailto:me@example.org)"}
    assert {r.headers["host"] for r in site.server.log} == {f"{HOST}:{site.port}"}  # the name, sent to the checked IP


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.7/admin",
        "http://[::ffff:127.0.0.1]:{port}/p",
        "http://[::1]:{port}/p",
        "http://0.0.0.0:{port}/p",
        "http://100.64.1.1/p",
        "http://224.0.0.1/p",
    ],
)
def test_redirect_to_a_non_public_address_is_refused(site: Site, scrape, target):
    site.page("/go", Reply(302, b"", {"Location": target.format(port=site.port)}))
    site.page("/p", html(CARD))
    summary = scrape(
        [site.url("/go")],
        allow_domains=[
            HOST,
            "169.254.169.254",
            "10.0.0.7",
            "::ffff:127.0.0.1",
            "::1",
            "0.0.0.0",
            "100.64.1.1",
            "224.0.0.1",
        ],
    )
    assert summary.pages[0].refused == "scrape_private_host", summary.pages[0].reason
    assert site.requests_to("/p") == []


def test_redirect_off_the_allow_list_is_refused(site: Site, scrape):
    site.names["other.test"] = ["127.0.0.1"]
    site.page("/go", Reply(301, b"", {"Location": site.url("/p", host="other.test")}))
    site.page("/p", html(CARD))
    summary = scrape([site.url("/go")])
    assert summary.pages[0].refused == "scrape_domain_not_allowed"
    assert site.requests_to("/p") == []


def test_subdomains_of_an_allowed_domain_are_allowed(site: Site, scrape):
    site.page("/p", html(CARD))
    summary = scrape([site.url("/p", host=f"www.{HOST}")], allow_domains=[HOST])
    assert summary.pages[0].posts == 1


def test_a_name_resolving_to_a_private_address_is_refused_before_any_request(site: Site, scrape):
    site.names["evil.test"] = ["93.184.216.34", "10.1.2.3"]  # one bad address is enough
    summary = scrape([site.url("/p", host="evil.test")])
    assert summary.pages[0].refused == "scrape_private_host" and "10.1.2.3" in (summary.pages[0].reason or "")
    assert site.server.log == []


def test_localhost_is_refused_by_default(site: Site, tmp_path):
    from postlens.pipeline.scrape import run_scrape

    site.page("/p", html(CARD))
    summary = run_scrape([f"http://localhost:{site.port}/p"], workspace=tmp_path / "ws", min_interval=0)
    assert summary.pages[0].refused == "scrape_private_host"
    assert site.server.log == []


def test_urls_with_credentials_or_other_schemes_are_refused(site: Site, scrape):
    summary = scrape(
        [f"http://user:pw@{HOST}:{site.port}/p", "file:///etc/passwd", "ftp://site.test/x"], allow_domains=[HOST]
    )
    assert [p.refused for p in summary.pages] == ["scrape_bad_url"] * 3
    assert site.server.log == []


def test_rate_limit_spaces_requests_to_a_host_by_crawl_delay(site: Site, scrape, clock: FakeClock):
    site.page("/robots.txt", robots("User-agent: *\nCrawl-delay: 3\n"))
    for n in range(3):
        site.page(f"/p{n}", html(CARD))
    summary = scrape([site.url(f"/p{n}") for n in range(3)], min_interval=0.5)
    assert [p.posts for p in summary.pages] == [1, 1, 1]
    assert site.paths() == ["/robots.txt", "/p0", "/p1", "/p2"]
    # robots.txt, then each page: the scraper asked to wait the Crawl-delay before each page request
    assert clock.sleeps == [3.0, 3.0, 3.0]


def test_min_interval_applies_without_crawl_delay(site: Site, scrape, clock: FakeClock):
    for n in range(2):
        site.page(f"/p{n}", html(CARD))
    scrape([site.url("/p0"), site.url("/p1")], min_interval=2.0)
    assert site.paths() == ["/robots.txt", "/p0", "/p1"]
    assert clock.sleeps == [2.0, 2.0]


def test_a_crawl_delay_beyond_the_cap_refuses_the_host(site: Site, scrape):
    site.page("/robots.txt", robots("User-agent: *\nCrawl-delay: 3600\n"))
    site.page("/p", html(CARD))
    summary = scrape([site.url("/p")])
    assert summary.pages[0].refused == "scrape_crawl_delay"
    assert site.requests_to("/p") == []


def test_a_page_announcing_too_many_bytes_is_refused_unread(site: Site, scrape):
    site.page("/big", Reply(200, b"<html>" + b"x" * 5000, {"Content-Type": "text/html"}))
    summary = scrape([site.url("/big")], max_page_bytes=1000)
    assert summary.pages[0].refused == "scrape_too_large" and "announces" in (summary.pages[0].reason or "")


def test_a_streamed_page_is_cut_off_at_the_limit(site: Site, scrape):
    total = 64 * 1024 * 1024
    site.page("/endless", Reply(200, endless(chunk=64 * 1024, total=total), {"Content-Type": "text/html"}))
    summary = scrape([site.url("/endless")], max_page_bytes=256 * 1024)
    assert summary.pages[0].refused == "scrape_too_large" and "stopped" in (summary.pages[0].reason or "")
    assert site.server.chunks_sent["/endless"] < total // (64 * 1024)  # the server was not read to the end


def test_non_html_content_is_refused_as_such(site: Site, scrape, tmp_path):
    site.page("/data.json", raw(b'{"a": 1}', "application/json"))
    site.page("/img", raw(b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "image/png"))
    summary = scrape([site.url("/data.json"), site.url("/img")])
    assert [p.refused for p in summary.pages] == ["scrape_not_html", "scrape_not_html"]
    assert [code for _, code, _ in quarantine(tmp_path)] == ["scrape_not_html", "scrape_not_html"]


def test_an_error_status_is_refused_with_the_status(site: Site, scrape):
    site.page("/gone", html("no", status=404))
    summary = scrape([site.url("/gone")])
    assert summary.pages[0].refused == "scrape_http_status" and "404" in (summary.pages[0].reason or "")


def test_guard_is_total_over_unresolvable_names(site: Site, scrape):
    summary = scrape([site.url("/p", host="nowhere.test")], allow_domains=["nowhere.test"])
    assert summary.pages[0].refused == "scrape_unreachable"


def test_fetcher_raises_refused_for_python_callers(site: Site, clock: FakeClock):
    fetcher = PageFetcher(
        ["elsewhere.org"], allow_private=ALLOWED, resolver=site.resolve, sleep=clock.sleep, clock=clock
    )
    try:
        with pytest.raises(Refused) as info:
            fetcher.fetch(site.url("/p"))
        assert info.value.code == "scrape_domain_not_allowed" and "elsewhere.org" in str(info.value)
    finally:
        fetcher.close()


def test_a_page_slower_than_page_seconds_is_cut_off(site: Site):
    class Ticking(FakeClock):
        def __call__(self) -> float:  # every look at the clock moves it on 10 s: a very slow server
            self.now += 10
            return self.now

    ticking = Ticking()
    site.page("/robots.txt", robots("", status=404))
    site.page("/slow", Reply(200, endless(chunk=64 * 1024, total=4 * 1024 * 1024), {"Content-Type": "text/html"}))
    fetcher = PageFetcher(
        [HOST],
        policy=ScrapePolicy(min_interval=0, page_seconds=25),
        allow_private=ALLOWED,
        resolver=site.resolve,
        sleep=ticking.sleep,
        clock=ticking,
    )
    try:
        with pytest.raises(Refused) as info:
            fetcher.fetch(site.url("/slow"))
        assert info.value.code == "scrape_too_slow"
    finally:
        fetcher.close()


def test_odd_urls_are_refused_or_read_never_a_crash(site: Site, scrape):
    site.names["xn--bcher-kva.test"] = ["127.0.0.1"]
    site.page("/p", html(CARD))
    odd = [
        f"http://bücher.test:{site.port}/p",
        f"http://{HOST}:99999/p",
        "http://[::1/p",
        f"http://{'a' * 300}.test/p",
        "http:///nohost",
        "   ",
    ]
    summary = scrape(odd, allow_domains=[HOST, "bücher.test", "xn--bcher-kva.test"])
    assert summary.pages[0].posts == 1  # an IDN host is resolved and sent as its ASCII form
    assert site.server.log[-1].headers["host"] == f"xn--bcher-kva.test:{site.port}"
    assert [p.refused for p in summary.pages[1:]] == ["scrape_bad_url"] * 5


def test_cli_refuses_localhost_and_exits_non_zero(site: Site, tmp_path):
    from typer.testing import CliRunner

    from postlens.serve.cli import app

    site.page("/p", html(CARD))
    result = CliRunner().invoke(app, ["scrape", f"http://localhost:{site.port}/p", "-w", str(tmp_path / "ws")])
    assert result.exit_code == 1
    assert "scrape_private_host" in result.output and site.server.log == []


@pytest.mark.parametrize(
    "location", ["https:///nohost", "ftp://site.test/robots.txt", "http://[::1", "http://10.0.0.1/r"]
)
def test_a_robots_redirect_to_a_bad_or_private_url_disallows_all(site: Site, scrape, location):
    site.page("/robots.txt", Reply(302, b"", {"Location": location}))
    site.page("/p", html(CARD))
    summary = scrape([site.url("/p")])
    assert summary.pages[0].refused == "scrape_robots_disallowed"
    assert site.requests_to("/p") == []


def test_robots_redirects_are_followed(site: Site, scrape):
    site.page("/robots.txt", Reply(301, b"", {"Location": "/real-robots.txt"}))
    site.page("/real-robots.txt", robots("User-agent: *\nDisallow: /p\n"))
    site.page("/p", html(CARD))
    site.page("/q", html(CARD))
    summary = scrape([site.url("/p"), site.url("/q")])
    assert [p.refused for p in summary.pages] == ["scrape_robots_disallowed", None]
    assert site.paths() == ["/robots.txt", "/real-robots.txt", "/q"]
