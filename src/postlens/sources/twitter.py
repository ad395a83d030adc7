"""Twitter / X importers: API v1.1 tweet objects ("twitter-v1"), API v2 responses ("twitter-v2"),
and "twitter", which tells the two apart per record.

Accepted files: a JSON list, JSON lines, one object per file, or a folder of those (sorted).
Every tweet gets ``source="twitter"`` whatever dataset it came from, so the same tweet id merges
across MediaEval, PHEME and a user's own collection.

Choices worth knowing:
- Text is the longest the record has (``extended_tweet.full_text`` > ``full_text`` > ``text``), with
  Twitter's HTML escaping (``&amp;``) undone. A retweet is imported as its own post (its own id and
  author) whose text is ``RT @user: `` + the original's full text, since the retweet's ``text`` is
  cut at 140 characters; entities and media come from the original.
- Engagement: ``favorite_count`` -> likes, ``retweet_count`` -> shares, ``reply_count`` -> comments,
  v2 ``impression_count`` -> views. ``quote_count`` has no field of its own and stays in ``raw``.
  ``observed_at`` is the record's collection time when it carries one (``collected_at``,
  ``retrieved_at``), else the file's modification time, so re-importing a file is idempotent.
- v1.1 ``raw`` is the full tweet dict (provenance); v2 ``raw`` is ``{"tweet", "author", "media"}``,
  the tweet with what the response's ``includes`` said about it.
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from postlens.sources.base import parse_datetime, parse_datetime_noting, register, to_int
from postlens.sources.kit import (
    JSON_SUFFIXES,
    Document,
    file_time_utc,
    finish,
    id_text,
    iter_files,
    iter_json_documents,
    record_error,
    snippet,
)
from postlens.types import Author, Engagement, MediaPart, Modality, Post, Rejected
from postlens.values import INT32_MAX, FieldNotes, show

_MEDIA_KIND = {"photo": Modality.IMAGE, "video": Modality.VIDEO, "animated_gif": Modality.GIF}
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), start=1
    )
}
_COLLECTION_TIME_KEYS = ("collected_at", "retrieved_at", "retrieved_on", "observed_at")


class TwitterImporter:
    """Parses tweets; ``version`` is "v1", "v2" or "auto" (decided per record)."""

    def __init__(self, version: str = "auto", labels: dict[str, str] | None = None) -> None:
        self.version = version
        self.labels = dict(labels or {})
        self.name = {"v1": "twitter-v1", "v2": "twitter-v2"}.get(version, "twitter")

    def iter_records(self, path: Path) -> Iterator[Post | Rejected]:
        for file in iter_files(path, JSON_SUFFIXES):
            yield from self.iter_file(file, self.labels)

    def iter_file(self, file: Path, labels: dict[str, str]) -> Iterator[Post | Rejected]:
        """One file's tweets, each carrying ``labels`` (recipes pass event/class labels here)."""
        observed = file_time_utc(file)
        for item in iter_json_documents(file):
            if isinstance(item, Rejected):
                yield item
                continue
            yield from self._document(item, file, observed, labels)

    def _document(
        self, doc: Document, file: Path, observed: datetime, labels: dict[str, str]
    ) -> Iterator[Post | Rejected]:
        value = doc.value
        if isinstance(value, dict) and isinstance(value.get("tweet"), dict) and len(value) == 1:
            value = value["tweet"]  # Twitter archive export wraps each tweet
        if not isinstance(value, dict):
            yield Rejected(
                str(file),
                doc.line,
                "bad_record",
                f"{doc.where}: expected a tweet object, got {type(value).__name__}",
                raw=snippet(value),
            )
            return
        if self._is_v2(value):
            yield from _v2_response(value, doc, file, observed, labels)
            return
        try:
            yield v1_tweet_to_post(value, file, doc.line, doc.where, observed, labels)
        except Exception as exc:  # noqa: BLE001 - the last net: one record, never the file
            yield record_error(exc, file, doc.line, doc.where, value)

    def _is_v2(self, value: dict[str, Any]) -> bool:
        if self.version != "auto":
            return self.version == "v2"
        if "data" in value or "includes" in value:
            return True
        return (
            "user" not in value
            and "id_str" not in value
            and ("author_id" in value or "public_metrics" in value or "edit_history_tweet_ids" in value)
        )


@register("twitter")
class AutoTwitterImporter(TwitterImporter):
    """Tweets in either API version, told apart per record."""

    def __init__(self, labels: dict[str, str] | None = None) -> None:
        super().__init__("auto", labels)


@register("twitter-v1")
class TwitterV1Importer(TwitterImporter):
    """API v1.1 tweet objects (statuses, streaming, search, PHEME-style lists)."""

    def __init__(self, labels: dict[str, str] | None = None) -> None:
        super().__init__("v1", labels)


