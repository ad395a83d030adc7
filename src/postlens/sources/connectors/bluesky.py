"""Bluesky: ``app.bsky.feed.searchPosts`` and ``app.bsky.feed.getAuthorFeed`` (XRPC), paged by ``cursor``.

Queries: ``@handle`` (or a DID) reads an author's feed; anything else is a search (``sort=latest``,
``since`` = the walk's floor). With ``BLUESKY_HANDLE`` and ``BLUESKY_APP_PASSWORD`` set, a session
is created (``com.atproto.server.createSession``) at ``BLUESKY_BASE_URL`` (default
https://bsky.social, which proxies to the AppView) and renewed with ``refreshSession`` when the
access token expires (401, or 400 ``ExpiredToken``); without them the public AppView
(https://public.api.bsky.app) is read unauthenticated. Post views are mapped by ``sources/bluesky.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from postlens.errors import AuthError, BadPage, ConfigError
from postlens.sources.bluesky import post_view_to_post
from postlens.sources.connectors.base import ConnectorOptions, Page, connector
from postlens.sources.connectors.http import ApiClient, Redactor, RetryPolicy, label_of, policy_from
from postlens.types import Post, Rejected

PUBLIC_BASE_URL = "https://public.api.bsky.app"
SESSION_BASE_URL = "https://bsky.social"
HANDLE_ENV, PASSWORD_ENV, BASE_ENV = "BLUESKY_HANDLE", "BLUESKY_APP_PASSWORD", "BLUESKY_BASE_URL"
MAX_PAGE = 100
_AUTH_ERRORS = {"ExpiredToken", "InvalidToken", "AuthenticationRequired", "AuthMissing"}


class BlueskyConnector:
    name = "bluesky"

    def __init__(self, options: ConnectorOptions) -> None:
        env = options.environ
        self._handle = env.get(HANDLE_ENV, "").strip()
        self._password = env.get(PASSWORD_ENV, "").strip()
        if bool(self._handle) != bool(self._password):
            raise ConfigError(
                f"set both {HANDLE_ENV} and {PASSWORD_ENV} (an app password) to sign in, "
                "or neither to read the public AppView"
            )
        default = SESSION_BASE_URL if self._handle else PUBLIC_BASE_URL
        self.endpoint = (options.base_url or env.get(BASE_ENV) or default).rstrip("/")
        self.page_size = min(options.page_size or MAX_PAGE, MAX_PAGE)
        self._redactor = Redactor([self._password])
        self._refresh_jwt: str | None = None
        self.client = ApiClient(
            self.endpoint,
            policy=policy_from(options, RetryPolicy()),
            redactor=self._redactor,
            transport=options.transport,
            on_wait=options.on_wait,
            is_auth_failure=_is_auth_failure,
            refresh=self._renew,
            sleep=options.sleep,
        )
        self._signed_in = False

    def close(self) -> None:
        self.client.close()

    def check_query(self, query: str) -> None:
        if not query.strip():
            raise ConfigError("give a Bluesky search ('word', '#tag') or an author ('@handle.bsky.social')")

    def page(self, query: str, after: Mapping[str, str] | None, *, observed: datetime, since: datetime | None) -> Page:
        self.check_query(query)
        if self._handle and not self._signed_in:
            self._sign_in()
        text = query.strip()
        if text.startswith("@") or text.startswith("did:"):
            path, params, key = "/xrpc/app.bsky.feed.getAuthorFeed", {"actor": text.lstrip("@")}, "feed"
        else:
            path, key = "/xrpc/app.bsky.feed.searchPosts", "posts"
            params = {"q": text, "sort": "latest"}
            if since is not None:
                params["since"] = since.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        params = {**params, "limit": str(self.page_size), **(after or {})}
        body, _ = self.client.get_json(path, params)
        label = label_of(self.client.shown(path, params))
        items = body.get(key) if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise BadPage(f"{label}: expected an object with a '{key}' list, got {_kind(body)}")
        records: list[Post | Rejected] = [
            post_view_to_post(item, Path(label), index, f"post {index}", observed)
            for index, item in enumerate(items, start=1)
        ]
        cursor = body.get("cursor")
        next_page = {"cursor": cursor} if isinstance(cursor, str) and cursor and items else None
        return Page(records, next_page, len(items), label)

    # ------------------------------------------------------------ session

    def _sign_in(self) -> None:
        body, _ = self.client.request_json(
            "POST",
            "/xrpc/com.atproto.server.createSession",
            json={"identifier": self._handle, "password": self._password},
            refresh=False,
        )
        self._take_tokens(body)
        self._signed_in = True

    def _renew(self) -> bool:
        """After an auth failure: refreshSession with the refresh token, else a new session."""
        if not self._handle:
            return False
        try:
            if self._refresh_jwt:
                body, _ = self.client.request_json(
                    "POST",
                    "/xrpc/com.atproto.server.refreshSession",
                    headers={"Authorization": f"Bearer {self._refresh_jwt}"},
                    refresh=False,
                )
                self._take_tokens(body)
            else:
                self._sign_in()
        except AuthError:
            self._refresh_jwt = None
            self._sign_in()
        return True

    def _take_tokens(self, body: Any) -> None:
        access = body.get("accessJwt") if isinstance(body, dict) else None
        if not isinstance(access, str) or not access:
            raise AuthError(f"{self.endpoint} answered the sign-in without an access token")
        refresh = body.get("refreshJwt")
        self._refresh_jwt = refresh if isinstance(refresh, str) and refresh else None
        self._redactor.add(access, self._refresh_jwt)
        self.client.headers["Authorization"] = f"Bearer {access}"


def _is_auth_failure(status: int, body: Any) -> bool:
    return (
        status == 400
        and isinstance(body, dict)
        and isinstance(body.get("error"), str)
        and body["error"] in _AUTH_ERRORS
    )


def _kind(body: Any) -> str:
    return f"an object with keys {sorted(body)[:8]}" if isinstance(body, dict) else type(body).__name__


@connector("bluesky")
def _make(options: ConnectorOptions) -> BlueskyConnector:
    return BlueskyConnector(options)
