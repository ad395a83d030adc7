"""Which addresses the SSRF guard refuses: every non-public kind, including those Python calls global."""

from __future__ import annotations

import ipaddress

import pytest

from postlens.sources.scrape.guard import Refused, check_host, why_not_public

REFUSED = [
    "127.0.0.1",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "224.0.0.1",
    "239.255.255.250",
    "0.0.0.0",
    "240.0.0.1",
    "255.255.255.255",
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "fd00:ec2::254",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:8.8.8.8",
    "64:ff9b::7f00:1",
    "2002:7f00:1::1",
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",
    "::127.0.0.1",
]


@pytest.mark.parametrize("address", REFUSED)
def test_non_public_addresses_are_named(address):
    assert why_not_public(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_pass(address):
    assert why_not_public(ipaddress.ip_address(address)) is None
    assert check_host("example.org", resolver=lambda host: [address]).address == address


def test_allow_private_is_exact_when_a_set():
    assert check_host("t", resolver=lambda host: ["127.0.0.1"], allow_private={"127.0.0.1"}).address == "127.0.0.1"
    with pytest.raises(Refused):
        check_host("t", resolver=lambda host: ["127.0.0.2"], allow_private={"127.0.0.1"})
    with pytest.raises(Refused):
        check_host("t", resolver=lambda host: ["::ffff:127.0.0.1"], allow_private={"127.0.0.1"})
    assert check_host("t", resolver=lambda host: ["10.0.0.1"], allow_private=True).address == "10.0.0.1"


@pytest.mark.parametrize("address", ["224.0.0.1", "64:ff9b::a00:1", "2002:a00:1::1"])
def test_media_downloads_refuse_what_python_calls_global_too(tmp_path, address):
    """The collect media downloader shares the guard's notion of public (it used ``is_global`` alone)."""
    from postlens.sources.connectors.download import MediaDownloader
    from postlens.types import MediaPart, Modality, Post

    downloader = MediaDownloader(tmp_path / "in", resolver=lambda host: [address])
    post = Post("s", "1", "mastodon", None, "hi", media=[MediaPart(Modality.IMAGE, url="https://cdn.example/a.png")])
    downloader.attach(post)
    downloader.close()
    assert post.media[0].source_path is None and post.notes[0].code == "media_private_host"
