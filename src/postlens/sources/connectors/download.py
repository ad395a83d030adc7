"""Fetch the media a collected post links to, into a scratch folder the store then copies from.

A media URL in an API answer is hostile input, like a media name in a file:

- only ``http``/``https``; no credentials are sent (a CDN never sees the API token);
- the size limit of the part's kind (``media/limits.py``) is checked against ``Content-Length``
  before a byte of the body is read, and again while streaming: a body that runs past the limit
  is cut off there, never read to its end;
- the first bytes must be a known media format (``media/sniff.py``): an HTML error page is refused;
- hosts on loopback, private, link-local or reserved addresses are refused (a post must not make
  postlens fetch from the collector's own network), unless ``allow_private`` (tests, or an API
  that itself runs on such a host); redirects are followed by hand, each hop checked again;
- the host is resolved once per hop by the scraper's guard (``scrape/guard.py``) and the request
  goes to the address that was checked, with the name in the Host header and as the TLS server
  name: a second DNS answer (rebinding to 127.0.0.1 after a public first answer) is never used.

The file then goes through the store's usual gate (``MediaStore.add_part``: confined to the scratch
folder, sniffed, size-checked, content-addressed). A part that cannot be fetched keeps its URL and
the post gets a note (``post_kept``): the post is stored, the reason is in the quarantine.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from postlens.media.limits import media_limits
from postlens.media.sniff import sniff_bytes
from postlens.media.urls import url_path
from postlens.sources.connectors.http import USER_AGENT, Redactor, require_httpx
from postlens.sources.scrape.guard import Refused as GuardRefused
from postlens.sources.scrape.guard import Resolver, check_host, pinned_request, system_resolver
from postlens.types import MediaPart, Modality, Post, Rejected

_HEAD = 64
_CHUNK = 1 << 16
_MAX_REDIRECTS = 3


class Refused(Exception):
    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code


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
        resolver: Resolver = system_resolver,
        redactor: Redactor | None = None,
    ) -> None:
        lib = require_httpx()
        self.folder = folder
        self.limits = media_limits(max_bytes)
        self.allow_private = allow_private
        self.redactor = redactor or Redactor()
        self._resolve = resolver
        self._http_error = lib.HTTPError
        # no kept-alive connections: a pooled TLS connection to one pinned address, set up for one name,
        # must not carry a request for another name served from the same address
        self._client = lib.Client(
            transport=transport,
            timeout=timeout,
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT},
            limits=lib.Limits(max_keepalive_connections=0),
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
            pinned, headers, extensions = self._pinned(url)
            with self._client.stream("GET", pinned, headers=headers, extensions=extensions) as response:
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

    def _pinned(self, url: str) -> tuple[str, dict[str, str], dict[str, str]]:
        """The request for ``url`` sent to the address its host was checked at (``guard.pinned_request``)."""
        try:
            parts = urlsplit(url)
            host = parts.hostname
        except ValueError:
            host = None
        if host is None or parts.scheme not in ("http", "https"):
            raise Refused("media_bad_url", f"{self._shown(url)} is not an http(s) URL with a host")
        try:
            target = check_host(host, resolver=self._resolve, allow_private=self.allow_private)
        except GuardRefused as exc:
            code = "media_private_host" if exc.code == "scrape_private_host" else "media_download_failed"
            reason = str(exc).replace("a page must not", "a post must not")
            raise Refused(code, f"{self._shown(url)}: {reason}") from None
        return pinned_request(parts, target)

    def _shown(self, url: str) -> str:
        return self.redactor.url(url)[:300]
