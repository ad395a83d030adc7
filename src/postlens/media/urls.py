"""Media references that look like URLs: which are local files (``file://``), and what a URL's path is.

Parsing is total (``urlsplit`` raises on ``http://[``): any string gives an answer, never an error.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

_URL_LIKE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
_LOCAL_HOSTS = ("", "localhost")


def is_url(text: str) -> bool:
    """``scheme://...`` (http, https, s3, file, ...)."""
    return bool(_URL_LIKE.match(text))


def is_file_url(text: object) -> bool:
    return isinstance(text, str) and text[:7].lower() == "file://"


def file_url_path(url: str) -> str | None:
    """The local path of ``file:///p`` or ``file://localhost/p`` (percent-decoded); None for another host."""
    rest = url[7:]
    host, slash, path = rest.partition("/")
    if host.lower() not in _LOCAL_HOSTS:
        return None
    return unquote(slash + path, errors="surrogateescape")


def url_path(url: str) -> str:
    """The path part of a URL (for its extension); the whole string when it cannot be parsed."""
    try:
        return urlsplit(url).path
    except ValueError:
        return url
