"""Mastodon importer: API status objects (a JSON list such as a timeline page, or JSON lines).

Choices worth knowing:
- Identity: ids are per instance (the same status has a different ``id`` on every server that
  fetched it), so a post is keyed by its ORIGIN: ``source="mastodon:<host of uri>"`` and
  ``native_id`` = the id in the uri (``https://host/users/x/statuses/<id>``). For a local status
  that equals ``id``; for a remote one it is the origin's id, so the same status fetched from two
  instances merges. A uri of another shape (Misskey, Pleroma...) keeps the whole uri as id.
  ``instance=`` names the host for records without uri/url.
- Reblogs: a reblog wrapper is replaced by the reblogged status itself (its text, author and counts);
  the wrapper adds no content of its own, and importing the original merges it with other copies.
- Text: ``spoiler_text`` (the content warning, shown first) + blank line + ``content`` HTML turned to
  plain text with the stdlib ``html.parser``: ``<br>`` -> newline, paragraphs -> blank line, tags
  dropped, entities decoded, hidden URL spans kept so links stay whole.
- Engagement: favourites -> likes, reblogs -> shares, replies -> comments, observed at the file's
  modification time (status objects carry no collection time).
- ``labels["account_bot"]`` keeps the account's bot flag (Author has no field for it).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from postlens.sources.base import parse_datetime, register, to_int
from postlens.sources.kit import (
    finish, iter_json_records, snippet,
)
from postlens.types import Author, Engagement, MediaPart, Modality, Post, Rejected

_MEDIA_KIND = {"image": Modality.IMAGE, "video": Modality.VIDEO, "gifv": Modality.GIF,
               "audio": Modality.AUDIO}
_MASTODON_URI = re.compile(r"/users/[^/]+/statuses/([^/?#]+)$")
_BLOCK_TAGS = {"p", "div", "blockquote", "li", "ul", "ol", "pre", "h1", "h2", "h3", "h4", "h5", "h6"}


@register("mastodon")
class MastodonImporter:
    """Mastodon status objects; see the module docstring for identity and reblog rules."""

    name = "mastodon"

    def __init__(self, instance: str | None = None, labels: dict[str, str] | None = None) -> None:
        self.instance = instance
        self.labels = dict(labels or {})

    def iter_records(self, path: Path) -> Iterator[Post | Rejected]:
        for item in iter_json_records(path):
            yield item if isinstance(item, Rejected) else self._status(*item)

    def _status(self, status: Any, file: Path, line: int | None, where: str,
                observed: datetime) -> Post | Rejected:
        if isinstance(status, dict) and isinstance(status.get("reblog"), dict):
            status = status["reblog"]
        if not isinstance(status, dict):
            return Rejected(str(file), line, "bad_record", f"{where}: expected a status object",
                            raw=snippet(status))
        host, native_id = self._identity(status)
        if not native_id:
            return Rejected(str(file), line, "missing_id", f"{where}: the status has no id/uri",
                            raw=snippet(status))
        source = f"mastodon:{host}"
        try:
            created = parse_datetime(status["created_at"]) if status.get("created_at") else None
        except ValueError as exc:
            return Rejected(str(file), line, "bad_date", f"{where}: {exc}", post_id=f"{source}:{native_id}",
                            raw=snippet(status))
        converter = _HtmlToText()
        converter.feed(str(status.get("content") or ""))
        converter.close()
        spoiler = str(status.get("spoiler_text") or "").strip()
        body = converter.text()
        account = status.get("account") if isinstance(status.get("account"), dict) else {}
        labels = dict(self.labels)
        if account.get("bot") is not None:
            labels["account_bot"] = "true" if account["bot"] else "false"
        qualified = _qualified_acct(account, host)
        post = Post(
            source=source, native_id=native_id, platform="mastodon", created_at=created,
            text="\n\n".join(part for part in (spoiler, body) if part),
            language=status.get("language") or None,
            author=Author(id=qualified, handle=qualified, followers=to_int(account.get("followers_count"))),
            hashtags=[str(t.get("name")) for t in status.get("tags") or [] if isinstance(t, dict) and t.get("name")],
            mentions=[str(m.get("acct")) for m in status.get("mentions") or []
                      if isinstance(m, dict) and m.get("acct")],
            urls=converter.links,
            media=[p for a in status.get("media_attachments") or [] if (p := _attachment(a)) is not None],
            engagement=_engagement(status, observed),
            labels=labels, raw=status,
        )
        return finish(post, file, line, where)

    def _identity(self, status: dict[str, Any]) -> tuple[str, str]:
        """(origin host, id at the origin); see the module docstring."""
        uri = str(status.get("uri") or "")
        url = str(status.get("url") or "")
        host = urlparse(uri).netloc or urlparse(url).netloc or (self.instance or "unknown")
        local_id = str(status.get("id") or "").strip()
        match = _MASTODON_URI.search(urlparse(uri).path) if uri else None
        if match:
            return host, match.group(1)
        account = status.get("account") if isinstance(status.get("account"), dict) else {}
        is_local = "@" not in str(account.get("acct") or "")
        if uri and not is_local:
            return host, uri
        return host, local_id


def _qualified_acct(account: dict[str, Any], host: str) -> str | None:
    """``user@host`` for every account: a bare local ``acct`` is ambiguous across instances."""
    acct = str(account.get("acct") or account.get("username") or "").strip()
    if not acct:
        return None
    if "@" in acct:
        return acct
    account_host = urlparse(str(account.get("url") or "")).netloc or host
    return f"{acct}@{account_host}"


def _attachment(item: Any) -> MediaPart | None:
    if not isinstance(item, dict):
        return None
    kind = _MEDIA_KIND.get(str(item.get("type")))
    url = item.get("url") or item.get("remote_url")
    if kind is None or not url:
        return None  # "unknown" attachments (failed remote fetches) have no usable file
    original = ((item.get("meta") or {}).get("original") or {}) if isinstance(item.get("meta"), dict) else {}
    duration = original.get("duration")
    try:
        duration_s = float(duration) if duration is not None else None
    except (TypeError, ValueError):
        duration_s = None
    return MediaPart(kind=kind, url=str(url), width=to_int(original.get("width")),
                     height=to_int(original.get("height")), duration_s=duration_s)


def _engagement(status: dict[str, Any], observed: datetime) -> list[Engagement]:
    counts = {"likes": to_int(status.get("favourites_count")), "shares": to_int(status.get("reblogs_count")),
              "comments": to_int(status.get("replies_count"))}
    if all(v is None for v in counts.values()):
        return []
    return [Engagement(observed_at=observed, observed_inferred=True, **counts)]


class _HtmlToText(HTMLParser):
    """Mastodon's status HTML to plain text; also collects link targets that are not tags/mentions."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._pieces: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self._pieces.append("\n")
        elif tag in _BLOCK_TAGS:
            self._pieces.append("\n\n")
        elif tag == "a":
            values = dict(attrs)
            classes = (values.get("class") or "").split()
            href = values.get("href")
            if href and not {"mention", "hashtag"} & set(classes) and href not in self.links:
                self.links.append(href)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCK_TAGS:
            self._pieces.append("\n\n")

    def handle_data(self, data: str) -> None:
        self._pieces.append(data)

    def text(self) -> str:
        joined = "".join(self._pieces)
        lines = [line.strip() for line in joined.split("\n")]
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
