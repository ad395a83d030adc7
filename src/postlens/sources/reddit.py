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
from postlens.sources.base import parse_datetime, parse_datetime_noting, register
from postlens.sources.kit import (
    finish,
    id_text,
    iter_json_records,
    record_error,
    snippet,
)
from postlens.types import Author, Engagement, MediaPart, Modality, Post, Rejected, extract_entities
from postlens.values import INT32_MAX, FieldNotes

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
            if isinstance(item, Rejected):
                yield item
                continue
            try:
                yield self._record(*item)
            except Exception as exc:  # noqa: BLE001 - the last net: one record, never the file
                yield record_error(exc, item[1], item[2], item[3], item[0])

    def record_to_post(
        self, record: Any, file: Path, line: int | None, where: str, observed: datetime
    ) -> Post | Rejected:
        """One submission or comment (bare or in the API's ``{"kind", "data"}`` wrapper) as a Post;
        the collect connector uses this too."""
        try:
            return self._record(record, file, line, where, observed)
        except Exception as exc:  # noqa: BLE001 - the last net: one record, never the page
            return record_error(exc, file, line, where, record)

    def _record(self, record: Any, file: Path, line: int | None, where: str, observed: datetime) -> Post | Rejected:
        if isinstance(record, dict) and isinstance(record.get("data"), dict) and "kind" in record:
            record = record["data"]  # the live API's {"kind": "t3", "data": {...}} wrapper
        if not isinstance(record, dict):
            return Rejected(str(file), line, "bad_record", f"{where}: expected an object", raw=snippet(record))
        is_comment = "body" in record or str(id_text(record.get("name")) or "").startswith("t1_")
        if not is_comment and "title" not in record:
            return Rejected(
                str(file),
                line,
                "unknown_record",
                f"{where}: neither a submission (title) nor a comment (body)",
                raw=snippet(record),
            )
        native_id = _fullname(record, is_comment)
        if native_id is None:
            return Rejected(str(file), line, "missing_id", f"{where}: no usable id/name", raw=snippet(record))
        try:
            created, naive = (
                parse_datetime_noting(record["created_utc"])
                if record.get("created_utc") not in (None, "")
                else (None, False)
            )
        except ValueError as exc:
            return Rejected(
                str(file), line, "bad_date", f"{where}: {exc}", post_id=f"reddit:{native_id}", raw=snippet(record)
            )
        notes = FieldNotes()
        text, status = _text(record, is_comment, notes)
        if not text and is_comment and status:
            return Rejected(
                str(file),
                line,
                "removed_post",
                f"{where}: the comment body is {status}",
                post_id=f"reddit:{native_id}",
                raw=snippet(record),
            )
        hashtags, mentions, urls = extract_entities(text)
        mentions += [m for m in _REDDIT_USER.findall(text) if m not in mentions]
        media = [] if is_comment else _media(record, notes)
        link = record.get("url")
        if (
            not is_comment
            and not record.get("is_self")
            and isinstance(link, str)
            and link
            and not media
            and link not in urls
        ):
            urls.append(link)
        labels = dict(self.labels)
        subreddit = notes.optional_text("subreddit", record.get("subreddit"))
        if subreddit:
            labels["subreddit"] = subreddit
        over_18 = notes.flag("over_18", record.get("over_18"))
        if over_18 is not None:
            labels["over_18"] = "true" if over_18 else "false"
        if status:
            labels["text_status"] = status
        author = notes.optional_text("author", record.get("author"))
        post = Post(
            source="reddit",
            native_id=native_id,
            platform="reddit",
            created_at=created,
            text=text,
            author=Author(
                id=notes.optional_text("author_fullname", record.get("author_fullname")),
                handle=None if author in (None, "[deleted]") else author,
            ),
            hashtags=hashtags,
            mentions=mentions,
            urls=urls,
            media=media,
            engagement=_engagement(record, observed, notes),
            labels=labels,
            raw=record,
            notes=notes.notes,
            created_at_naive=naive,
        )
        return finish(post, file, line, where)


def _fullname(record: dict[str, Any], is_comment: bool) -> str | None:
    name = id_text(record.get("name"))
    if name and re.fullmatch(r"t[13]_\w+", name):
        return name
    bare = id_text(record.get("id"))
    return f"{'t1' if is_comment else 't3'}_{bare}" if bare else None


