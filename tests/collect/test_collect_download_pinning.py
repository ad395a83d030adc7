"""The collect media downloader connects to the address its guard checked (no DNS rebinding)."""

from __future__ import annotations

import httpx

from postlens.sources.connectors.download import MediaDownloader
from postlens.types import MediaPart, Modality, Post

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
PUBLIC = "93.184.216.34"


def _post(url: str) -> Post:
    return Post("mastodon:x", "1", "mastodon", None, "hi", media=[MediaPart(Modality.IMAGE, url=url)])


def test_the_request_goes_to_the_checked_address_with_the_name_kept(tmp_path):
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=PNG)

    answers = iter([[PUBLIC], ["127.0.0.1"]])  # a rebinding resolver: public first, loopback after
    calls: list[str] = []

    def rebinding(host: str) -> list[str]:
        calls.append(host)
        return next(answers)

    downloader = MediaDownloader(tmp_path / "in", resolver=rebinding, transport=httpx.MockTransport(answer))
    post = _post("https://cdn.example/media/a.png?size=large")
    downloader.attach(post)
    downloader.close()
    assert post.media[0].source_path is not None and not post.notes
    assert calls == ["cdn.example"]  # resolved once; the connection does not ask DNS again
    request = seen[0]
    assert request.url.host == PUBLIC and request.url.path == "/media/a.png" and request.url.query == b"size=large"
    assert request.headers["host"] == "cdn.example"
    assert request.extensions.get("sni_hostname") == "cdn.example"


def test_a_redirect_to_a_name_that_resolves_privately_is_refused(tmp_path):
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"location": "http://inside.example/secret.png"})

    addresses = {"cdn.example": [PUBLIC], "inside.example": ["10.1.2.3"]}
    downloader = MediaDownloader(
        tmp_path / "in", resolver=lambda host: addresses[host], transport=httpx.MockTransport(answer)
    )
    post = _post("https://cdn.example/a.png")
    downloader.attach(post)
    downloader.close()
    assert post.media[0].source_path is None
    assert post.notes[0].code == "media_private_host" and "10.1.2.3" in post.notes[0].reason
