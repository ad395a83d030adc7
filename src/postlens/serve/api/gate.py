"""The door every request but health and docs passes before any of its body is read: the API key, then the
body size.

A pure ASGI middleware, so that an unauthenticated or oversized upload is refused from its headers
(``Content-Length``) and, when the length is not announced (chunked), the moment its streamed bytes
pass the limit: the multipart parser never sees more than ``max_body_bytes``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from postlens.serve.api.problems import ApiProblem, problem

API_KEY_ENV = "POSTLENS_API_KEY"
PUBLIC_PATHS = frozenset({"/healthz", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json", "/", "/ui"})
"""Everything else needs the key (deny by default: a new route is protected without anyone remembering to)."""
PUBLIC_PREFIXES = ("/ui/static/",)
"""The dashboard's page and scripts hold no data: its data calls are under /v1/ and need the key."""

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def given_key(headers: list[tuple[bytes, bytes]]) -> bytes | None:
    """The key a client sent: ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``."""
    for name, value in headers:
        lowered = name.lower()
        if lowered == b"x-api-key":
            return value.strip()
        if lowered == b"authorization":
            scheme, _, token = value.strip().partition(b" ")
            if scheme.lower() == b"bearer":
                return token.strip()
    return None


def key_matches(given: bytes | None, expected: bytes) -> bool:
    """Constant-time comparison of digests (no early exit that would tell how many bytes matched, nor the length)."""
    if given is None:
        return False
    return hmac.compare_digest(hashlib.sha256(given).digest(), hashlib.sha256(expected).digest())


class Gate:
    """``api_key``: None lets every request through (the server then binds 127.0.0.1 only)."""

    def __init__(self, app: ASGIApp, *, api_key: str | None, max_body_bytes: int) -> None:
        self.app = app
        self.expected = api_key.encode("utf-8") if api_key else None
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path") or "")
        if scope["type"] != "http" or path in PUBLIC_PATHS or (path.startswith(PUBLIC_PREFIXES) and ".." not in path):
            await self.app(scope, receive, send)
            return
        headers: list[tuple[bytes, bytes]] = list(scope.get("headers") or [])
        if self.expected is not None:
            given = given_key(headers)
            if not key_matches(given, self.expected):
                detail = (
                    "no API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'"
                    if given is None
                    else "the API key is not valid"
                )
                await problem(401, "unauthorized", detail, headers={"WWW-Authenticate": "Bearer"})(scope, receive, send)
                return
        length = _content_length(headers)
        if length is not None and length > self.max_body_bytes:
            await problem(
                413,
                "body_too_large",
                f"the request body is {length:,} bytes, over this server's limit of {self.max_body_bytes:,} bytes",
            )(scope, receive, send)
            return
        if length is None and any(n.lower() == b"content-length" for n, _ in headers):
            await problem(400, "bad_request", "the Content-Length header is not a number")(scope, receive, send)
            return
        await self.app(scope, self._counted(receive), send)

    def _counted(self, receive: Receive) -> Receive:
        seen = 0
        limit = self.max_body_bytes

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message.get("type") == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise ApiProblem(
                        413, "body_too_large", f"the request body passed this server's limit of {limit:,} bytes"
                    )
            return message

        return counted


def _content_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name.lower() == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None