def _text(record: dict[str, Any], is_comment: bool, notes: FieldNotes) -> tuple[str, str | None]:
    """The post text, and "deleted"/"removed" when the body was taken down."""
    key = "body" if is_comment else "selftext"
    body = notes.text(key, record.get(key)).strip()
    status = body.strip("[]") if body in _GONE else None
    if status:
        body = ""
    body = html.unescape(body)  # Pushshift keeps Reddit's &amp; &lt; &gt; escaping
    if is_comment:
        return body, status
    title = html.unescape(notes.text("title", record.get("title")).strip())
    return ("\n\n".join(part for part in (title, body) if part)), status


def _engagement(record: dict[str, Any], observed: datetime, notes: FieldNotes) -> list[Engagement]:
    when, inferred = observed, True
    for key in _RETRIEVED_KEYS:
        if record.get(key):
            try:
                when, inferred = parse_datetime(record[key]), False
                break
            except ValueError as exc:
                notes.add("bad_value", key, f"{exc}; the file's time was used", record[key])
    score_key = "score" if record.get("score") is not None else "ups"
    likes = notes.count(score_key, record.get(score_key))
    comments = notes.count("num_comments", record.get("num_comments"))
    if likes is None and comments is None:
        return []
    return [Engagement(observed_at=when, likes=likes, comments=comments, observed_inferred=inferred)]


def _media(record: dict[str, Any], notes: FieldNotes) -> list[MediaPart]:
    parts: list[MediaPart] = []
    url = record.get("url_overridden_by_dest") or record.get("url")
    direct = _direct_media(url, record, notes) if isinstance(url, str) else None
    if direct is not None:
        parts.append(direct)
    metadata = notes.obj("media_metadata", record.get("media_metadata"))
    gallery = notes.obj("gallery_data", record.get("gallery_data"))
    order = [str(i.get("media_id")) for i in notes.objs("gallery_data.items", gallery.get("items"))]
    for key in order + [k for k in metadata if k not in order]:
        part = _gallery_part(metadata.get(key), notes)
        if part is not None:
            parts.append(part)
    hint = record.get("post_hint")
    if not parts and isinstance(hint, str) and hint in _PREVIEW_HINTS:
        images = notes.objs("preview.images", notes.obj("preview", record.get("preview")).get("images"))
        source = notes.obj("preview.images[0].source", images[0].get("source")) if images else {}
        if isinstance(source.get("url"), str) and source["url"]:
            parts.append(
                MediaPart(
                    kind=Modality.IMAGE,
                    url=html.unescape(source["url"]),
                    width=notes.count("preview.width", source.get("width"), maximum=INT32_MAX),
                    height=notes.count("preview.height", source.get("height"), maximum=INT32_MAX),
                )
            )
    return parts


def _direct_media(url: str, record: dict[str, Any], notes: FieldNotes) -> MediaPart | None:
    if not url.startswith("http"):
        return None
    try:
        parsed = urlparse(url)
    except ValueError:  # e.g. an invalid IPv6 host: not a usable address
        notes.add("bad_value", "url", "not a valid URL; not kept as media", url)
        return None
    host = parsed.netloc.lower()
    if host == "v.redd.it":
        container = notes.obj("secure_media", record.get("secure_media") or record.get("media"))
        video = notes.obj("secure_media.reddit_video", container.get("reddit_video"))
        return MediaPart(
            kind=Modality.VIDEO,
            url=video.get("fallback_url") or url,
            width=notes.count("reddit_video.width", video.get("width"), maximum=INT32_MAX),
            height=notes.count("reddit_video.height", video.get("height"), maximum=INT32_MAX),
            duration_s=notes.seconds("reddit_video.duration", video.get("duration")),
        )
    path = parsed.path.lower()
    if path.endswith(".gifv"):
        return MediaPart(kind=Modality.GIF, url=url)
    kind = kind_from_extension(path)
    if kind is None and host == "i.redd.it":
        kind = Modality.IMAGE
    return MediaPart(kind=kind, url=url) if kind is not None else None


def _gallery_part(item: Any, notes: FieldNotes) -> MediaPart | None:
    if not isinstance(item, dict) or item.get("status", "valid") != "valid":
        return None
    source = notes.obj("media_metadata.s", item.get("s"))
    kind = {"Image": Modality.IMAGE, "AnimatedImage": Modality.GIF, "RedditVideo": Modality.VIDEO}.get(
        str(item.get("e")), Modality.IMAGE
    )
    url = source.get("u") or source.get("gif") or source.get("mp4")
    if not isinstance(url, str) or not url:
        return None
    return MediaPart(
        kind=kind,
        url=html.unescape(url),
        width=notes.count("media_metadata.s.x", source.get("x"), maximum=INT32_MAX),
        height=notes.count("media_metadata.s.y", source.get("y"), maximum=INT32_MAX),
    )
