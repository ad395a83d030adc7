from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from _apiserver import ApiServer
from _site import ALLOWED, FakeClock, Site

from postlens.pipeline.scrape import ScrapeSummary, run_scrape


@pytest.fixture
def site() -> Iterator[Site]:
    server = ApiServer().start()
    try:
        yield Site(server)
    finally:
        server.stop()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def scrape(site: Site, clock: FakeClock, tmp_path: Any):
    """``scrape(urls, **options)``: run_scrape into a fresh workspace against the test site."""

    def run(urls: list[str], **options: Any) -> ScrapeSummary:
        options.setdefault("allow_private", ALLOWED)
        options.setdefault("resolver", site.resolve)
        return run_scrape(urls, workspace=tmp_path / "ws", sleep=clock.sleep, clock=clock, **options)

    return run
