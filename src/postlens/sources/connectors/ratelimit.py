"""What the rate-limit headers of the four APIs say: how long to wait before the next call.

Each platform names them its own way:

- X API v2: ``x-rate-limit-remaining`` and ``x-rate-limit-reset`` (Unix seconds);
- Mastodon: ``X-RateLimit-Remaining`` and ``X-RateLimit-Reset`` (an ISO 8601 time);
- Reddit: ``X-Ratelimit-Remaining`` (a float) and ``X-Ratelimit-Reset`` (seconds from now);
- Bluesky: ``RateLimit-Remaining`` and ``RateLimit-Reset`` (Unix seconds);
- all of them, with a 429 (and 503): ``Retry-After``, seconds or an HTTP date.

A reset value is read by its form: an ISO time or HTTP date is absolute, a number above 10^9 is
Unix seconds, a smaller number is seconds from now. Every parser is total: a header that cannot be
read is ignored (the retry policy's backoff applies), never an exception.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

_REMAINING = ("x-rate-limit-remaining", "x-ratelimit-remaining", "ratelimit-remaining")
_RESET = ("x-rate-limit-reset", "x-ratelimit-reset", "ratelimit-reset")
_EPOCH_FROM = 1e9


def retry_after(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds to wait from ``Retry-After`` (seconds or an HTTP date), or None when absent or unreadable."""
    value = _header(headers, ("retry-after",))
    if value is None:
        return None
    return _seconds_until(value, now, relative_only=True)


def exhausted_for(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds until the window resets when the response says no calls remain; None otherwise."""
    remaining = _header(headers, _REMAINING)
    if remaining is None:
        return None
    try:
        left = float(remaining)
    except ValueError:
        return None
    if not math.isfinite(left) or left >= 1:
        return None
    return reset_in(headers, now)


def reset_in(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds until the rate-limit window resets (>= 0), or None when no reset header is readable."""
    value = _header(headers, _RESET)
    return None if value is None else _seconds_until(value, now, relative_only=False)


def _header(headers: Mapping[str, str], names: tuple[str, ...]) -> str | None:
    lowered = {key.lower(): value for key, value in headers.items()}
    for name in names:
        value = lowered.get(name)
        if value is not None and value.strip():
            return value.strip()
    return None


def _seconds_until(value: str, now: float, *, relative_only: bool) -> float | None:
    try:
        number = float(value)
    except ValueError:
        number = None
    if number is not None:
        if not math.isfinite(number) or number < 0:
            return None
        if number >= _EPOCH_FROM and not relative_only:
            return max(0.0, number - now)
        return number
    moment = _date(value)
    return None if moment is None else max(0.0, moment.timestamp() - now)


def _date(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
