"""Reddit: OAuth listings and search (``oauth.reddit.com``), paged by ``after``.

Queries: ``r/sub`` (``/r/sub/new``), ``r/sub:words`` (search inside the subreddit, newest first),
``u/name`` (``/user/name/submitted``), anything else a site-wide search (``/search?sort=new``).
Credentials: ``REDDIT_CLIENT_ID`` and ``REDDIT_CLIENT_SECRET`` (an app's; application-only
``client_credentials`` grant), or with ``REDDIT_USERNAME``/``REDDIT_PASSWORD`` the ``password``
grant of a script app. Reddit asks for a descriptive ``User-Agent``: ``REDDIT_USER_AGENT``.
The token comes from ``REDDIT_AUTH_URL`` (default https://www.reddit.com) and is renewed once
after a 401. Listing items are mapped by the file importer's code (``sources/reddit.py``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from postlens.errors import AuthError, BadPage, ConfigError
from postlens.sources.connectors.base import ConnectorOptions, Page, connector, fix_observed
from postlens.sources.connectors.http import ApiClient, Redactor, RetryPolicy, label_of, policy_from
from postlens.sources.reddit import RedditImporter
from postlens.types import Post, Rejected

API_BASE_URL = "https://oauth.reddit.com"
AUTH_BASE_URL = "https://www.reddit.com"
ID_ENV, SECRET_ENV, USER_ENV, PASSWORD_ENV = (
    "REDDIT_CLIENT_ID",
    "REDDIT_CLIENT_SECRET",
    "REDDIT_USERNAME",
    "REDDIT_PASSWORD",
)
AGENT_ENV, BASE_ENV, AUTH_ENV = "REDDIT_USER_AGENT", "REDDIT_BASE_URL", "REDDIT_AUTH_URL"
MAX_PAGE = 100
_NAME = r"[A-Za-z0-9_-]{2,32}"
QUERY_FORMS = "'r/sub', 'r/sub:words', 'u/name' or search words"


class RedditConnector:
    name = "reddit"

    def __init__(self, options: ConnectorOptions) -> None:
        env = options.environ
        self._id, self._secret = env.get(ID_ENV, "").strip(), env.get(SECRET_ENV, "").strip()
        self._user, self._password = env.get(USER_ENV, "").strip(), env.get(PASSWORD_ENV, "").strip()
        self.endpoint = (options.base_url or env.get(BASE_ENV) or API_BASE_URL).rstrip("/")
        self._auth_url = (env.get(AUTH_ENV) or options.base_url or AUTH_BASE_URL).rstrip("/")
        self.page_size = min(options.page_size or MAX_PAGE, MAX_PAGE)
        agent = env.get(AGENT_ENV, "").strip()
        self.client = ApiClient(
            self.endpoint,
            headers={"User-Agent": agent} if agent else None,
            policy=policy_from(options, RetryPolicy()),
            redactor=Redactor([self._secret, self._password]),
            transport=options.transport,
            on_wait=options.on_wait,
            refresh=self._renew,
            sleep=options.sleep,
        )
        self._mapper = RedditImporter()
        self._token: str | None = None

    def close(self) -> None:
        self.client.close()

    def check_query(self, query: str) -> None:
        self._path(query)

    def page(self, query: str, after: Mapping[str, str] | None, *, observed: datetime, since: datetime | None) -> Page:
        path, params = self._path(query)
        if self._token is None:
            self._renew()
        params = {**params, "limit": str(self.page_size), "raw_json": "1", **(after or {})}
        body, _ = self.client.get_json(path, params)
        label = label_of(self.client.shown(path, params))
        data = body.get("data") if isinstance(body, dict) else None
        children = data.get("children") if isinstance(data, dict) else None
        if not isinstance(children, list):
            raise BadPage(
                f"{label}: expected a Listing (data.children), got "
                f"{type(body).__name__ if not isinstance(body, dict) else sorted(body)[:8]}"
            )
        records: list[Post | Rejected] = [
            self._mapper.record_to_post(child, Path(label), index, f"item {index}", observed)
            for index, child in enumerate(children, start=1)
        ]
        fix_observed(records)
        token = data.get("after")  # type: ignore[union-attr]
        next_page = {"after": token} if isinstance(token, str) and token and children else None
        return Page(records, next_page, len(children), label)

    def _path(self, query: str) -> tuple[str, dict[str, str]]:
        text = query.strip()
        if match := re.fullmatch(rf"/?r/({_NAME})", text):
            return f"/r/{match.group(1)}/new", {}
        if match := re.fullmatch(rf"/?r/({_NAME}):(.+)", text):
            return f"/r/{match.group(1)}/search", {"q": match.group(2).strip(), "restrict_sr": "1", "sort": "new"}
        if match := re.fullmatch(rf"/?u(?:ser)?/({_NAME})", text):
            return f"/user/{quote(match.group(1))}/submitted", {"sort": "new"}
        if text and not text.startswith(("r/", "/r/", "u/", "/u/")):
            return "/search", {"q": text, "sort": "new"}
        raise ConfigError(f"cannot collect {query!r} from Reddit; give {QUERY_FORMS}")

    def _renew(self) -> bool:
        """Get an access token (at the start, and once more after a 401)."""
        if not (self._id and self._secret):
            raise AuthError(
                f"Reddit needs {ID_ENV} and {SECRET_ENV} in the environment (an app's id and secret; "
                f"add {USER_ENV} and {PASSWORD_ENV} for a script app)"
            )
        form = (
            {"grant_type": "password", "username": self._user, "password": self._password}
            if self._user and self._password
            else {"grant_type": "client_credentials"}
        )
        body, _ = self.client.request_json(
            "POST", f"{self._auth_url}/api/v1/access_token", data=form, auth=(self._id, self._secret), refresh=False
        )
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            error = body.get("error") if isinstance(body, dict) else None
            raise AuthError(
                f"Reddit gave no access token ({error or 'no error named'}); check {ID_ENV}, "
                f"{SECRET_ENV} (and {USER_ENV}/{PASSWORD_ENV})"
            )
        self._token = token
        self.client.redactor.add(token)
        self.client.headers["Authorization"] = f"bearer {token}"
        return True


@connector("reddit")
def _make(options: ConnectorOptions) -> RedditConnector:
    return RedditConnector(options)