@register("twitter-v2")
class TwitterV2Importer(TwitterImporter):
    """API v2 responses ``{"data", "includes"}`` (or bare v2 tweet objects)."""

    def __init__(self, labels: dict[str, str] | None = None) -> None:
        super().__init__("v2", labels)


# ---------------------------------------------------------------- v1.1


def v1_tweet_to_post(
    tweet: dict[str, Any], file: Path, line: int | None, where: str, observed: datetime, labels: dict[str, str]
) -> Post | Rejected:
    """One v1.1 tweet object as a Post (or a Rejected saying why not)."""
    given_id = tweet.get("id_str") or tweet.get("id")
    native_id = id_text(tweet.get("id_str")) or id_text(tweet.get("id"))
    if not native_id:
        return Rejected(
            str(file),
            line,
            "missing_id",
            f"{where}: the tweet has no usable id_str/id" + (f" (got {show(given_id)})" if given_id else ""),
            raw=snippet(tweet),
        )
    try:
        created, naive = _twitter_date_noting(tweet["created_at"]) if tweet.get("created_at") else (None, False)
    except ValueError as exc:
        return Rejected(
            str(file), line, "bad_date", f"{where}: {exc}", post_id=f"twitter:{native_id}", raw=snippet(tweet)
        )
    notes = FieldNotes()
    retweeted = tweet.get("retweeted_status")
    original = notes.obj("retweeted_status", retweeted) or None
    content = original or tweet
    text = _v1_text(content, notes)
    if original is not None:
        handle = notes.obj("retweeted_status.user", original.get("user")).get("screen_name")
        text = f"RT @{handle}: {text}" if isinstance(handle, str) and handle else text
    entities, media_entities = _v1_entities(content, notes)
    user = notes.obj("user", tweet.get("user"))
    when, inferred = _observed(tweet, observed, notes)
    post = Post(
        source="twitter",
        native_id=native_id,
        platform="twitter",
        created_at=created,
        text=text,
        language=_language(tweet.get("lang"), notes),
        author=Author(
            id=notes.optional_text("user.id", user.get("id_str") or user.get("id")),
            handle=notes.optional_text("user.screen_name", user.get("screen_name")),
            followers=notes.count("user.followers_count", user.get("followers_count")),
            verified=notes.flag("user.verified", user.get("verified")),
        ),
        hashtags=[h["text"] for h in notes.objs("entities.hashtags", entities.get("hashtags")) if h.get("text")],
        mentions=[
            m["screen_name"]
            for m in notes.objs("entities.user_mentions", entities.get("user_mentions"))
            if m.get("screen_name")
        ],
        urls=[
            u.get("expanded_url") or u["url"]
            for u in notes.objs("entities.urls", entities.get("urls"))
            if u.get("expanded_url") or u.get("url")
        ],
        media=[part for m in media_entities if (part := _v1_media(m, notes)) is not None],
        engagement=_engagement(
            when,
            inferred,
            notes,
            likes=("favorite_count", tweet.get("favorite_count")),
            shares=("retweet_count", tweet.get("retweet_count")),
            comments=("reply_count", tweet.get("reply_count")),
        ),
        labels=dict(labels),
        raw=tweet,
        notes=notes.notes,
        created_at_naive=naive,
    )
    return finish(post, file, line, where)


def twitter_date(value: object) -> datetime:
    """``Wed Apr 17 18:57:37 +0000 2013`` without strptime (20x faster); anything else via parse_datetime."""
    if isinstance(value, str):
        parts = value.split(" ")
        if len(parts) == 6 and parts[4] == "+0000" and parts[1] in _MONTHS and len(parts[3]) == 8:
            try:
                hour, minute, second = parts[3].split(":")
                return datetime(
                    int(parts[5]), _MONTHS[parts[1]], int(parts[2]), int(hour), int(minute), int(second), tzinfo=UTC
                )
            except ValueError:
                pass
    return parse_datetime(value)


def _twitter_date_noting(value: object) -> tuple[datetime, bool]:
    if isinstance(value, str):
        parts = value.split(" ")
        if len(parts) == 6 and parts[4] == "+0000" and parts[1] in _MONTHS and len(parts[3]) == 8:
            return twitter_date(value), False
    return parse_datetime_noting(value)


def _v1_text(tweet: dict[str, Any], notes: FieldNotes) -> str:
    extended = found if isinstance(found := tweet.get("extended_tweet"), dict) else {}
    key, value = next(
        (
            (k, v)
            for k, v in (
                ("extended_tweet.full_text", extended.get("full_text")),
                ("full_text", tweet.get("full_text")),
                ("text", tweet.get("text")),
            )
            if v
        ),
        ("text", None),
    )
    return html.unescape(notes.text(key, value))


