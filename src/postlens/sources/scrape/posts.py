"""Page markup -> posts: JSON-LD and microdata postings first, else the page's OpenGraph / Twitter card.

Which markup gives posts, and why in this order:

1. JSON-LD objects (also inside ``@graph``, lists, and nested values) whose ``@type`` is
   ``SocialMediaPosting``, ``DiscussionForumPosting`` or ``BlogPosting``: one post each;
2. microdata items of those types (``itemtype="https://schema.org/SocialMediaPosting"``): one post each;
3. only when neither gave a post: the page's OpenGraph (``og:*``, ``article:*``) and Twitter card
   (``twitter:*``) tags, as one post for the page. A page with structured postings uses the cards
   to describe itself, so taking both would store its main post twice.

Every post has source ``web``; its native id is its own URL (``url``, ``@id``, ``mainEntityOfPage``,
``og:url``, the canonical link) resolved against the page, else ``<page URL>#post-<n>``; its
``origin_file`` is the page and ``raw`` keeps the page URL, the markup kind and the item. A JSON-LD
script that is not JSON, or nests deeper than ``MAX_NESTING``, becomes a quarantine row; the page goes on.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import orjson

from postlens.sources.base import parse_datetime_noting
from postlens.sources.kit import finish
from postlens.sources.scrape.markup import Markup
from postlens.types import Author, Engagement, MediaPart, Modality, Post, Rejected, extract_entities

SOURCE = "web"
POST_TYPES = frozenset({"SocialMediaPosting", "DiscussionForumPosting", "BlogPosting"})
MAX_NESTING = 64
MAX_POSTS = 500
_COUNTS = {
    "LikeAction": "likes",
    "ShareAction": "shares",
    "CommentAction": "comments",
    "WatchAction": "views",
    "ViewAction": "views",
}


def page_posts(markup: Markup, page_url: str, label: str, observed: datetime) -> list[Post | Rejected]:
    """The posts (and quarantine rows) of one parsed page; ``label`` is the page as ``origin_file``."""
    out: list[Post | Rejected] = []
    candidates: list[tuple[str, dict[str, Any]]] = []
    for number, script in enumerate(markup.jsonld, 1):
        try:
            document = orjson.loads(script)
        except orjson.JSONDecodeError as exc:
            out.append(
                Rejected(
                    label,
                    None,
                    "scrape_bad_jsonld",
                    f"JSON-LD script {number} of {page_url} is not JSON ({str(exc)[:200]})",
                    raw=script[:2000],
                )
            )
            continue
        found, too_deep = _postings(document)
        if too_deep:
            out.append(
                Rejected(
                    label,
                    None,
                    "scrape_bad_jsonld",
                    f"JSON-LD script {number} of {page_url} nests "
                    f"deeper than {MAX_NESTING} levels; its deeper "
                    "objects were ignored",
                    raw=script[:2000],
                )
            )
        candidates += [("json-ld", item) for item in found]
    for item in markup.items:
        candidates += [("microdata", found) for found in _postings(item)[0]]
    if not candidates:
        card = _card(markup)
        if card is not None:
            candidates.append(("opengraph", card))
    if len(candidates) > MAX_POSTS:
        out.append(
            Rejected(
                label,
                None,
                "scrape_too_many_posts",
                f"{page_url} marks up {len(candidates)} posts; the first {MAX_POSTS} were kept",
            )
        )
        candidates = candidates[:MAX_POSTS]
    site = _first(markup.meta.get("og:site_name")) or (urlsplit(page_url).hostname or "web")
    seen: set[str] = set()
    for number, (kind, item) in enumerate(candidates, 1):
        post = _post(kind, item, page_url, site, observed, number)
        if post.native_id in seen:
            post.native_id = f"{post.native_id}#post-{number}"
        seen.add(post.native_id)
        for note in markup.notes if number == 1 else []:  # page notes once, on the page's first post
            post.notes.append(Rejected("", None, "scrape_page_note", f"{page_url}: {note}", post_kept=True))
        out.append(finish(post, Path(label), None, f"{kind} post {number} of the page"))
    return out


def _postings(document: Any) -> tuple[list[dict[str, Any]], bool]:
    """Posting objects anywhere in ``document`` (depth-bounded, iterative), and whether the bound was hit."""
    found: list[dict[str, Any]] = []
    too_deep = False
    todo: list[tuple[Any, int]] = [(document, 0)]
    while todo and len(found) <= MAX_POSTS:
        value, depth = todo.pop()
        if depth > MAX_NESTING:
            too_deep = True
            continue
        if isinstance(value, list):
            todo += [(v, depth + 1) for v in reversed(value)]
        elif isinstance(value, dict):
            if POST_TYPES & set(_types(value.get("@type"))):
                found.append(value)
            todo += [(v, depth + 1) for k, v in reversed(list(value.items())) if isinstance(v, (dict, list))]
    return found, too_deep


def _types(value: Any) -> list[str]:
    names = value if isinstance(value, list) else [value]
    return [n.strip().rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1] for n in names if isinstance(n, str)]


def _card(markup: Markup) -> dict[str, Any] | None:
    meta = markup.meta

    def get(*names: str) -> str | None:
        for name in names:
            value = _first(meta.get(name))
            if value:
                return value
        return None

    text = get("og:description", "twitter:description", "description") or get("og:title", "twitter:title")
    if not text:
        return None
    card: dict[str, Any] = {
        "text": text,
        "headline": get("og:title", "twitter:title"),
        "url": get("og:url") or markup.canonical,
        "datePublished": get("article:published_time", "og:published_time"),
        "author": get("article:author", "twitter:creator", "author"),
        "inLanguage": get("og:locale"),
        "image": meta.get("og:image") or meta.get("og:image:url") or meta.get("twitter:image"),
        "video": meta.get("og:video") or meta.get("og:video:url"),
        "audio": meta.get("og:audio"),
    }
    return {k: v for k, v in card.items() if v}


def _post(kind: str, item: dict[str, Any], page_url: str, site: str, observed: datetime, number: int) -> Post:
    own = _url(_text(item.get("url")) or _id_of(item.get("@id")) or _id_of(item.get("mainEntityOfPage")), page_url)
    text = (
        _text(item.get("articleBody"))
        or _text(item.get("text"))
        or _text(item.get("description"))
        or _text(item.get("headline"))
        or ""
    )
    post = Post(
        source=SOURCE,
        native_id=own or f"{page_url}#post-{number}",
        platform=site,
        created_at=None,
        text=text,
        raw={"page_url": page_url, "markup": kind, "item": item},
    )
    when = _text(item.get("datePublished")) or _text(item.get("dateCreated"))
    if when:
        try:
            post.created_at, post.created_at_naive = parse_datetime_noting(when)
        except ValueError as exc:
            post.notes.append(Rejected("", None, "bad_date", f"datePublished {when[:60]!r}: {exc}", post_kept=True))
    post.language = (_text(item.get("inLanguage")) or "")[:20] or None
    post.author = _author(item.get("author") or item.get("creator"), page_url)
    post.hashtags, post.mentions, post.urls = extract_entities(text)
    post.urls = list(dict.fromkeys([*post.urls, *([own] if own else []), page_url]))
    for field, modality in (("image", Modality.IMAGE), ("video", Modality.VIDEO), ("audio", Modality.AUDIO)):
        for link in _links(item.get(field), page_url):
            post.media.append(MediaPart(kind=modality, url=link))
    counts = _counts(item.get("interactionStatistic"))
    if counts:
        post.engagement.append(
            Engagement(
                observed_at=observed,
                likes=counts.get("likes"),
                shares=counts.get("shares"),
                comments=counts.get("comments"),
                views=counts.get("views"),
            )
        )
    return post


def _author(value: Any, page_url: str) -> Author:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, str):
        return Author(handle=value.strip()[:200] or None)
    if not isinstance(value, dict):
        return Author()
    handle = _text(value.get("alternateName")) or _text(value.get("name"))
    ident = _url(_text(value.get("url")) or _id_of(value.get("@id")), page_url) or _text(value.get("identifier"))
    return Author(id=ident, handle=handle[:200] if handle else None)


def _counts(value: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for stat in value if isinstance(value, list) else [value]:
        if not isinstance(stat, dict):
            continue
        kind = stat.get("interactionType")
        if isinstance(kind, dict):
            kind = kind.get("@type") or kind.get("@id")
        names = _types(kind)
        field = _COUNTS.get(names[0]) if names else None
        number = stat.get("userInteractionCount")
        if isinstance(number, str) and number.strip().isdigit():
            number = int(number.strip())
        if field and isinstance(number, int) and not isinstance(number, bool) and 0 <= number < 2**63:
            counts[field] = number
    return counts


def _links(value: Any, page_url: str) -> Iterator[str]:
    for entry in value if isinstance(value, list) else [value]:
        if isinstance(entry, dict):
            entry = entry.get("contentUrl") or entry.get("url") or entry.get("@id")
        link = _url(_text(entry), page_url)
        if link:
            yield link


def _url(value: str | None, page_url: str) -> str | None:
    """``value`` resolved against the page; None unless it is an http(s) URL (no ``javascript:``, no ``data:``)."""
    if not value:
        return None
    try:
        joined = urljoin(page_url, value.strip())
        scheme = urlsplit(joined).scheme
    except ValueError:
        return None
    return joined[:2000] if scheme in ("http", "https") else None


def _id_of(value: Any) -> str | None:
    return _text(value.get("@id")) if isinstance(value, dict) else _text(value)


def _text(value: Any) -> str | None:
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, str) and v.strip()), None)
    if isinstance(value, dict):
        value = value.get("@value")
    return value.strip() if isinstance(value, str) and value.strip() else None


def _first(values: list[str] | None) -> str | None:
    return next((v for v in values or [] if v), None)
