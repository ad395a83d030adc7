"""How the columns of a table map onto ``Post`` fields.

A ``ColumnMapping`` comes from a YAML file, from CLI ``key=value`` pairs, or both (the CLI wins),
and is then *resolved* against the columns one file really has: fields the user left unset are
auto-detected from common column names (``AUTO_DETECT`` below), and a field that names a column
the file lacks raises ``MappingError`` once, before any row is read, rather than silently
producing thousands of empty posts.

Column names may be dotted paths into nested objects (``user.id``) for JSONL and Parquet.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from postlens.errors import MappingError
from postlens.types import ENGAGEMENT_COUNTS

# Fields whose value is a column name (labels are a dict of them, handled apart).
COLUMN_FIELDS: tuple[str, ...] = (
    "id", "text", "created_at", "author_id", "author_handle", "author_followers",
    "author_verified", "language", "media", *ENGAGEMENT_COUNTS, "observed_at", "hashtags", "mentions", "urls",
)

# Auto-detection: for each field, candidate column names in order of preference. Matching ignores
# case and treats spaces/hyphens as underscores. Dotted names match nested JSON (Twitter v1.1 shape).
AUTO_DETECT: dict[str, tuple[str, ...]] = {
    "id": ("id", "post_id", "tweet_id", "id_str", "status_id", "message_id", "video_id", "uuid"),
    "text": ("text", "body", "content", "post_text", "full_text", "tweet_text", "tweet",
             "message", "caption", "selftext", "title"),
    "created_at": ("created_at", "timestamp", "date", "time", "datetime", "created",
                   "created_utc", "posted_at", "published_at", "publish_time", "date_time"),
    "author_id": ("author_id", "user_id", "user.id_str", "user.id", "account.id"),
    "author_handle": ("user.screen_name", "account.acct", "author", "author_handle", "username",
                      "user_name", "screen_name", "handle", "user", "channel_title"),
    "author_followers": ("author_followers", "followers", "followers_count", "user_followers",
                         "user.followers_count", "account.followers_count"),
    "author_verified": ("author_verified", "verified", "user_verified", "user.verified"),
    "language": ("language", "lang"),
    "media": ("media", "media_paths", "media_urls", "media_files", "images", "image",
              "image_path", "image_url", "image_file", "video", "video_path", "attachments"),
    "likes": ("likes", "like_count", "likes_count", "favorite_count", "favourites_count",
              "favorites", "num_likes", "score"),
    "shares": ("shares", "share_count", "retweets", "retweet_count", "reblogs_count",
               "num_retweets", "reposts"),
    "comments": ("comments", "comment_count", "comment_total", "num_comments", "replies",
                 "reply_count", "replies_count"),
    "views": ("views", "view_count", "views_count", "impressions", "num_views"),
    "observed_at": ("observed_at", "scraped_at", "collected_at", "crawled_at"),
    "hashtags": ("hashtags",),
    "mentions": ("mentions",),
    "urls": ("urls",),
}
# Columns auto-detected as labels: ``label`` -> labels["label"], ``event`` -> labels["event"]...
AUTO_LABELS: tuple[str, ...] = ("label", "class", "category", "event", "stance")

MediaKindName = Literal["image", "video", "audio", "gif"]


def normalize_name(name: str) -> str:
    """The comparison key for column names: case- and separator-insensitive."""
    return name.strip().lower().replace(" ", "_").replace("-", "_")


class ColumnMapping(BaseModel):
    """Which column feeds which Post field; unset fields are auto-detected per file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str | None = None
    text: str | None = None
    created_at: str | None = None
    created_at_format: str | None = None
    author_id: str | None = None
    author_handle: str | None = None
    author_followers: str | None = None
    author_verified: str | None = None
    language: str | None = None
    media: str | None = None
    media_separator: str = ","
    media_kind: MediaKindName | None = None
    likes: str | None = None
    shares: str | None = None
    comments: str | None = None
    views: str | None = None
    observed_at: str | None = None
    hashtags: str | None = None
    mentions: str | None = None
    urls: str | None = None
    labels: dict[str, str] = {}
    source: str | None = None
    platform: str = "generic"
    delimiter: str | None = None
    quoting: bool = True
    auto_detect: bool = True

    @field_validator("delimiter", "media_separator")
    @classmethod
    def _unescape(cls, value: str | None) -> str | None:
        """Shells make typing a tab hard: accept the two-character spellings ``\\t`` and ``tab``."""
        if value in ("\\t", "tab", "TAB"):
            return "\t"
        return value

    @field_validator("delimiter")
    @classmethod
    def _one_character(cls, value: str | None) -> str | None:
        if value is not None and len(value) != 1:
            raise ValueError(f"the delimiter must be one character, got {value!r}")
        return value

    # ------------------------------------------------------------ construction

    @classmethod
    def known_keys(cls) -> list[str]:
        return list(cls.model_fields)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, origin: str = "mapping") -> ColumnMapping:
        """Validate a plain dict; unknown keys and bad values become a ``MappingError``."""
        unknown = sorted(set(data) - set(cls.model_fields))
        if unknown:
            raise MappingError(
                f"{origin}: unknown mapping key(s) {', '.join(map(repr, unknown))}; "
                f"known keys: {', '.join(cls.known_keys())}"
            )
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in exc.errors()
            )
            raise MappingError(f"{origin}: invalid mapping: {problems}") from None

    @classmethod
    def from_yaml(cls, path: str | Path) -> ColumnMapping:
        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise MappingError(f"cannot read mapping file {path}: {exc.strerror or exc}") from exc
        except yaml.YAMLError as exc:
            raise MappingError(f"mapping file {path} is not valid YAML: {exc}") from exc
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise MappingError(f"mapping file {path} must hold a key: value mapping, not {type(data).__name__}")
        return cls.from_dict(data, origin=str(path))

    @classmethod
    def from_pairs(cls, pairs: Iterable[str]) -> ColumnMapping:
        """Parse CLI pairs like ``text=body`` or ``labels.event=event``."""
        data: dict[str, Any] = {}
        labels: dict[str, str] = {}
        for pair in pairs:
            key, sep, value = pair.partition("=")
            key = key.strip()
            if not sep or not key:
                raise MappingError(f"mapping pair {pair!r} is not key=value (e.g. text=body, labels.event=event)")
            if key.startswith("labels."):
                labels[key.removeprefix("labels.")] = value.strip()
            else:
                data[key] = _pair_value(value)
        if labels:
            data["labels"] = labels
        return cls.from_dict(data, origin="mapping pairs")

    def merge(self, override: ColumnMapping | None) -> ColumnMapping:
        """A copy where every field the override set explicitly wins; labels merge per key."""
        if override is None:
            return self
        data = self.model_dump(exclude_unset=True)
        for name in override.model_fields_set:
            data[name] = getattr(override, name)
        data["labels"] = {**self.labels, **override.labels}
        return ColumnMapping.from_dict(data)

    # ------------------------------------------------------------ per file

    def column_fields(self) -> dict[str, str]:
        """``field -> column`` for every field that names a column (labels as ``labels.<name>``)."""
        out = {name: getattr(self, name) for name in COLUMN_FIELDS if getattr(self, name)}
        out.update({f"labels.{name}": column for name, column in self.labels.items()})
        return out

    def resolve(self, columns: Sequence[str], file: Path | str) -> ColumnMapping:
        """Check named columns exist in ``file`` and auto-detect the unset ones.

        Explicit names match exactly, else case-insensitively. Raises ``MappingError`` naming
        every missing column, the file and the columns it has.
        """
        by_norm: dict[str, str] = {}
        for column in columns:
            by_norm.setdefault(normalize_name(column), column)
        existing = set(columns)

        def find(column: str) -> str | None:
            return column if column in existing else by_norm.get(normalize_name(column))

        data = self.model_dump(exclude_unset=True)
        missing: list[str] = []
        for field, column in self.column_fields().items():
            found = find(column)
            if found is None:
                missing.append(f"{field}={column!r}")
            elif field.startswith("labels."):
                data.setdefault("labels", dict(self.labels))[field.removeprefix("labels.")] = found
            else:
                data[field] = found
        if missing:
            shown = ", ".join(map(repr, list(columns)[:60])) + (" ..." if len(columns) > 60 else "")
            raise MappingError(
                f"{file}: the mapping names column(s) the file does not have: {', '.join(missing)}; "
                f"columns in the file: {shown}. Fix the mapping (e.g. --map text=<column>)."
            )
        if self.auto_detect:
            used = set(self.column_fields().values())
            for field, candidates in AUTO_DETECT.items():
                if getattr(self, field) is None:
                    hit = next((by_norm[c] for c in candidates if c in by_norm and by_norm[c] not in used), None)
                    if hit is not None:
                        data[field] = hit
                        used.add(hit)
            if not self.labels:
                labels = {by_norm[c]: by_norm[c] for c in AUTO_LABELS if c in by_norm and by_norm[c] not in used}
                if labels:
                    data["labels"] = labels
        return ColumnMapping.from_dict(data)


def _pair_value(value: str) -> Any:
    """CLI values are strings; booleans for the flag fields are spelt true/false."""
    lowered = value.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    return value if value.strip() == "" else value.strip()


# ---------------------------------------------------------------- column access


def make_getter(column: str) -> Callable[[dict[str, Any]], Any]:
    """A fast accessor for a column; dotted names walk nested dicts when no flat key exists."""
    if "." not in column:
        return lambda record: record.get(column)
    parts = column.split(".")

    def get_nested(record: dict[str, Any]) -> Any:
        if column in record:
            return record[column]
        value: Any = record
        for part in parts:
            if not isinstance(value, dict):
                return None
            value = value.get(part)
        return value

    return get_nested


def nested_paths(record: dict[str, Any], *, max_depth: int = 4, prefix: str = "") -> Iterable[str]:
    """Every key and dotted sub-key of a record (dicts only, not lists): the columns of a JSON object."""
    for key, value in record.items():
        name = f"{prefix}{key}"
        yield name
        if isinstance(value, dict) and max_depth > 1:
            yield from nested_paths(value, max_depth=max_depth - 1, prefix=f"{name}.")