def _v1_entities(tweet: dict[str, Any], notes: FieldNotes) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Entities and the media list, preferring extended (untruncated, all photos) versions."""
    extended = notes.obj("extended_tweet", tweet.get("extended_tweet"))
    entities = notes.obj("entities", extended.get("entities") or tweet.get("entities"))
    media_source = (
        notes.obj("extended_entities", extended.get("extended_entities") or tweet.get("extended_entities")) or entities
    )
    media = notes.objs("extended_entities.media", media_source.get("media"))
    seen: set[str] = set()
    unique = []
    for item in media:
        key = show(item.get("id_str") or item.get("media_url_https") or item.get("media_url"), 200)
        if key not in seen:
            seen.add(key)
            unique.append(item)
    return entities, unique


def _v1_media(item: dict[str, Any], notes: FieldNotes) -> MediaPart | None:
    kind = _MEDIA_KIND.get(str(item.get("type", "photo")))
    if kind is None:
        return None
    url = item.get("media_url_https") or item.get("media_url")
    video = notes.obj("media.video_info", item.get("video_info"))
    if kind is not Modality.IMAGE and video:
        url = _best_variant(video.get("variants")) or url
    sizes = found if isinstance(found := item.get("sizes"), dict) else {}
    size = notes.obj("media.original_info", item.get("original_info") or sizes.get("large"))
    duration_ms = notes.count("media.video_info.duration_millis", video.get("duration_millis"))
    return MediaPart(
        kind=kind,
        url=url,
        width=notes.count("media.width", size.get("width") or size.get("w"), maximum=INT32_MAX),
        height=notes.count("media.height", size.get("height") or size.get("h"), maximum=INT32_MAX),
        duration_s=duration_ms / 1000 if duration_ms is not None else None,
    )


def _best_variant(variants: Any) -> Any:
    """The highest-bitrate MP4 of a video (the m3u8 playlist is not a file)."""
    if not isinstance(variants, list):
        return None
    mp4 = [v for v in variants if isinstance(v, dict) and v.get("content_type") == "video/mp4"]
    if not mp4:
        return None
    best = max(mp4, key=lambda v: to_int(v.get("bitrate")) or 0)
    return best.get("url")


# ---------------------------------------------------------------- v2


def v2_response_to_posts(
    response: dict[str, Any], file: Path, observed: datetime, labels: dict[str, str] | None = None
) -> list[Post | Rejected]:
    """The tweets of one API v2 response (``data`` with its ``includes``); the collect connector uses this."""
    return list(_v2_response(response, Document(response, None, "response"), file, observed, labels or {}))


def _v2_response(
    response: dict[str, Any], doc: Document, file: Path, observed: datetime, labels: dict[str, str]
) -> Iterator[Post | Rejected]:
    shared = FieldNotes()  # problems of the response as a whole, noted on each of its tweets
    includes: dict[str, Any] = {}
    if "data" not in response:
        tweets: list[Any] = [response]  # a bare v2 tweet object
    else:
        data = response.get("data")
        if not isinstance(data, (list, dict, type(None))):
            yield Rejected(
                str(file),
                doc.line,
                "bad_record",
                f"{doc.where}: 'data' is {show(data)}, not a tweet or a list of tweets",
                raw=snippet(response),
            )
            return
        tweets = data if isinstance(data, list) else [data] if isinstance(data, dict) else []
        includes = shared.obj("includes", response.get("includes"))
    users = {show(u.get("id"), 200): u for u in shared.objs("includes.users", includes.get("users"))}
    media = {show(m.get("media_key"), 200): m for m in shared.objs("includes.media", includes.get("media"))}
    when, inferred = _observed(response, observed, shared)
    for index, tweet in enumerate(tweets, start=1):
        where = f"{doc.where}, tweet {index}" if len(tweets) > 1 else doc.where
        if not isinstance(tweet, dict):
            yield Rejected(str(file), doc.line, "bad_record", f"{where}: a tweet is not an object", raw=snippet(tweet))
            continue
        notes = FieldNotes()
        notes.notes.extend(replace(note) for note in shared.notes)
        try:
            yield _v2_tweet_to_post(tweet, users, media, file, doc.line, where, (when, inferred), labels, notes)
        except Exception as exc:  # noqa: BLE001 - the last net: one record, never the file
            yield record_error(exc, file, doc.line, where, tweet)


def _v2_tweet_to_post(
    tweet: dict[str, Any],
    users: dict[str, Any],
    media: dict[str, Any],
    file: Path,
    line: int | None,
    where: str,
    observed: tuple[datetime, bool],
    labels: dict[str, str],
    notes: FieldNotes,
) -> Post | Rejected:
    given_id = tweet.get("id")
    native_id = id_text(given_id)
    if not native_id:
        return Rejected(
            str(file),
            line,
            "missing_id",
            f"{where}: the tweet has no usable id" + (f" (got {show(given_id)})" if given_id else ""),
            raw=snippet(tweet),
        )
    try:
        created, naive = parse_datetime_noting(tweet["created_at"]) if tweet.get("created_at") else (None, False)
    except ValueError as exc:
        return Rejected(
            str(file), line, "bad_date", f"{where}: {exc}", post_id=f"twitter:{native_id}", raw=snippet(tweet)
        )
    if observed[1]:
        observed = _observed(tweet, observed[0], notes)
    user = users.get(show(tweet.get("author_id"), 200), {})
    keys = notes.obj("attachments", tweet.get("attachments")).get("media_keys")
    keys = keys if isinstance(keys, list) else []
    attached = [media[show(k, 200)] for k in keys if show(k, 200) in media]
    note = notes.obj("note_tweet", tweet.get("note_tweet"))
    entities = notes.obj("entities", note.get("entities") or tweet.get("entities"))
    metrics = notes.obj("public_metrics", tweet.get("public_metrics"))
    user_metrics = notes.obj("author.public_metrics", user.get("public_metrics"))
    text_key = "note_tweet.text" if note.get("text") else "text"
    post = Post(
        source="twitter",
        native_id=native_id,
        platform="twitter",
        created_at=created,
        text=html.unescape(notes.text(text_key, note.get("text") or tweet.get("text"))),
        language=_language(tweet.get("lang"), notes),
        author=Author(
            id=notes.optional_text("author_id", tweet.get("author_id")),
            handle=notes.optional_text("author.username", user.get("username")),
            followers=notes.count("author.public_metrics.followers_count", user_metrics.get("followers_count")),
            verified=notes.flag("author.verified", user.get("verified")),
        ),
        hashtags=[h["tag"] for h in notes.objs("entities.hashtags", entities.get("hashtags")) if h.get("tag")],
        mentions=[
            m["username"] for m in notes.objs("entities.mentions", entities.get("mentions")) if m.get("username")
        ],
        urls=[
            u.get("expanded_url") or u["url"]
            for u in notes.objs("entities.urls", entities.get("urls"))
            if (u.get("expanded_url") or u.get("url")) and not u.get("media_key")
        ],
        media=[part for m in attached if (part := _v2_media(m, notes)) is not None],
        engagement=_engagement(
            *observed,
            notes,
            likes=("public_metrics.like_count", metrics.get("like_count")),
            shares=("public_metrics.retweet_count", metrics.get("retweet_count")),
            comments=("public_metrics.reply_count", metrics.get("reply_count")),
            views=("public_metrics.impression_count", metrics.get("impression_count")),
        ),
        labels=dict(labels),
        raw={
            "tweet": tweet,
            "author": user or None,
            "media": attached,
            "missing_media_keys": [k for k in keys if show(k, 200) not in media],
        },
        notes=notes.notes,
        created_at_naive=naive,
    )
    return finish(post, file, line, where)


def _v2_media(item: dict[str, Any], notes: FieldNotes) -> MediaPart | None:
    kind = _MEDIA_KIND.get(str(item.get("type")))
    if kind is None:
        return None
    url = item.get("url")
    if kind is not Modality.IMAGE:
        url = _best_variant(item.get("variants")) or url or item.get("preview_image_url")
    duration_ms = notes.count("media.duration_ms", item.get("duration_ms"))
    return MediaPart(
        kind=kind,
        url=url,
        width=notes.count("media.width", item.get("width"), maximum=INT32_MAX),
        height=notes.count("media.height", item.get("height"), maximum=INT32_MAX),
        duration_s=duration_ms / 1000 if duration_ms is not None else None,
    )


# ---------------------------------------------------------------- shared


def _engagement(
    observed: datetime, inferred: bool, notes: FieldNotes, **counts: tuple[str, object]
) -> list[Engagement]:
    """One snapshot from ``name=(source key, value)`` pairs; bad counts are dropped into ``notes``."""
    values = {name: notes.count(key, value) for name, (key, value) in counts.items()}
    if all(value is None for value in values.values()):
        return []
    return [Engagement(observed_at=observed, observed_inferred=inferred, **values)]


def _observed(record: dict[str, Any], fallback: datetime, notes: FieldNotes) -> tuple[datetime, bool]:
    """The record's collection time, or the file's (inferred); an unreadable one is noted."""
    for key in _COLLECTION_TIME_KEYS:
        if record.get(key):
            try:
                return parse_datetime(record[key]), False
            except ValueError as exc:
                notes.add("bad_value", key, f"{exc}; the file's time was used", record[key])
                return fallback, True
    return fallback, True


def _language(value: object, notes: FieldNotes) -> str | None:
    text = notes.optional_text("lang", value)
    return None if not text or text == "und" else text
