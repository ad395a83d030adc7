"""Fake platform APIs for connector tests, answering in each platform's documented JSON shapes.

Each ``install_*`` adds routes to an :class:`ApiServer` over a list of posts kept newest first;
tests change the list (new posts, higher counts) between runs, or script faults on a path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
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


def make_posts(
    count: int, *, start: int = 1000, step: timedelta = timedelta(minutes=10), newest: datetime | None = None
) -> list[FakePost]:
    """``count`` posts, newest first, ``step`` apart, ending at ``newest`` (default: a minute ago)."""
    top = newest or datetime.now(UTC) - timedelta(minutes=1)
    return [
        FakePost(
            start + count - i,
            top - i * step,
            f"post number {start + count - i} about #python",
            likes=i,
            shares=1,
            replies=2,
        )
        for i in range(count)
    ]


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
        "id": str(post.number),
        "created_at": iso(post.created_at),
        "uri": f"{base}/users/alice/statuses/{post.number}",
        "url": f"{base}/@alice/{post.number}",
        "content": "<p>" + post.text.replace("#python", _TAG_LINK) + "</p>",
        "spoiler_text": "",
        "language": "en",
        "visibility": "public",
        "sensitive": False,
        "reblog": None,
        "account": {
            "id": "1",
            "username": "alice",
            "acct": "alice",
            "url": f"{base}/@alice",
            "followers_count": 10,
            "bot": False,
        },
        "tags": [{"name": "python", "url": f"{base}/tags/python"}],
        "mentions": [],
        "media_attachments": [],
        "favourites_count": post.likes,
        "reblogs_count": post.shares,
        "replies_count": post.replies,
    }
    if post.media:
        status["media_attachments"] = [
            {
                "id": f"m{post.number}",
                "type": "image",
                "url": f"{base}/media/{post.number}.png",
                "meta": {"original": {"width": 8, "height": 8}},
            }
        ]
    status.update(post.extra)
    return status


def install_mastodon(
    server: ApiServer, posts: list[FakePost], *, tag: str = "python", token: str | None = None, page_cap: int = 40
) -> None:
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
            headers["Link"] = (
                f'<{server.base_url}{path}?max_id={chosen[-1].number}>; rel="next", '
                f'<{server.base_url}{path}?min_id={chosen[0].number}>; rel="prev"'
            )
        return Reply.json([mastodon_status(server, p) for p in chosen], headers=headers)

    server.route("GET", f"/api/v1/timelines/tag/{tag}", timeline)
    server.route("GET", "/api/v1/timelines/public", timeline)
    server.route("GET", "/api/v1/accounts/lookup", lambda r: Reply.json({"id": "1", "acct": "alice"}))
    server.route("GET", "/api/v1/accounts/1/statuses", timeline)


# ---------------------------------------------------------------- Bluesky


def bluesky_view(server: ApiServer, post: FakePost) -> dict[str, Any]:
    uri = f"at://did:plc:alice/app.bsky.feed.post/3k{post.number}"
    view: dict[str, Any] = {
        "uri": uri,
        "cid": f"bafy{post.number}",
        "author": {"did": "did:plc:alice", "handle": "alice.bsky.social", "displayName": "Alice"},
        "record": {
            "$type": "app.bsky.feed.post",
            "text": post.text,
            "createdAt": iso(post.created_at),
            "langs": ["en"],
            "facets": [
                {
                    "index": {"byteStart": 18, "byteEnd": 25},
                    "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "python"}],
                }
            ],
        },
        "replyCount": post.replies,
        "repostCount": post.shares,
        "likeCount": post.likes,
        "quoteCount": 0,
        "indexedAt": iso(post.created_at),
    }
    if post.media:
        view["embed"] = {
            "$type": "app.bsky.embed.images#view",
            "images": [
                {
                    "thumb": f"{server.base_url}/media/{post.number}.png",
                    "fullsize": f"{server.base_url}/media/{post.number}.png",
                    "alt": "",
                    "aspectRatio": {"width": 8, "height": 8},
                }
            ],
        }
    view.update(post.extra)
    return view


def install_bluesky(
    server: ApiServer, posts: list[FakePost], *, handle: str | None = None, password: str | None = None
) -> dict[str, Any]:
    """searchPosts and getAuthorFeed with an opaque ``cursor`` (the offset, base-36); with ``handle``,
    createSession/refreshSession and bearer checks. ``session["expire"]`` makes the current access
    token answer 400 ExpiredToken (the AppView's way) once."""
    session: dict[str, Any] = {"access": None, "refresh": None, "issued": 0, "expire": False}

    def issue() -> Reply:
        session["issued"] += 1
        session["access"], session["refresh"] = f"acc-{session['issued']}-jwt", f"ref-{session['issued']}-jwt"
        return Reply.json(
            {
                "did": "did:plc:alice",
                "handle": handle,
                "accessJwt": session["access"],
                "refreshJwt": session["refresh"],
                "active": True,
            }
        )

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
            chosen = posts[offset : offset + limit]
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


# ---------------------------------------------------------------- Reddit


def reddit_thing(server: ApiServer, post: FakePost, subreddit: str = "python") -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": f"x{post.number}",
        "name": f"t3_x{post.number}",
        "title": post.text,
        "selftext": "",
        "author": "alice",
        "author_fullname": "t2_alice",
        "subreddit": subreddit,
        "created_utc": post.created_at.timestamp(),
        "score": post.likes,
        "ups": post.likes,
        "num_comments": post.replies,
        "over_18": False,
        "is_self": not post.media,
        "permalink": f"/r/{subreddit}/comments/x{post.number}/",
        "url": f"{server.base_url}/media/{post.number}.png"
        if post.media
        else f"https://www.reddit.com/r/{subreddit}/comments/x{post.number}/",
    }
    if post.media:
        data["post_hint"] = "image"
    data.update(post.extra)
    return {"kind": "t3", "data": data}


