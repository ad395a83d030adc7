"""X (Twitter) API v2 recent search (``/2/tweets/search/recent``), paged by ``next_token``.

The query is X's search syntax as is (``#tag lang:en -is:retweet``). ``X_BEARER_TOKEN`` (or
``TWITTER_BEARER_TOKEN``) is an app's bearer token; ``X_BASE_URL`` the API host. Recent search
covers the last 7 days only: ``start_time`` is the walk's floor, moved up to 7 days ago (minus a
minute) when it is older. Responses are mapped by the v2 file importer (``sources/twitter.py``),
so posts get ``source="twitter"`` and merge with imported tweets.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

from postlens.errors import AuthError, BadPage, ConfigError
from postlens.sources.connectors.base import ConnectorOptions, Page, connector, fix_observed
from postlens.sources.connectors.http import ApiClient, Redactor, RetryPolicy, label_of, policy_from
from postlens.sources.twitter import v2_response_to_posts

API_BASE_URL = "https://api.x.com"
TOKEN_ENVS = ("X_BEARER_TOKEN", "TWITTER_BEARER_TOKEN")
BASE_ENV = "X_BASE_URL"
SEARCH_PATH = "/2/tweets/search/recent"
MAX_PAGE = 100
RECENT_WINDOW = timedelta(days=7)
FIELDS = {
    "tweet.fields": "created_at,public_metrics,lang,entities,attachments,author_id,note_tweet",
    "expansions": "author_id,attachments.media_keys",
    "user.fields": "username,public_metrics,verified",
    "media.fields": "url,type,variants,width,height,duration_ms,preview_image_url",
}


class XConnector:
    name = "x"

    def __init__(self, options: ConnectorOptions) -> None:
        env = options.environ
        self._token = next((env[k].strip() for k in TOKEN_ENVS if env.get(k, "").strip()), "")
        self.endpoint = (options.base_url or env.get(BASE_ENV) or API_BASE_URL).rstrip("/")
        self.page_size = max(10, min(options.page_size or MAX_PAGE, MAX_PAGE))
        self.client = ApiClient(
            self.endpoint,
            headers={"Authorization": f"Bearer {self._token}"},
            policy=policy_from(options, RetryPolicy()),
            redactor=Redactor([self._token]),
            transport=options.transport,
            on_wait=options.on_wait,
            sleep=options.sleep,
        )

    def close(self) -> None:
        self.client.close()

    def check_query(self, query: str) -> None:
        if not query.strip():
            raise ConfigError("give an X search query, e.g. '#tag lang:en -is:retweet'")
        if len(query) > 4096:
            raise ConfigError(f"the X query is {len(query):,} characters; recent search takes at most 4,096")

    def page(self, query: str, after: Mapping[str, str] | None, *, observed: datetime, since: datetime | None) -> Page:
        if not self._token:
            raise AuthError(f"X needs a bearer token in the environment: set {TOKEN_ENVS[0]}")
        params = {"query": query.strip(), "max_results": str(self.page_size), **FIELDS, **(after or {})}
        if since is not None:
            earliest = datetime.now(UTC) - RECENT_WINDOW + timedelta(minutes=1)
            params["start_time"] = max(since, earliest).strftime("%Y-%m-%dT%H:%M:%SZ")
        body, _ = self.client.get_json(SEARCH_PATH, params)
        label = label_of(self.client.shown(SEARCH_PATH, params))
        if (
            not isinstance(body, dict)
            or not isinstance(body.get("meta", {}), dict)
            or not isinstance(body.get("data", []), list)
        ):
            raise BadPage(f"{label}: expected an object with a 'data' list and 'meta', got {type(body).__name__}")
        tweets = body.get("data", [])
        records = v2_response_to_posts(body, Path(label), observed) if tweets else []
        fix_observed(records)
        token = body.get("meta", {}).get("next_token")
        next_page = {"next_token": token} if isinstance(token, str) and token and tweets else None
        return Page(records, next_page, len(tweets), label)


@connector("x")
def _make(options: ConnectorOptions) -> XConnector:
    return XConnector(options)
