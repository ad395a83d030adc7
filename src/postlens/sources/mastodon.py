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

from postlens.sources.base import parse_datetime_noting, register
from postlens.sources.kit import (
    finish,
    id_text,
    iter_json_records,
    record_error,
    snippet,
)
from postlens.types import Author, Engagement, MediaPart, Modality, Post, Rejected
from postlens.values import INT32_MAX, FieldNotes

_MEDIA_KIND = {"image": Modality.IMAGE, "video": Modality.VIDEO, "gifv": Modality.GIF, "audio": Modality.AUDIO}
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
            if isinstance(item, Rejected):
                yield item
                continue
            try:
                yield self._status(*item)
            except Exception as exc:  # noqa: BLE001 - the last net: one record, never the file
                yield record_error(exc, item[1], item[2], item[3], item[0])

    def status_to_post(
        self, status: Any, file: Path, line: int | None, where: str, observed: datetime
    ) -> Post | Rejected:
        """One status object (as the API returns it) as a Post; the collect connector uses this too."""
        try:
            return self._status(status, file, line, where, observed)
        except Exception as exc:  # noqa: BLE001 - the last net: one record, never the page
            return record_error(exc, file, line, where, status)

    def _status(self, status: Any, file: Path, line: int | None, where: str, observed: datetime) -> Post | Rejected:
        if isinstance(status, dict) and isinstance(status.get("reblog"), dict):
            status = status["reblog"]
        if not isinstance(status, dict):
            return Rejected(str(file), line, "bad_record", f"{where}: expected a status object", raw=snippet(status))
        host, native_id = self._identity(status)
        if not native_id:
            return Rejected(
                str(file), line, "missing_id", f"{where}: the status has no usable id/uri", raw=snippet(status)
            )
        source = f"mastodon:{host}"
        try:
            created, naive = parse_datetime_noting(status["created_at"]) if status.get("created_at") else (None, False)
        except ValueError as exc:
            return Rejected(
                str(file), line, "bad_date", f"{where}: {exc}", post_id=f"{source}:{native_id}", raw=snippet(status)
            )
        notes = FieldNotes()
        converter = _HtmlToText()
        converter.feed(notes.text("content", status.get("content")))
        converter.close()
        spoiler = notes.text("spoiler_text", status.get("spoiler_text")).strip()
        body = converter.text()
        account = notes.obj("account", status.get("account"))
        labels = dict(self.labels)
        bot = notes.flag("account.bot", account.get("bot"))
        if bot is not None:
            labels["account_bot"] = "true" if bot else "false"
        qualified = _qualified_acct(account, host)
        post = Post(
            source=source,
            native_id=native_id,
            platform="mastodon",
            created_at=created,
            text="\n\n".join(part for part in (spoiler, body) if part),
            language=notes.optional_text("language", status.get("language")),
            author=Author(
                id=qualified,
                handle=qualified,
                followers=notes.count("account.followers_count", account.get("followers_count")),
            ),
            hashtags=[t["name"] for t in notes.objs("tags", status.get("tags")) if t.get("name")],
            mentions=[m["acct"] for m in notes.objs("mentions", status.get("mentions")) if m.get("acct")],
            urls=converter.links,
            media=[
                p
                for a in notes.objs("media_attachments", status.get("media_attachments"))
                if (p := _attachment(a, notes)) is not None
            ],
            engagement=_engagement(status, observed, notes),
            labels=labels,
            raw=status,
            notes=notes.notes,
            created_at_naive=naive,
        )
        return finish(post, file, line, where)

    def _identity(self, status: dict[str, Any]) -> tuple[str, str | None]:
        """(origin host, id at the origin); see the module docstring."""
        uri = _text(status.get("uri"))
        url = _text(status.get("url"))
        host = _host(uri) or _host(url) or (self.instance or "unknown")
        local_id = id_text(status.get("id"))
        match = _MASTODON_URI.search(_path(uri)) if uri else None
        if match:
            return host, match.group(1)
        account = found if isinstance(found := status.get("account"), dict) else {}
        is_local = "@" not in _text(account.get("acct"))
        if uri and not is_local:
            return host, uri
        return host, local_id


def _text(value: Any) -> str:
    """A string field of the status or account; anything else reads as empty."""
    return value if isinstance(value, str) else ""


def _host(address: str) -> str:
    try:
        return urlparse(address).netloc
    except ValueError:  # e.g. an invalid IPv6 host
        return ""


def _path(address: str) -> str:
    try:
        return urlparse(address).path
    except ValueError:
        return ""


def _qualified_acct(account: dict[str, Any], host: str) -> str | None:
    """``user@host`` for every account: a bare local ``acct`` is ambiguous across instances."""
    acct = (_text(account.get("acct")) or _text(account.get("username"))).strip()
    if not acct:
        return None
    if "@" in acct:
        return acct
    account_host = _host(_text(account.get("url"))) or host
    return f"{acct}@{account_host}"


def _attachment(item: dict[str, Any], notes: FieldNotes) -> MediaPart | None:
    kind = _MEDIA_KIND.get(str(item.get("type")))
    url = item.get("url") or item.get("remote_url")
    if kind is None or not isinstance(url, str) or not url:
        return None  # "unknown" attachments (failed remote fetches) have no usable file
    meta = notes.obj("media_attachments.meta", item.get("meta"))
    original = notes.obj("media_attachments.meta.original", meta.get("original"))
    return MediaPart(
        kind=kind,
        url=url,
        width=notes.count("media_attachments.meta.original.width", original.get("width"), maximum=INT32_MAX),
        height=notes.count("media_attachments.meta.original.height", original.get("height"), maximum=INT32_MAX),
        duration_s=notes.seconds("media_attachments.meta.original.duration", original.get("duration")),
    )


def _engagement(status: dict[str, Any], observed: datetime, notes: FieldNotes) -> list[Engagement]:
    counts = {
        field: notes.count(key, status.get(key))
        for field, key in (("likes", "favourites_count"), ("shares", "reblogs_count"), ("comments", "replies_count"))
    }
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