def install_reddit(
    server: ApiServer, posts: list[FakePost], *, client_id: str = "app-id", secret: str = "app-secret-xyz"
) -> dict[str, Any]:
    """``/api/v1/access_token`` (basic auth, client_credentials), ``/r/<sub>/new`` and ``/search``:
    Listings paged by ``after`` (a fullname). ``tokens["revoke"]`` makes the current token answer 401."""
    import base64

    tokens: dict[str, Any] = {"issued": 0, "current": None, "revoke": False}
    expected = "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()

    def token(request: Request) -> Reply:
        if request.headers.get("authorization") != expected:
            return Reply.json({"message": "Unauthorized", "error": 401}, 401)
        tokens["issued"] += 1
        tokens["current"] = f"reddit-token-{tokens['issued']}-abcdef"
        return Reply.json(
            {"access_token": tokens["current"], "token_type": "bearer", "expires_in": 86400, "scope": "*"}
        )

    def listing(request: Request) -> Reply:
        if tokens["revoke"]:
            tokens["revoke"], tokens["current"] = False, "revoked"
        if request.headers.get("authorization") != f"bearer {tokens['current']}":
            return Reply.json({"message": "Unauthorized", "error": 401}, 401)
        limit = min(int(request.query.get("limit", 25)), 100)
        after = request.query.get("after")
        start = next((i + 1 for i, p in enumerate(posts) if f"t3_x{p.number}" == after), 0) if after else 0
        chosen = posts[start : start + limit]
        more = start + limit < len(posts)
        body = {
            "kind": "Listing",
            "data": {
                "after": f"t3_x{chosen[-1].number}" if chosen and more else None,
                "before": None,
                "dist": len(chosen),
                "children": [reddit_thing(server, p) for p in chosen],
            },
        }
        return Reply.json(
            body, headers={"X-Ratelimit-Used": "1", "X-Ratelimit-Remaining": "99.0", "X-Ratelimit-Reset": "300"}
        )

    server.route("POST", "/api/v1/access_token", token)
    server.route("GET", "/r/python/new", listing)
    server.route("GET", "/r/python/search", listing)
    server.route("GET", "/search", listing)
    return tokens


# ---------------------------------------------------------------- X API v2


def install_x(server: ApiServer, posts: list[FakePost], *, bearer: str = "x-bearer-token-123") -> None:
    """``/2/tweets/search/recent``: ``data``/``includes``/``meta`` with ``next_token`` (an offset)."""

    def search(request: Request) -> Reply:
        if request.headers.get("authorization") != f"Bearer {bearer}":
            return Reply.json(
                {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}, 401
            )
        limit = min(int(request.query.get("max_results", 10)), 100)
        offset = int(request.query.get("next_token", "0").removeprefix("tok"))
        chosen = posts[offset : offset + limit]
        meta: dict[str, Any] = {"result_count": len(chosen)}
        if not chosen:
            return Reply.json({"meta": meta})
        meta.update(newest_id=str(chosen[0].number), oldest_id=str(chosen[-1].number))
        if offset + limit < len(posts):
            meta["next_token"] = f"tok{offset + limit}"
        tweets = []
        for post in chosen:
            tweet: dict[str, Any] = {
                "id": str(post.number),
                "text": post.text,
                "created_at": iso(post.created_at),
                "author_id": "42",
                "lang": "en",
                "public_metrics": {
                    "retweet_count": post.shares,
                    "reply_count": post.replies,
                    "like_count": post.likes,
                    "quote_count": 0,
                    "impression_count": 100 + post.likes,
                },
                "entities": {"hashtags": [{"start": 18, "end": 25, "tag": "python"}]},
            }
            if post.media:
                tweet["attachments"] = {"media_keys": [f"3_{post.number}"]}
            tweet.update(post.extra)
            tweets.append(tweet)
        includes = {
            "users": [{"id": "42", "username": "alice", "name": "Alice", "public_metrics": {"followers_count": 7}}],
            "media": [
                {
                    "media_key": f"3_{p.number}",
                    "type": "photo",
                    "width": 8,
                    "height": 8,
                    "url": f"{server.base_url}/media/{p.number}.png",
                }
                for p in chosen
                if p.media
            ],
        }
        return Reply.json(
            {"data": tweets, "includes": includes, "meta": meta},
            headers={"x-rate-limit-limit": "450", "x-rate-limit-remaining": "449", "x-rate-limit-reset": "9999999999"},
        )

    server.route("GET", "/2/tweets/search/recent", search)
