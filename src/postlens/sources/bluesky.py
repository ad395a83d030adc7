"""Bluesky (AT protocol) post views -> Post: what ``app.bsky.feed.searchPosts`` and ``getAuthorFeed`` return.

Choices worth knowing:
- Identity: ``source="bluesky"``, ``native_id`` = the post's ``at://`` URI (DID + record key): the
  same on every AppView, and a handle change does not change it.
- Text is ``record.text``; hashtags, mentions and links come from the record's rich-text ``facets``
  (``#tag``, ``#mention`` gives a DID, ``#link``) plus ``record.tags``; when there are no facets
  they are read from the text.
- Media from the *view* of the embed (``embed``, not ``record.embed``, which holds blob refs):
  ``images#view`` ``fullsize`` URLs, ``video#view`` its HLS ``playlist`` (kept as a URL: a
  playlist is not a file), and the media half of ``recordWithMedia``. An ``external`` card's URI
  joins ``urls``.
- Engagement: ``likeCount`` -> likes, ``repostCount`` -> shares, ``replyCount`` -> comments
  (``quoteCount`` stays in ``raw``).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from postlens.sources.base import parse_datetime_noting
from postlens.sources.kit import finish, id_text, snippet
from postlens.types import Author, Engagement, MediaPart, Modality, Post, Rejected, extract_entities
from postlens.values import INT32_MAX, FieldNotes

_IMAGES = "app.bsky.embed.images#view"
_VIDEO = "app.bsky.embed.video#view"
_EXTERNAL = "app.bsky.embed.external#view"
_WITH_MEDIA = "app.bsky.embed.recordWithMedia#view"


def post_view_to_post(
    view: Any, file: Path, line: int | None, where: str, observed: datetime, *, observed_inferred: bool = False
) -> Post | Rejected:
    """One ``app.bsky.feed.defs#postView`` (or a ``feedViewPost`` wrapping one) as a Post."""
    if isinstance(view, dict) and isinstance(view.get("post"), dict):
        view = view["post"]  # getAuthorFeed's feedViewPost: a repost shows the original post
    if not isinstance(view, dict):
        return Rejected(str(file), line, "bad_record", f"{where}: expected a post view object", raw=snippet(view))
    uri = id_text(view.get("uri"))
    if not uri or not uri.startswith("at://"):
        return Rejected(str(file), line, "missing_id", f"{where}: the post has no at:// uri", raw=snippet(view))
    notes = FieldNotes()
    record = notes.obj("record", view.get("record"))
    when = record.get("createdAt") or view.get("indexedAt")
    try:
        created, naive = parse_datetime_noting(when) if when else (None, False)
    except ValueError as exc:
        return Rejected(str(file), line, "bad_date", f"{where}: {exc}", post_id=f"bluesky:{uri}", raw=snippet(view))
    text = notes.text("record.text", record.get("text"))
    author = notes.obj("author", view.get("author"))
    hashtags, mentions, urls = _facets(record, notes)
    if not (hashtags or mentions or urls):
        hashtags, mentions, urls = extract_entities(text)
    for tag in record.get("tags") or []:
        if isinstance(tag, str) and tag not in hashtags:
            hashtags.append(tag)
    media, links = _embed(notes.obj("embed", view.get("embed")), notes)
    urls += [link for link in links if link not in urls]
    langs = record.get("langs")
    counts = {
        name: notes.count(key, view.get(key))
        for name, key in (("likes", "likeCount"), ("shares", "repostCount"), ("comments", "replyCount"))
    }
    engagement = (
        []
        if all(v is None for v in counts.values())
        else [Engagement(observed_at=observed, observed_inferred=observed_inferred, **counts)]
    )
    post = Post(
        source="bluesky",
        native_id=uri,
        platform="bluesky",
        created_at=created,
        text=text,
        language=langs[0] if isinstance(langs, list) and langs and isinstance(langs[0], str) else None,
        author=Author(
            id=notes.optional_text("author.did", author.get("did")),
            handle=notes.optional_text("author.handle", author.get("handle")),
        ),
        hashtags=hashtags,
        mentions=mentions,
        urls=urls,
        media=media,
        engagement=engagement,
        raw=view,
        notes=notes.notes,
        created_at_naive=naive,
    )
    return finish(post, file, line, where)


def _facets(record: dict[str, Any], notes: FieldNotes) -> tuple[list[str], list[str], list[str]]:
    hashtags: list[str] = []
    mentions: list[str] = []
    urls: list[str] = []
    for facet in notes.objs("record.facets", record.get("facets")):
        for feature in notes.objs("record.facets.features", facet.get("features")):
            kind = feature.get("$type")
            value = {
                "app.bsky.richtext.facet#tag": feature.get("tag"),
                "app.bsky.richtext.facet#mention": feature.get("did"),
                "app.bsky.richtext.facet#link": feature.get("uri"),
            }.get(str(kind))
            if not isinstance(value, str) or not value:
                continue
            target = {
                "app.bsky.richtext.facet#tag": hashtags,
                "app.bsky.richtext.facet#mention": mentions,
                "app.bsky.richtext.facet#link": urls,
            }[str(kind)]
            if value not in target:
                target.append(value)
    return hashtags, mentions, urls


def _embed(embed: dict[str, Any], notes: FieldNotes) -> tuple[list[MediaPart], list[str]]:
    """(media parts, link URLs) of an embed view."""
    kind = embed.get("$type")
    if kind == _WITH_MEDIA:
        return _embed(notes.obj("embed.media", embed.get("media")), notes)
    if kind == _IMAGES:
        parts = []
        for image in notes.objs("embed.images", embed.get("images")):
            url = image.get("fullsize") or image.get("thumb")
            if isinstance(url, str) and url:
                ratio = notes.obj("embed.images.aspectRatio", image.get("aspectRatio"))
                parts.append(
                    MediaPart(
                        kind=Modality.IMAGE,
                        url=url,
                        width=notes.count("aspectRatio.width", ratio.get("width"), maximum=INT32_MAX),
                        height=notes.count("aspectRatio.height", ratio.get("height"), maximum=INT32_MAX),
                    )
                )
        return parts, []
    if kind == _VIDEO:
        url = embed.get("playlist")
        return ([MediaPart(kind=Modality.VIDEO, url=url)] if isinstance(url, str) and url else []), []
    if kind == _EXTERNAL:
        uri = notes.obj("embed.external", embed.get("external")).get("uri")
        return [], [uri] if isinstance(uri, str) and uri else []
    return [], []
