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
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from postlens.sources.base import parse_datetime, register, to_int
from postlens.sources.kit import (
    JSON_SUFFIXES, Document, file_time_utc, finish, iter_files, iter_json_documents, snippet,
)
from postlens.types import Author, Engagement, MediaPart, Modality, Post, Rejected

_MEDIA_KIND = {"photo": Modality.IMAGE, "video": Modality.VIDEO, "animated_gif": Modality.GIF}
_MONTHS = {name: number for number, name in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), start=1)}
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

    def _document(self, doc: Document, file: Path, observed: datetime,
                  labels: dict[str, str]) -> Iterator[Post | Rejected]:
        value = doc.value
        if isinstance(value, dict) and isinstance(value.get("tweet"), dict) and len(value) == 1:
            value = value["tweet"]  # Twitter archive export wraps each tweet
        if not isinstance(value, dict):
            yield Rejected(str(file), doc.line, "bad_record",
                           f"{doc.where}: expected a tweet object, got {type(value).__name__}",
                           raw=snippet(value))
            return
        if self._is_v2(value):
            yield from _v2_response(value, doc, file, observed, labels)
        else:
            yield v1_tweet_to_post(value, file, doc.line, doc.where, observed, labels)

    def _is_v2(self, value: dict[str, Any]) -> bool:
        if self.version != "auto":
            return self.version == "v2"
        if "data" in value or "includes" in value:
            return True
        return "user" not in value and "id_str" not in value and (
            "author_id" in value or "public_metrics" in value or "edit_history_tweet_ids" in value
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


def v1_tweet_to_post(tweet: dict[str, Any], file: Path, line: int | None, where: str,
                     observed: datetime, labels: dict[str, str]) -> Post | Rejected:
    """One v1.1 tweet object as a Post (or a Rejected saying why not)."""
    native_id = str(tweet.get("id_str") or tweet.get("id") or "").strip()
    if not native_id:
        return Rejected(str(file), line, "missing_id", f"{where}: the tweet has no id_str/id",
                        raw=snippet(tweet))
    try:
        created = twitter_date(tweet["created_at"]) if tweet.get("created_at") else None
    except ValueError as exc:
        return Rejected(str(file), line, "bad_date", f"{where}: {exc}", post_id=f"twitter:{native_id}",
                        raw=snippet(tweet))
    original = tweet.get("retweeted_status") if isinstance(tweet.get("retweeted_status"), dict) else None
    content = original or tweet
    text = _v1_text(content)
    if original is not None:
        handle = (original.get("user") or {}).get("screen_name")
        text = f"RT @{handle}: {text}" if handle else text
    entities, media_entities = _v1_entities(content)
    user = tweet.get("user") if isinstance(tweet.get("user"), dict) else {}
    post = Post(
        source="twitter", native_id=native_id, platform="twitter", created_at=created, text=text,
        language=_language(tweet.get("lang")),
        author=Author(
            id=_str_or_none(user.get("id_str") or user.get("id")), handle=user.get("screen_name"),
            followers=to_int(user.get("followers_count")),
            verified=bool(user["verified"]) if user.get("verified") is not None else None,
        ),
        hashtags=[h.get("text", "") for h in entities.get("hashtags") or [] if h.get("text")],
        mentions=[m.get("screen_name", "") for m in entities.get("user_mentions") or []
                  if m.get("screen_name")],
        urls=[u.get("expanded_url") or u.get("url") for u in entities.get("urls") or []
              if u.get("expanded_url") or u.get("url")],
        media=[part for m in media_entities if (part := _v1_media(m)) is not None],
        engagement=_engagement(_collection_time(tweet) or observed, _collection_time(tweet) is None,
                               likes=tweet.get("favorite_count"), shares=tweet.get("retweet_count"),
                               comments=tweet.get("reply_count")),
        labels=dict(labels),
        raw=tweet,
    )
    return finish(post, file, line, where)


def twitter_date(value: object) -> datetime:
    """``Wed Apr 17 18:57:37 +0000 2013`` without strptime (20x faster); anything else via parse_datetime."""
    if isinstance(value, str):
        parts = value.split(" ")
        if len(parts) == 6 and parts[4] == "+0000" and parts[1] in _MONTHS and len(parts[3]) == 8:
            try:
                hour, minute, second = parts[3].split(":")
                return datetime(int(parts[5]), _MONTHS[parts[1]], int(parts[2]), int(hour), int(minute),
                                int(second), tzinfo=timezone.utc)
            except ValueError:
                pass
    return parse_datetime(value)


def _v1_text(tweet: dict[str, Any]) -> str:
    extended = tweet.get("extended_tweet") if isinstance(tweet.get("extended_tweet"), dict) else {}
    text = extended.get("full_text") or tweet.get("full_text") or tweet.get("text") or ""
    return html.unescape(str(text))


def _v1_entities(tweet: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Entities and the media list, preferring extended (untruncated, all photos) versions."""
    extended = tweet.get("extended_tweet") if isinstance(tweet.get("extended_tweet"), dict) else {}
    entities = extended.get("entities") or tweet.get("entities") or {}
    media_source = (extended.get("extended_entities") or tweet.get("extended_entities")
                    or entities or {})
    media = [m for m in media_source.get("media") or [] if isinstance(m, dict)]
    seen: set[str] = set()
    unique = []
    for item in media:
        key = str(item.get("id_str") or item.get("media_url_https") or item.get("media_url"))
        if key not in seen:
            seen.add(key)
            unique.append(item)
    return (entities if isinstance(entities, dict) else {}), unique


def _v1_media(item: dict[str, Any]) -> MediaPart | None:
    kind = _MEDIA_KIND.get(str(item.get("type", "photo")))
    if kind is None:
        return None
    url = item.get("media_url_https") or item.get("media_url")
    video = item.get("video_info") if isinstance(item.get("video_info"), dict) else {}
    if kind is not Modality.IMAGE and video:
        url = _best_variant(video.get("variants") or []) or url
    size = item.get("original_info") or (item.get("sizes") or {}).get("large") or {}
    duration_ms = to_int(video.get("duration_millis"))
    return MediaPart(kind=kind, url=url, width=to_int(size.get("width") or size.get("w")),
                     height=to_int(size.get("height") or size.get("h")),
                     duration_s=duration_ms / 1000 if duration_ms is not None else None)


def _best_variant(variants: list[dict[str, Any]]) -> str | None:
    """The highest-bitrate MP4 of a video (the m3u8 playlist is not a file)."""
    mp4 = [v for v in variants if isinstance(v, dict) and v.get("content_type") == "video/mp4"]
    if not mp4:
        return None
    best = max(mp4, key=lambda v: to_int(v.get("bitrate")) or 0)
    return best.get("url")


# ---------------------------------------------------------------- v2


def _v2_response(response: dict[str, Any], doc: Document, file: Path, observed: datetime,
                 labels: dict[str, str]) -> Iterator[Post | Rejected]:
    if "data" not in response:
        tweets: list[Any] = [response]  # a bare v2 tweet object
        includes: dict[str, Any] = {}
    else:
        data = response.get("data")
        tweets = data if isinstance(data, list) else [data] if isinstance(data, dict) else []
        includes = response.get("includes") if isinstance(response.get("includes"), dict) else {}
    users = {str(u.get("id")): u for u in includes.get("users") or [] if isinstance(u, dict)}
    media = {str(m.get("media_key")): m for m in includes.get("media") or [] if isinstance(m, dict)}
    collected = _collection_time(response)
    when, inferred = (collected, False) if collected is not None else (observed, True)
    for index, tweet in enumerate(tweets, start=1):
        where = f"{doc.where}, tweet {index}" if len(tweets) > 1 else doc.where
        if not isinstance(tweet, dict):
            yield Rejected(str(file), doc.line, "bad_record", f"{where}: a tweet is not an object",
                           raw=snippet(tweet))
            continue
        yield _v2_tweet_to_post(tweet, users, media, file, doc.line, where, when, inferred, labels)


def _v2_tweet_to_post(tweet: dict[str, Any], users: dict[str, Any], media: dict[str, Any], file: Path,
                      line: int | None, where: str, observed: datetime, inferred: bool,
                      labels: dict[str, str]) -> Post | Rejected:
    native_id = str(tweet.get("id") or "").strip()
    if not native_id:
        return Rejected(str(file), line, "missing_id", f"{where}: the tweet has no id", raw=snippet(tweet))
    try:
        created = parse_datetime(tweet["created_at"]) if tweet.get("created_at") else None
    except ValueError as exc:
        return Rejected(str(file), line, "bad_date", f"{where}: {exc}", post_id=f"twitter:{native_id}",
                        raw=snippet(tweet))
    user = users.get(str(tweet.get("author_id")), {})
    keys = ((tweet.get("attachments") or {}).get("media_keys")) or []
    attached = [media[str(k)] for k in keys if str(k) in media]
    note = tweet.get("note_tweet") if isinstance(tweet.get("note_tweet"), dict) else {}
    entities = note.get("entities") or tweet.get("entities") or {}
    metrics = tweet.get("public_metrics") or {}
    user_metrics = user.get("public_metrics") or {}
    post = Post(
        source="twitter", native_id=native_id, platform="twitter", created_at=created,
        text=html.unescape(str(note.get("text") or tweet.get("text") or "")),
        language=_language(tweet.get("lang")),
        author=Author(id=_str_or_none(tweet.get("author_id")), handle=user.get("username"),
                      followers=to_int(user_metrics.get("followers_count")),
                      verified=bool(user["verified"]) if user.get("verified") is not None else None),
        hashtags=[h.get("tag", "") for h in entities.get("hashtags") or [] if h.get("tag")],
        mentions=[m.get("username", "") for m in entities.get("mentions") or [] if m.get("username")],
        urls=[u.get("expanded_url") or u.get("url") for u in entities.get("urls") or []
              if (u.get("expanded_url") or u.get("url")) and not u.get("media_key")],
        media=[part for m in attached if (part := _v2_media(m)) is not None],
        engagement=_engagement(observed, inferred, likes=metrics.get("like_count"),
                               shares=metrics.get("retweet_count"), comments=metrics.get("reply_count"),
                               views=metrics.get("impression_count")),
        labels=dict(labels),
        raw={"tweet": tweet, "author": user or None, "media": attached,
             "missing_media_keys": [k for k in keys if str(k) not in media]},
    )
    return finish(post, file, line, where)


def _v2_media(item: dict[str, Any]) -> MediaPart | None:
    kind = _MEDIA_KIND.get(str(item.get("type")))
    if kind is None:
        return None
    url = item.get("url")
    if kind is not Modality.IMAGE:
        url = _best_variant(item.get("variants") or []) or url or item.get("preview_image_url")
    duration_ms = to_int(item.get("duration_ms"))
    return MediaPart(kind=kind, url=url, width=to_int(item.get("width")), height=to_int(item.get("height")),
                     duration_s=duration_ms / 1000 if duration_ms is not None else None)


# ---------------------------------------------------------------- shared


def _engagement(observed: datetime, inferred: bool, **counts: object) -> list[Engagement]:
    values = {name: to_int(value) for name, value in counts.items()}
    if all(value is None for value in values.values()):
        return []
    return [Engagement(observed_at=observed, observed_inferred=inferred, **values)]  # type: ignore[arg-type]


def _collection_time(record: dict[str, Any]) -> datetime | None:
    for key in _COLLECTION_TIME_KEYS:
        if record.get(key):
            try:
                return parse_datetime(record[key])
            except ValueError:
                return None
    return None


def _language(value: object) -> str | None:
    text = str(value or "").strip()
    return None if not text or text == "und" else text


def _str_or_none(value: object) -> str | None:
    return None if value is None or value == "" else str(value)
