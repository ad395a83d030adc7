"""Canonical URLs: two spellings of one address compare equal.

``HTTP://WWW.Example.com:443/a/?utm_source=x&b=2#top`` and ``https://example.com/a?b=2`` are one
page: scheme and host case, ``www.`` / ``m.`` / ``mobile.`` host prefixes, default ports, user
info, fragments, a trailing slash, tracking parameters (``utm_*``, ``fbclid``...) and the order of
the remaining parameters do not make a different page. http and https are taken as one address (a
page served on both is the same post). x.com is twitter.com. Anything that is not an http(s) URL
with a host gives None: it names no page to compare.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MAX_URL_CHARS = 4096
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_")
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "ref_src",
        "ref_url",
        "_ga",
        "_gl",
        "spm",
        "si",
        "cmpid",
        "ocid",
    }
)
HOST_TRACKING = {"twitter.com": frozenset({"s", "t", "ref"}), "reddit.com": frozenset({"share_id", "ref"})}
HOST_ALIASES = {"x.com": "twitter.com", "old.reddit.com": "reddit.com", "new.reddit.com": "reddit.com"}
_HOST_PREFIXES = ("www.", "m.", "mobile.")
_DEFAULT_PORTS = {":80", ":443"}


def canonical_url(url: object) -> str | None:
    """The address ``url`` names, spelled one way; None for anything that is not an http(s) URL with a host."""
    if not isinstance(url, str):
        return None
    text = url.strip()
    if not text or len(text) > MAX_URL_CHARS:
        return None
    try:
        parts = urlsplit(text)
        host = (parts.hostname or "").rstrip(".")
        port = parts.port
    except ValueError:  # http://[ , a port that is not a number
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    for prefix in _HOST_PREFIXES:
        if host.startswith(prefix) and host.count(".") >= 2:
            host = host[len(prefix) :]
            break
    host = HOST_ALIASES.get(host, host)
    netloc = host if port is None or f":{port}" in _DEFAULT_PORTS else f"{host}:{port}"
    path = parts.path.rstrip("/")
    dropped = HOST_TRACKING.get(host, frozenset())
    query = sorted(
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if not key.lower().startswith(TRACKING_PREFIXES) and key.lower() not in TRACKING_PARAMS | dropped
    )
    return urlunsplit(("https", netloc, path, urlencode(query), ""))
