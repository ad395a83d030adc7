"""The pinned connection over TLS: the request goes to the checked address, the certificate is checked for the name."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path

import httpx
import pytest
from _apiserver import ApiServer
from _site import ALLOWED, HOST, FakeClock, html

from postlens.sources.scrape.fetch import PageFetcher, ScrapePolicy
from postlens.sources.scrape.guard import Refused

CARD = '<meta property="og:description" content="over tls">'


@pytest.fixture
def tls_site(tmp_path: Path):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: cannot make a test certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            f"/CN={HOST}",
            "-addext",
            f"subjectAltName=DNS:{HOST}",
        ],
        check=True,
        capture_output=True,
    )
    server = ApiServer()
    names: list[str | None] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda sock, name, ctx: names.append(name)  # type: ignore[assignment]
    server._http.socket = context.wrap_socket(server._http.socket, server_side=True)
    server.start()
    try:
        yield server, cert, names
    finally:
        server.stop()


def fetcher_for(server: ApiServer, cert: Path) -> PageFetcher:
    clock = FakeClock()
    transport = httpx.HTTPTransport(verify=ssl.create_default_context(cafile=str(cert)))
    return PageFetcher(
        [HOST],
        policy=ScrapePolicy(min_interval=0),
        allow_private=ALLOWED,
        transport=transport,
        resolver=lambda host: ["127.0.0.1"] if host == HOST else [],
        sleep=clock.sleep,
        clock=clock,
    )


def test_https_goes_to_the_checked_address_with_the_name_as_sni_and_for_the_certificate(tls_site):
    server, cert, names = tls_site
    server.route("GET", "/p", lambda request: html(CARD))
    port = int(server.base_url.rsplit(":", 1)[1])
    fetcher = fetcher_for(server, cert)
    try:
        page = fetcher.fetch(f"https://{HOST}:{port}/p")
    finally:
        fetcher.close()
    assert b"over tls" in page.body
    assert set(names) == {HOST}  # every TLS handshake (robots.txt, page) named the host, not 127.0.0.1
    assert {r.headers["host"] for r in server.log} == {f"{HOST}:{port}"}


def test_a_certificate_for_another_name_is_refused(tls_site):
    server, cert, _ = tls_site
    port = int(server.base_url.rsplit(":", 1)[1])
    fetcher = fetcher_for(server, cert)
    fetcher.allow_domains = ["other.test"]
    fetcher._resolver = lambda host: ["127.0.0.1"]
    try:
        with pytest.raises(Refused) as info:
            fetcher.fetch(f"https://other.test:{port}/p")
    finally:
        fetcher.close()
    # robots.txt could not be fetched (certificate not for other.test): disallow all, the page never requested
    assert info.value.code == "scrape_robots_disallowed" and "CERTIFICATE" in str(info.value).upper()
    assert server.log == []
