"""The exception tree. Every error says what went wrong, where, and how to fix it.

    PostlensError
    ├── ConfigError          bad settings, unknown names (lists the known ones)
    ├── WorkspaceError       the workspace folder or its database cannot be used
    ├── QueryError           SQL that is invalid, or not allowed on the read-only connection (postlens sql)
    ├── SourceError          an input file or folder cannot be read at all
    │   ├── MappingError     a column mapping names columns the file does not have
    │   └── ApiError         a platform API answered with an error postlens cannot get past (collect)
    │       ├── AuthError        credentials missing, refused or expired (never retried)
    │       ├── RateLimited      the API asks to wait longer than the allowed maximum
    │       ├── RetriesExhausted a server or network error outlived every retry
    │       └── BadPage          a page is not the JSON the API documents (after retries)
    ├── MediaError           a media file cannot be decoded safely (per item; the batch goes on)
    │   └── UnsupportedMedia a format postlens does not read (SVG, HEIC, unknown codec)
    ├── EncoderError         a model could not run on an item
    ├── MissingDependency    an optional extra is not installed (names the extra)
    ├── InputError           a post handed to the agent cannot be read (bad JSON shape, no content)
    └── BusyError            the agent's model work is at its concurrency bound for longer than allowed

Every class has a stable ``code`` (``config``, ``workspace``, ``bad_input``, ``busy``...; a MediaError
carries its own, e.g. ``media_outside_root``, ``media_mismatch``, ``too_large``), so a caller (the HTTP
API, the MCP server) maps errors to answers without parsing messages.

Per-record problems during import are not exceptions: they become ``Rejected`` records in the
quarantine so that the rest of the batch goes on.
"""

from __future__ import annotations


class PostlensError(Exception):
    """Base of every error postlens raises on purpose."""

    code: str = "postlens_error"


class ConfigError(PostlensError):
    code = "config"


class WorkspaceError(PostlensError):
    code = "workspace"


class QueryError(PostlensError):
    """The message is one line: what DuckDB said, or why the statement is refused."""

    code = "query"


class SourceError(PostlensError):
    code = "source"


class MappingError(SourceError):
    code = "mapping"


class ApiError(SourceError):
    """A platform API call failed for good; the message names the call (credentials redacted) and what to do."""


class AuthError(ApiError):
    pass


class RateLimited(ApiError):
    pass


class RetriesExhausted(ApiError):
    pass


class BadPage(ApiError):
    pass


class MediaError(PostlensError):
    """``code`` is a stable short name (``corrupt``, ``too_large``, ``empty``...) stored with per-item errors."""

    def __init__(self, message: str, *, code: str = "media_error") -> None:
        super().__init__(message)
        self.code = code


class UnsupportedMedia(MediaError):
    def __init__(self, message: str) -> None:
        super().__init__(message, code="unsupported")


class EncoderError(PostlensError):
    code = "encoder"


class MissingDependency(PostlensError):
    code = "missing_dependency"

    def __init__(self, module: str, extra: str, *, install: str | None = None) -> None:
        """``install``: the command when the extra cannot bring the package (e.g. wheels installed ``--no-deps``)."""
        how = install or f"install the '{extra}' extra: pip install 'postlens[{extra}]'"
        super().__init__(f"{module} is not installed; {how}")
        self.module = module
        self.extra = extra


class InputError(PostlensError):
    """A post given to the agent cannot be read; ``code`` is ``bad_input`` or a more precise stable name
    (``empty_post``, ``bad_json``, ``bad_record``...)."""

    def __init__(self, message: str, *, code: str = "bad_input") -> None:
        super().__init__(message)
        self.code = code


class BusyError(PostlensError):
    """Model work waited longer than the caller allows for a free slot (``Agent(queue_timeout=...)``)."""

    code = "busy"


def unknown_name(kind: str, name: str, known: list[str] | tuple[str, ...]) -> ConfigError:
    """An error for a misspelt recipe / encoder / format that lists what would have worked."""
    return ConfigError(f"unknown {kind} {name!r}; known: {', '.join(sorted(known))}")
