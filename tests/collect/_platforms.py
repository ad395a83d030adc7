"""Fake platform APIs for connector tests, answering in each platform's documented JSON shapes.

Each ``install_*`` adds routes to an :class:`ApiServer` over a list of posts kept newest first;
tests change the list (new posts, higher counts) between runs, or script faults on a path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from _apiserver import ApiServer, Reply, Request, png_bytes


@dataclass
class FakePost:
    number: int
    created_at: datetime
    text: str
    likes: int = 0
    shares: int = 0
    replies: int = 0
    media: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


def make_posts(count: int, *, start: int = 1000, step: timedelta = timedelta(minutes=10),
               newest: datetime | None = None) -> list[FakePost]:
    """``count`` posts, newest first, ``step`` apart, ending at ``newest`` (default: a minute ago)."""
    top = newest or datetime.now(timezone.utc) - timedelta(minutes=1)
    return [FakePost(start + count - i, top - i * step, f"post number {start + count - i} about #python",
                     likes=i, shares=1, replies=2) for i in range(count)]


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def serve_media(server: ApiServer) -> None:
    """``/media/<n>.png``: a distinct small PNG per number."""

    def handler(request: Request) -> Reply:
        number = int(request.path.rsplit("/", 1)[-1].split(".")[0])
        return Reply(200, png_bytes(number), {"Content-Type": "image/png"})

    for n in range(0, 3000):
        server.route("GET", f"/media/{n}.png", handler)


# ---------------------------------------------------------------- Mastodon


_TAG_LINK = '<a href="https://example.social/tags/python" class="mention hashtag">#<span>python</span></a>'


def mastodon_status(server: ApiServer, post: FakePost) -> dict[str, Any]:
    base = server.base_url
    status: dict[str, Any] = {
        "id": str(post.number), "created_at": iso(post.created_at),
        "uri": f"{base}/users/alice/statuses/{post.number}", "url": f"{base}/@alice/{post.number}",
        "content": "<p>" + post.text.replace("#python", _TAG_LINK) + "</p>",
        "spoiler_text": "", "language": "en", "visibility": "public", "sensitive": False, "reblog": None,
        "account": {"id": "1", "username": "alice", "acct": "alice", "url": f"{base}/@alice",
                    "followers_count": 10, "bot": False},
        "tags": [{"name": "python", "url": f"{base}/tags/python"}], "mentions": [],
        "media_attachments": [], "favourites_count": post.likes, "reblogs_count": post.shares,
        "replies_count": post.replies,
    }
    if post.media:
        status["media_attachments"] = [{"id": f"m{post.number}", "type": "image",
                                        "url": f"{base}/media/{post.number}.png",
                                        "meta": {"original": {"width": 8, "height": 8}}}]
    status.update(post.extra)
    return status


def install_mastodon(server: ApiServer, posts: list[FakePost], *, tag: str = "python",
                     token: str | None = None, page_cap: int = 40) -> None:
    """``/api/v1/timelines/tag/<tag>`` and ``/timelines/public``: newest first, ``max_id`` and ``limit``,
    a ``Link`` header to the next page; with ``token``, a 401 for any other bearer token. ``page_cap``
    is the most statuses a page holds (the API's is 40)."""

    def timeline(request: Request) -> Reply:
        if token is not None and request.headers.get("authorization") != f"Bearer {token}":
            return Reply.json({"error": "The access token is invalid"}, 401)
        limit = min(int(request.query.get("limit", 20)), page_cap)
        max_id = int(request.query["max_id"]) if "max_id" in request.query else None
        chosen = [p for p in posts if max_id is None or p.number < max_id][:limit]
        headers = {}
        if chosen:
            path = request.path
            headers["Link"] = (f'<{server.base_url}{path}?max_id={chosen[-1].number}>; rel="next", '
                               f'<{server.base_url}{path}?min_id={chosen[0].number}>; rel="prev"')
        return Reply.json([mastodon_status(server, p) for p in chosen], headers=headers)

    server.route("GET", f"/api/v1/timelines/tag/{tag}", timeline)
    server.route("GET", "/api/v1/timelines/public", timeline)
    server.route("GET", "/api/v1/accounts/lookup", lambda r: Reply.json({"id": "1", "acct": "alice"}))
    server.route("GET", "/api/v1/accounts/1/statuses", timeline)


# ---------------------------------------------------------------- Bluesky


def bluesky_view(server: ApiServer, post: FakePost) -> dict[str, Any]:
    uri = f"at://did:plc:alice/app.bsky.feed.post/3k{post.number}"
    view: dict[str, Any] = {
        "uri": uri, "cid": f"bafy{post.number}",
        "author": {"did": "did:plc:alice", "handle": "alice.bsky.social", "displayName": "Alice"},
        "record": {"$type": "app.bsky.feed.post", "text": post.text, "createdAt": iso(post.created_at),
                   "langs": ["en"],
                   "facets": [{"index": {"byteStart": 18, "byteEnd": 25},
                               "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "python"}]}]},
        "replyCount": post.replies, "repostCount": post.shares, "likeCount": post.likes, "quoteCount": 0,
        "indexedAt": iso(post.created_at),
    }
    if post.media:
        view["embed"] = {"$type": "app.bsky.embed.images#view", "images": [
            {"thumb": f"{server.base_url}/media/{post.number}.png",
             "fullsize": f"{server.base_url}/media/{post.number}.png", "alt": "",
             "aspectRatio": {"width": 8, "height": 8}}]}
    view.update(post.extra)
    return view


def install_bluesky(server: ApiServer, posts: list[FakePost], *, handle: str | None = None,
                    password: str | None = None) -> dict[str, Any]:
    """searchPosts and getAuthorFeed with an opaque ``cursor`` (the offset, base-36); with ``handle``,
    createSession/refreshSession and bearer checks. ``session["expire"]`` makes the current access
    token answer 400 ExpiredToken (the AppView's way) once."""
    session: dict[str, Any] = {"access": None, "refresh": None, "issued": 0, "expire": False}

    def issue() -> Reply:
        session["issued"] += 1
        session["access"], session["refresh"] = f"acc-{session['issued']}-jwt", f"ref-{session['issued']}-jwt"
        return Reply.json({"did": "did:plc:alice", "handle": handle, "accessJwt": session["access"],
                           "refreshJwt": session["refresh"], "active": True})

    def create(request: Request) -> Reply:
        import orjson

        body = orjson.loads(request.body or b"{}")
        if body.get("identifier") != handle or body.get("password") != password:
            return Reply.json({"error": "AuthenticationRequired", "message": "Invalid identifier or password"}, 401)
        return issue()

    def refresh(request: Request) -> Reply:
        if request.headers.get("authorization") != f"Bearer {session['refresh']}":
            return Reply.json({"error": "ExpiredToken", "message": "Token has expired"}, 400)
        return issue()

    def listing(key: str, wrap: bool) -> Any:
        def handler(request: Request) -> Reply:
            if handle is not None:
                if request.headers.get("authorization") != f"Bearer {session['access']}":
                    return Reply.json({"error": "AuthenticationRequired", "message": "Authentication Required"}, 401)
                if session["expire"]:
                    session["expire"] = False
                    session["access"] = "revoked"
                    return Reply.json({"error": "ExpiredToken", "message": "Token has expired"}, 400)
            limit = min(int(request.query.get("limit", 25)), 100)
            offset = int(request.query.get("cursor", "0"), 36)
            chosen = posts[offset:offset + limit]
            items = [bluesky_view(server, p) for p in chosen]
            body: dict[str, Any] = {key: [{"post": i} for i in items] if wrap else items}
            if offset + limit < len(posts):
                body["cursor"] = _base36(offset + limit)
            return Reply.json(body)
        return handler

    server.route("POST", "/xrpc/com.atproto.server.createSession", create)
    server.route("POST", "/xrpc/com.atproto.server.refreshSession", refresh)
    server.route("GET", "/xrpc/app.bsky.feed.searchPosts", listing("posts", wrap=False))
    server.route("GET", "/xrpc/app.bsky.feed.getAuthorFeed", listing("feed", wrap=True))
    return session


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out
