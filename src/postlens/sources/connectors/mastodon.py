"""Mastodon: hashtag, public and account timelines (REST API v1), paged by ``max_id``.

Queries: ``#tag`` (``/api/v1/timelines/tag/:tag``), ``public`` or ``local``
(``/api/v1/timelines/public``), ``@user`` or ``@user@host`` (looked up, then
``/api/v1/accounts/:id/statuses``). The next page comes from the ``Link: <...>; rel="next"``
header (its ``max_id``), else the oldest id on the page. ``MASTODON_ACCESS_TOKEN`` (optional for
public timelines) is sent as a bearer token; ``MASTODON_BASE_URL`` names the instance.
Statuses are mapped by the file importer's code (``sources/mastodon.py``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from postlens.errors import BadPage, ConfigError
from postlens.sources.connectors.base import ConnectorOptions, Page, connector, fix_observed
from postlens.sources.connectors.http import ApiClient, Redactor, RetryPolicy, label_of, policy_from
from postlens.sources.mastodon import MastodonImporter
from postlens.types import Post, Rejected

DEFAULT_BASE_URL = "https://mastodon.social"
TOKEN_ENV = "MASTODON_ACCESS_TOKEN"
BASE_ENV = "MASTODON_BASE_URL"
MAX_PAGE = 40  # the API's maximum for timelines
_ACCOUNT = re.compile(r"^@?([A-Za-z0-9_]+)(@[A-Za-z0-9.-]+)?$")
_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')
QUERY_FORMS = "'#tag', 'public', 'local', '@user' or '@user@host'"


class MastodonConnector:
    name = "mastodon"

    def __init__(self, options: ConnectorOptions) -> None:
        env = options.environ
        self.endpoint = (options.base_url or env.get(BASE_ENV) or DEFAULT_BASE_URL).rstrip("/")
        token = env.get(TOKEN_ENV, "").strip()
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.page_size = min(options.page_size or MAX_PAGE, MAX_PAGE)
        self.client = ApiClient(
            self.endpoint,
            headers=headers,
            policy=policy_from(options, RetryPolicy()),
            redactor=Redactor([token]),
            transport=options.transport,
            on_wait=options.on_wait,
            sleep=options.sleep,
        )
        self._mapper = MastodonImporter(instance=urlsplit(self.endpoint).netloc or None)
        self._accounts: dict[str, str] = {}

    def close(self) -> None:
        self.client.close()

    def check_query(self, query: str) -> None:
        self._path(query, resolve=False)

    def page(self, query: str, after: Mapping[str, str] | None, *, observed: datetime, since: datetime | None) -> Page:
        path, params = self._path(query, resolve=True)
        params = {**params, "limit": str(self.page_size), **(after or {})}
        body, headers = self.client.get_json(path, params)
        label = label_of(self.client.shown(path, params))
        if not isinstance(body, list):
            raise BadPage(
                f"{label}: expected a JSON list of statuses, got {type(body).__name__}; "
                "is the base URL a Mastodon instance?"
            )
        records: list[Post | Rejected] = [
            self._mapper.status_to_post(status, Path(label), index, f"status {index}", observed)
            for index, status in enumerate(body, start=1)
        ]
        fix_observed(records)
        return Page(records, _next_page(headers, body), len(body), label)

    def _path(self, query: str, *, resolve: bool) -> tuple[str, dict[str, str]]:
        text = query.strip()
        if text.startswith("#") and len(text) > 1:
            return f"/api/v1/timelines/tag/{quote(text[1:], safe='')}", {}
        if text.lower() in ("public", "local"):
            return "/api/v1/timelines/public", {"local": "true"} if text.lower() == "local" else {}
        match = _ACCOUNT.match(text) if text.startswith("@") else None
        if match:
            return (f"/api/v1/accounts/{self._account_id(text.lstrip('@'))}/statuses" if resolve else ""), {}
        raise ConfigError(f"cannot collect {query!r} from Mastodon; give {QUERY_FORMS}")

    def _account_id(self, acct: str) -> str:
        if acct not in self._accounts:
            body, _ = self.client.get_json("/api/v1/accounts/lookup", {"acct": acct})
            account_id = body.get("id") if isinstance(body, dict) else None
            if not isinstance(account_id, (str, int)) or isinstance(account_id, bool):
                raise BadPage(f"looking up @{acct} on {self.endpoint} gave no account id")
            self._accounts[acct] = str(account_id)
        return self._accounts[acct]


def _next_page(headers: Mapping[str, str], body: list[Any]) -> dict[str, str] | None:
    if not body:
        return None
    match = _LINK.search(headers.get("link", "") or "")
    if match:
        wanted = {k: v for k, v in parse_qsl(urlsplit(match.group(1)).query) if k == "max_id"}
        if wanted:
            return wanted
    last = body[-1].get("id") if isinstance(body[-1], dict) else None
    return {"max_id": str(last)} if isinstance(last, (str, int)) and not isinstance(last, bool) else None


@connector("mastodon")
def _make(options: ConnectorOptions) -> MastodonConnector:
    return MastodonConnector(options)
