"""Reddit importer: Pushshift-style NDJSON of submissions and comments (plain or ``.zst``).

Choices worth knowing:
- ``native_id`` is the Reddit fullname (``t3_abc`` for a submission, ``t1_abc`` for a comment):
  bare base-36 ids of the two kinds can collide.
- Text: a submission is ``title`` + blank line + ``selftext``; a comment is ``body``. A body or
  selftext of ``[deleted]`` / ``[removed]`` is dropped from the text and recorded as
  ``labels["text_status"]``; a comment left with nothing becomes ``Rejected(code="removed_post")``.
- Media by URL only (Pushshift dumps hold no files): a direct media ``url`` (kind from the
  extension; ``i.redd.it`` images, ``v.redd.it`` videos via ``fallback_url``), gallery
  ``media_metadata``, and the ``preview`` image only for image/video posts that had no direct media
  (a link card's preview is not media of the post).
- Engagement: ``score`` (or ``ups``) -> likes, ``num_comments`` -> comments; observed at
  ``retrieved_on``/``retrieved_utc`` when present, else the file's modification time.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from postlens.media.sniff import kind_from_extension
from postlens.sources.base import parse_datetime, register, to_int
from postlens.sources.kit import (
    finish, iter_json_records, snippet,
)
from postlens.types import Author, Engagement, MediaPart, Modality, Post, Rejected, extract_entities

_GONE = {"[deleted]", "[removed]"}
_REDDIT_USER = re.compile(r"(?<![\w/])/?u/([A-Za-z0-9_-]{3,20})")
_RETRIEVED_KEYS = ("retrieved_on", "retrieved_utc")
_PREVIEW_HINTS = {"image", "hosted:video", "rich:video"}


@register("reddit")
class RedditImporter:
    """Pushshift submissions and comments, one JSON object per line (``.zst`` decompressed on the fly)."""

    name = "reddit"

    def __init__(self, labels: dict[str, str] | None = None) -> None:
        self.labels = dict(labels or {})

    def iter_records(self, path: Path) -> Iterator[Post | Rejected]:
        for item in iter_json_records(path):
            yield item if isinstance(item, Rejected) else self._record(*item)

    def _record(self, record: Any, file: Path, line: int | None, where: str,
                observed: datetime) -> Post | Rejected:
        if isinstance(record, dict) and isinstance(record.get("data"), dict) and "kind" in record:
            record = record["data"]  # the live API's {"kind": "t3", "data": {...}} wrapper
        if not isinstance(record, dict):
            return Rejected(str(file), line, "bad_record", f"{where}: expected an object",
                            raw=snippet(record))
        is_comment = "body" in record or str(record.get("name", "")).startswith("t1_")
        if not is_comment and "title" not in record:
            return Rejected(str(file), line, "unknown_record",
                            f"{where}: neither a submission (title) nor a comment (body)", raw=snippet(record))
        native_id = _fullname(record, is_comment)
        if native_id is None:
            return Rejected(str(file), line, "missing_id", f"{where}: no id/name", raw=snippet(record))
        try:
            created = parse_datetime(record["created_utc"]) if record.get("created_utc") not in (None, "") else None
        except ValueError as exc:
            return Rejected(str(file), line, "bad_date", f"{where}: {exc}", post_id=f"reddit:{native_id}",
                            raw=snippet(record))
        text, status = _text(record, is_comment)
        if not text and is_comment and status:
            return Rejected(str(file), line, "removed_post", f"{where}: the comment body is {status}",
                            post_id=f"reddit:{native_id}", raw=snippet(record))
        hashtags, mentions, urls = extract_entities(text)
        mentions += [m for m in _REDDIT_USER.findall(text) if m not in mentions]
        media = [] if is_comment else _media(record)
        link = record.get("url")
        if not is_comment and not record.get("is_self") and link and not media and link not in urls:
            urls.append(str(link))
        labels = dict(self.labels)
        if record.get("subreddit"):
            labels["subreddit"] = str(record["subreddit"])
        if record.get("over_18") is not None:
            labels["over_18"] = "true" if record["over_18"] else "false"
        if status:
            labels["text_status"] = status
        author = record.get("author")
        post = Post(
            source="reddit", native_id=native_id, platform="reddit", created_at=created, text=text,
            author=Author(id=_str(record.get("author_fullname")),
                          handle=None if author in (None, "", "[deleted]") else str(author)),
            hashtags=hashtags, mentions=mentions, urls=urls, media=media,
            engagement=_engagement(record, observed),
            labels=labels, raw=record,
        )
        return finish(post, file, line, where)


def _fullname(record: dict[str, Any], is_comment: bool) -> str | None:
    name = _str(record.get("name"))
    if name and re.fullmatch(r"t[13]_\w+", name):
        return name
    bare = _str(record.get("id"))
    return f"{'t1' if is_comment else 't3'}_{bare}" if bare else None


def _text(record: dict[str, Any], is_comment: bool) -> tuple[str, str | None]:
    """The post text, and "deleted"/"removed" when the body was taken down."""
    body = str(record.get("body" if is_comment else "selftext") or "").strip()
    status = body.strip("[]") if body in _GONE else None
    if status:
        body = ""
    body = html.unescape(body)  # Pushshift keeps Reddit's &amp; &lt; &gt; escaping
    if is_comment:
        return body, status
    title = html.unescape(str(record.get("title") or "").strip())
    return ("\n\n".join(part for part in (title, body) if part)), status


def _engagement(record: dict[str, Any], observed: datetime) -> list[Engagement]:
    when, inferred = observed, True
    for key in _RETRIEVED_KEYS:
        if record.get(key):
            try:
                when, inferred = parse_datetime(record[key]), False
                break
            except ValueError:
                pass
    likes = to_int(record.get("score"))
    if likes is None:
        likes = to_int(record.get("ups"))
    comments = to_int(record.get("num_comments"))
    if likes is None and comments is None:
        return []
    return [Engagement(observed_at=when, likes=likes, comments=comments, observed_inferred=inferred)]


def _media(record: dict[str, Any]) -> list[MediaPart]:
    parts: list[MediaPart] = []
    url = str(record.get("url_overridden_by_dest") or record.get("url") or "")
    direct = _direct_media(url, record)
    if direct is not None:
        parts.append(direct)
    metadata = record.get("media_metadata") if isinstance(record.get("media_metadata"), dict) else {}
    order = [str(i.get("media_id")) for i in (record.get("gallery_data") or {}).get("items") or []
             if isinstance(i, dict)]
    for key in order + [k for k in metadata if k not in order]:
        part = _gallery_part(metadata.get(key))
        if part is not None:
            parts.append(part)
    if not parts and record.get("post_hint") in _PREVIEW_HINTS:
        images = (record.get("preview") or {}).get("images") or []
        source = (images[0].get("source") or {}) if images and isinstance(images[0], dict) else {}
        if source.get("url"):
            parts.append(MediaPart(kind=Modality.IMAGE, url=html.unescape(source["url"]),
                                   width=to_int(source.get("width")), height=to_int(source.get("height"))))
    return parts


def _direct_media(url: str, record: dict[str, Any]) -> MediaPart | None:
    if not url.startswith("http"):
        return None
    host = urlparse(url).netloc.lower()
    if host == "v.redd.it":
        video = ((record.get("secure_media") or record.get("media") or {}).get("reddit_video") or {})
        return MediaPart(kind=Modality.VIDEO, url=video.get("fallback_url") or url,
                         width=to_int(video.get("width")), height=to_int(video.get("height")),
                         duration_s=float(video["duration"]) if to_int(video.get("duration")) is not None
                         else None)
    path = urlparse(url).path.lower()
    if path.endswith(".gifv"):
        return MediaPart(kind=Modality.GIF, url=url)
    kind = kind_from_extension(path)
    if kind is None and host == "i.redd.it":
        kind = Modality.IMAGE
    return MediaPart(kind=kind, url=url) if kind is not None else None


def _gallery_part(item: Any) -> MediaPart | None:
    if not isinstance(item, dict) or item.get("status", "valid") != "valid":
        return None
    source = item.get("s") or {}
    kind = {"Image": Modality.IMAGE, "AnimatedImage": Modality.GIF, "RedditVideo": Modality.VIDEO}.get(
        str(item.get("e")), Modality.IMAGE)
    url = source.get("u") or source.get("gif") or source.get("mp4")
    if not url:
        return None
    return MediaPart(kind=kind, url=html.unescape(str(url)), width=to_int(source.get("x")),
                     height=to_int(source.get("y")))


def _str(value: object) -> str | None:
    return None if value is None or str(value).strip() == "" else str(value)
