"""One way to call a platform API: bounded retries with jittered backoff, rate limits, redacted errors.

Built on httpx (keyword-only options, an injectable ``transport`` so unit tests need no network).
What happens per answer:

    2xx with JSON        returned
    2xx, not JSON        retried (a proxy's error page), then ``BadPage``
    429                  waits ``Retry-After`` (or the window's reset, or the backoff), then again
    401 (or ``is_auth``) the ``refresh`` hook renews the token once; then ``AuthError``, never a retry storm
    408, 5xx, network    retried with exponential backoff and full jitter, then ``RetriesExhausted``
    other 4xx            ``ApiError`` at once (a wrong query does not improve with retries)
    over ``max_body``    ``BadPage`` at once, the body not read past the limit (Content-Length or streamed)

Before each call, a response that said "0 calls left" makes the client wait for the window's
reset. No single wait may exceed ``max_wait``: a longer one raises ``RateLimited`` (the caller's
cursor is saved, so the next run resumes). Credentials never appear in a message: every secret
given to the client, and every query parameter named like one, is replaced by ``***``.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson

from postlens.errors import ApiError, AuthError, BadPage, MissingDependency, RateLimited, RetriesExhausted
from postlens.sources.connectors.ratelimit import exhausted_for, reset_in, retry_after

try:
    import httpx
except ImportError:  # pragma: no cover - the 'collect' extra
    httpx = None  # type: ignore[assignment]

USER_AGENT = "postlens/0.1 (social-media research collector; +https://pypi.org/project/postlens/)"
_SECRET_PARAM = re.compile(r"token|secret|password|passwd|key|sig|auth|session|code|credential", re.IGNORECASE)
_BODY_CHARS = 300


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try. ``max_wait`` bounds any single sleep (rate limit or backoff), in seconds."""

    max_attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 60.0
    max_wait: float = 900.0
    timeout: float = 30.0
    max_body: int = 64 * 1024 * 1024
    """Bytes of one API answer; a larger one is refused while streaming (``BadPage``), never read whole."""


@dataclass
class HttpStats:
    requests: int = 0
    retries: int = 0
    rate_limit_waits: int = 0
    waited_seconds: float = 0.0


