"""Fetch the media a collected post links to, into a scratch folder the store then copies from.

A media URL in an API answer is hostile input, like a media name in a file:

- only ``http``/``https``; no credentials are sent (a CDN never sees the API token);
- the size limit of the part's kind (``media/limits.py``) is checked against ``Content-Length``
  before a byte of the body is read, and again while streaming: a body that runs past the limit
  is cut off there, never read to its end;
- the first bytes must be a known media format (``media/sniff.py``): an HTML error page is refused;
- hosts on loopback, private, link-local or reserved addresses are refused (a post must not make
  postlens fetch from the collector's own network), unless ``allow_private`` (tests, or an API
  that itself runs on such a host); redirects are followed by hand, each hop checked again.

The file then goes through the store's usual gate (``MediaStore.add_part``: confined to the scratch
folder, sniffed, size-checked, content-addressed). A part that cannot be fetched keeps its URL and
the post gets a note (``post_kept``): the post is stored, the reason is in the quarantine.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from postlens.media.limits import media_limits
from postlens.media.sniff import sniff_bytes
from postlens.media.urls import url_path
from postlens.sources.connectors.http import USER_AGENT, Redactor, require_httpx
from postlens.sources.scrape.guard import why_not_public
from postlens.types import MediaPart, Modality, Post, Rejected

_HEAD = 64
_CHUNK = 1 << 16
_MAX_REDIRECTS = 3


class Refused(Exception):
    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code


Resolver = Callable[[str], list[str]]


def _resolve(host: str) -> list[str]:
    return [str(info[4][0]) for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)]


class MediaDownloader:
    """Downloads the URL parts of posts into ``folder`` and points each part at its file."""

    def __init__(
        self,
        folder: Path,
        *,
        max_bytes: Mapping[str | Modality, int] | None = None,
        allow_private: bool = False,
        timeout: float = 60.0,
        transport: Any = None,
        resolver: Resolver = _resolve,
        redactor: Redactor | None = None,
    ) -> None:
        lib = require_httpx()
        self.folder = folder
        self.limits = media_limits(max_bytes)
        self.allow_private = allow_private
        self.redactor = redactor or Redactor()
        self._resolve = resolver
        self._http_error = lib.HTTPError
        self._client = lib.Client(
            transport=transport, timeout=timeout, follow_redirects=False, headers={"User-Agent": USER_AGENT}
        )
        self.fetched = 0
        self.refused = 0

    def close(self) -> None:
        self._client.close()

    def attach(self, post: Post) -> None:
        """Download every remote part of ``post``; failures become notes on the post (the URL is kept)."""
        for position, part in enumerate(post.media):
            if part.source_path or not part.url or not part.url.lower().startswith(("http://", "https://")):
                continue
            if url_path(part.url).lower().endswith(".m3u8"):
                continue  # an HLS playlist (Bluesky video) is not a file: kept as a URL
            try:
                try:
                    name = self._fetch(part)
                except self._http_error as exc:
                    raise Refused(
                        "media_download_failed",
                        f"{self._shown(part.url)}: {type(exc).__name__}: {self.redactor.text(str(exc))[:200]}",
                    ) from None
            except Refused as problem:
                self.refused += 1
                post.notes.append(
                    Rejected(
                        post.origin_file or "",
                        post.origin_line,
                        problem.code,
                        f"media part {position + 1}: {problem}",
                        post_id=post.id,
                        post_kept=True,
                    )
                )
                continue
            self.fetched += 1
            part.source_path, part.root = name, str(self.folder)

    def _fetch(self, part: MediaPart) -> str:
        limit = self.limits[part.kind]
        url = part.url or ""
        for _ in range(_MAX_REDIRECTS + 1):
            self._check_host(url)
            with self._client.stream("GET", url) as response:
                if response.status_code in (301, 302, 303, 307, 308) and response.headers.get("location"):
                    url = urljoin(url, response.headers["location"])
                    continue
                if response.status_code != 200:
                    raise Refused("media_download_failed", f"{self._shown(url)} answered {response.status_code}")
                return self._save(response, url, limit, part.kind)
        raise Refused(
            "media_download_failed", f"{self._shown(part.url or '')} redirects more than {_MAX_REDIRECTS} times"
        )

    def _save(self, response: Any, url: str, limit: int, kind: Modality) -> str:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise Refused(
                "media_too_large",
                f"{self._shown(url)} is {int(declared):,} bytes (Content-Length), "
                f"over the {kind} limit of {limit:,} bytes; not downloaded",
            )
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self.folder, prefix="part-")
        size, head = 0, b""
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in response.iter_bytes(_CHUNK):
                    size += len(chunk)
                    if size > limit:
                        raise Refused(
                            "media_too_large",
                            f"{self._shown(url)} sent more than the {kind} limit of "
                            f"{limit:,} bytes; the download was stopped there",
                        )
                    if len(head) < _HEAD:
                        head += chunk[: _HEAD - len(head)]
                    out.write(chunk)
            sniffed = sniff_bytes(head)
            if sniffed is None:
                raise Refused(
                    "media_unknown_type",
                    f"{self._shown(url)} did not send a known image, video or "
                    f"audio format ({response.headers.get('content-type', '?')})",
                )
            final = name + sniffed.ext
            os.replace(name, final)
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise
        return os.path.basename(final)

    def _check_host(self, url: str) -> None:
        try:
            parts = urlsplit(url)
            host = parts.hostname
        except ValueError:
            host = None
        if parts.scheme not in ("http", "https") or not host:
            raise Refused("media_bad_url", f"{self._shown(url)} is not an http(s) URL with a host")
        if self.allow_private:
            return
        try:
            addresses = self._resolve(host)
        except OSError as exc:
            raise Refused("media_download_failed", f"{self._shown(url)}: cannot resolve {host} ({exc})") from None
        for address in addresses:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
            why = why_not_public(ip)  # also multicast, NAT64 and 6to4 forms, which Python calls global
            if why is not None:
                raise Refused("media_private_host", f"{self._shown(url)} points at {ip}, {why}; not fetched")

    def _shown(self, url: str) -> str:
        return self.redactor.url(url)[:300]