class Redactor:
    """Removes credentials from text shown to people (errors, progress lines, quarantine rows)."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._secrets: list[str] = []
        self.add(*secrets)

    def add(self, *secrets: str | None) -> None:
        for secret in secrets:
            if secret and len(secret) >= 4 and secret not in self._secrets:
                self._secrets.append(secret)
        self._secrets.sort(key=len, reverse=True)  # a longer secret containing a shorter one goes first

    def text(self, value: str) -> str:
        for secret in self._secrets:
            value = value.replace(secret, "***")
        return value

    def url(self, value: str) -> str:
        """The URL with user info dropped and secret-looking query values replaced."""
        try:
            parts = urlsplit(value)
            netloc = parts.netloc.rsplit("@", 1)[-1]
            query = urlencode(
                [
                    (k, "***" if _SECRET_PARAM.search(k) else v)
                    for k, v in parse_qsl(parts.query, keep_blank_values=True)
                ],
                safe="*:/,",
            )
            value = urlunsplit((parts.scheme, netloc, parts.path, query, ""))
        except ValueError:
            pass
        return self.text(value)


def require_httpx() -> Any:
    if httpx is None:
        raise MissingDependency("httpx", "collect")
    return httpx


class ApiClient:
    """JSON over HTTP for one API base URL, with the policy of the module docstring."""

    def __init__(
        self,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        policy: RetryPolicy = RetryPolicy(),
        redactor: Redactor | None = None,
        transport: Any = None,
        sleep: Callable[[float], None] | None = None,
        rng: random.Random | None = None,
        is_auth_failure: Callable[[int, Any], bool] | None = None,
        refresh: Callable[[], bool] | None = None,
        on_wait: Callable[[float, str], None] | None = None,
    ) -> None:
        """``refresh`` renews credentials after an auth failure (True when it did); ``is_auth_failure``
        (status, parsed body or None) adds platform-specific auth errors to 401; ``on_wait`` is told of
        every rate-limit wait (seconds, why)."""
        lib = require_httpx()
        self.base_url = base_url.rstrip("/")
        self.policy = policy
        self.redactor = redactor or Redactor()
        self.stats = HttpStats()
        self.headers: dict[str, str] = {"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})}
        self._client = lib.Client(transport=transport, timeout=policy.timeout, follow_redirects=False)
        self._sleep = sleep or time.sleep
        self._rng = rng or random.Random()
        self._is_auth = is_auth_failure
        self._refresh = refresh
        self._on_wait = on_wait
        self._blocked_until = 0.0

    def close(self) -> None:
        self._client.close()

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else f"{self.base_url}/{path.lstrip('/')}"

    def shown(self, path: str, params: Mapping[str, Any] | None = None) -> str:
        """The call as people see it: full URL with parameters, credentials redacted."""
        url = self.url(path)
        if params:
            url += ("&" if "?" in url else "?") + urlencode({k: v for k, v in params.items() if v is not None})
        return self.redactor.url(url)

    def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> tuple[Any, Any]:
        """(parsed JSON body, response headers) of a GET."""
        return self.request_json("GET", path, params=params)

    def request_json(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, str] | None = None,
        json: Any = None,
        auth: Any = None,
        headers: Mapping[str, str] | None = None,
        refresh: bool = True,
    ) -> tuple[Any, Any]:
        """(parsed JSON body, response headers); ``refresh=False`` for the calls that get credentials."""
        url = self.url(path)
        query = {k: v for k, v in (params or {}).items() if v is not None}
        shown = self.shown(path, query)
        attempt = 0
        refreshed = False
        while True:
            self._wait_for_window(shown)
            self.stats.requests += 1
            failure: str
            bad_page = False
            try:
                response = self._send(
                    method,
                    url,
                    shown,
                    params=query,
                    data=data,
                    json=json,
                    auth=auth,
                    headers={**self.headers, **(headers or {})},
                )
            except httpx.HTTPError as exc:  # network, timeout, broken encoding
                failure = f"{type(exc).__name__}: {self.redactor.text(str(exc))[:_BODY_CHARS]}"
            else:
                self._note_window(response.headers)
                status = response.status
                body = _json_or_none(response.content)
                if 200 <= status < 300:
                    if body is not _NOT_JSON:
                        return body, response.headers
                    failure, bad_page = (
                        f"answered {status} with a body that is not JSON: {self._snippet(response)}",
                        True,
                    )
                elif status == 401 or (self._is_auth is not None and self._is_auth(status, _plain(body))):
                    if refresh and self._refresh is not None and not refreshed and self._refresh():
                        refreshed = True
                        continue
                    raise AuthError(
                        f"{method} {shown} was refused ({status}): {self._snippet(response)}. The "
                        "credentials are missing, expired or revoked; set fresh ones in the environment"
                    )
                elif status == 429:
                    attempt += 1
                    if attempt >= self.policy.max_attempts:
                        raise RateLimited(
                            f"{method} {shown} was still rate-limited (429) after {attempt} tries; "
                            "run again later (the cursor is saved)"
                        )
                    now = time.time()
                    wait = retry_after(response.headers, now)
                    if wait is None:
                        wait = reset_in(response.headers, now)
                    self._rate_wait(self._backoff(attempt) if wait is None else wait, shown, "429 Too Many Requests")
                    continue
                elif status == 408 or status >= 500:
                    failure = f"answered {status}: {self._snippet(response)}"
                else:
                    raise ApiError(f"{method} {shown} answered {status}: {self._snippet(response)}")
            attempt += 1
            if attempt >= self.policy.max_attempts:
                error = BadPage if bad_page else RetriesExhausted
                raise error(
                    f"{method} {shown} failed {attempt} times; last: {failure}. Run again later "
                    "(the cursor is saved, nothing committed is lost)"
                )
            self.stats.retries += 1
            self._sleep_bounded(self._backoff(attempt), shown)

    # ------------------------------------------------------------ waiting

    def _backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(max_delay, base * 2^attempt)] (AWS's recommendation)."""
        cap = min(self.policy.max_delay, self.policy.base_delay * (2 ** min(attempt, 30)))
        return self._rng.uniform(0, cap)

    def _note_window(self, headers: Any) -> None:
        wait = exhausted_for(headers, time.time())
        if wait:
            self._blocked_until = max(self._blocked_until, time.monotonic() + wait)

    def _wait_for_window(self, shown: str) -> None:
        wait = self._blocked_until - time.monotonic()
        if wait > 0:
            self._rate_wait(wait, shown, "no calls left in this rate-limit window")

    def _rate_wait(self, seconds: float, shown: str, why: str) -> None:
        if seconds > self.policy.max_wait:
            raise RateLimited(
                f"{shown}: {why}; the API asks to wait {seconds:,.0f} s, more than the allowed "
                f"{self.policy.max_wait:,.0f} s (--max-wait). Run again later (the cursor is saved)"
            )
        self.stats.rate_limit_waits += 1
        self.stats.waited_seconds += seconds
        if self._on_wait is not None:
            self._on_wait(seconds, why)
        self._sleep(seconds)
        self._blocked_until = 0.0

    def _sleep_bounded(self, seconds: float, shown: str) -> None:
        self._sleep(min(seconds, self.policy.max_wait))

    def _snippet(self, response: _Answer) -> str:
        text = response.content[: _BODY_CHARS * 4].decode("utf-8", "replace").strip().replace("\n", " ")
        return self.redactor.text(text[:_BODY_CHARS]) or "(empty body)"

    def _send(self, method: str, url: str, shown: str, **options: Any) -> _Answer:
        """One request, its body read up to ``policy.max_body`` (a longer one is refused, not read on)."""
        limit = self.policy.max_body
        with self._client.stream(method, url, **options) as response:
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise BadPage(
                    f"{method} {shown} announced {int(declared):,} bytes, more than the "
                    f"{limit:,} an API answer may have; not read"
                )
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limit:
                    raise BadPage(
                        f"{method} {shown} sent more than the {limit:,} bytes an API answer may "
                        "have; reading was stopped there"
                    )
                chunks.append(chunk)
            return _Answer(response.status_code, response.headers, b"".join(chunks))


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    headers: Any
    content: bytes


_NOT_JSON = object()


def _json_or_none(content: bytes) -> Any:
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return _NOT_JSON


def _plain(body: Any) -> Any:
    return None if body is _NOT_JSON else body


@dataclass
class Credentials:
    """Secrets read from the environment for one connector; ``missing`` names the variables not set."""

    values: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)


def read_env(environ: Mapping[str, str], names: Iterable[str]) -> Credentials:
    found = Credentials()
    for name in names:
        value = environ.get(name, "").strip()
        if value:
            found.values[name] = value
        else:
            found.missing.append(name)
    return found


def label_of(shown: str) -> str:
    """A redacted call without its scheme: fit for ``origin_file`` (a path would fold ``//``)."""
    return re.sub(r"^[A-Za-z][A-Za-z0-9+.-]*://", "", shown)


def policy_from(options: Any, default: RetryPolicy) -> RetryPolicy:
    """``default`` with the limits a caller set (``max_wait``, ``max_attempts``) applied."""
    changes = {
        name: getattr(options, name)
        for name in ("max_wait", "max_attempts")
        if getattr(options, name, None) is not None
    }
    return replace(default, **changes)
