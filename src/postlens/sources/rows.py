"""Rows -> posts: one record dict (a CSV row, a JSON object, a Parquet row) becomes a ``Post`` or a ``Rejected``.

``RowConverter`` is built per file by ``TableImporter.converter`` for a mapping resolved against that
file's columns; a bad value in one field is dropped and noted on the post (``Post.notes``, see
``postlens.values``), a record that cannot be a post is rejected with a stable code.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import date, datetime, time, timezone
from pathlib import Path
from typing import Any

import orjson

from postlens.sources.base import parse_datetime_noting
from postlens.sources.kit import record_error, stamp_notes
from postlens.sources.mapping import COLUMN_FIELDS, ColumnMapping, make_getter
from postlens.sources.media_refs import MediaResolver
from postlens.sources.media_refs import item_name as _item_name
from postlens.types import (
    ENGAGEMENT_COUNTS, INVALID_POST_REASONS, RAW_LIMIT, Author, Engagement, Post, Rejected, extract_entities,
    validate_post,
)
from postlens.values import FieldNotes, json_text, repair_post, show

# Values that mean "no value" in non-text columns (CSV exports write them for missing cells).
_NULLS = frozenset({"", "null", "none", "nan", "nat", "n/a", "na", "-"})
_LIST_SPLIT = re.compile(r"[\s,]+")


def is_null(value: Any) -> bool:
    if value is None:
        return True
    return value.__class__ is str and (not value or value.strip().lower() in _NULLS)


def _absent(record: dict[str, Any]) -> None:
    return None


def scalar_text(value: Any) -> str | None:
    """A cell as a stripped string; None for nulls, NaN, nested objects (a dict is no handle) and
    bytes that are not UTF-8."""
    if is_null(value) or isinstance(value, (dict, list, tuple)) or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            return None
    return str(value).strip()


def to_datetime(value: Any, fmt: str | None) -> tuple[datetime, bool]:
    """``parse_datetime_noting`` plus the plain dates Parquet/pyarrow hand back (midnight, taken as UTC)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime.combine(value, time(), tzinfo=timezone.utc), True
    return parse_datetime_noting(value, fmt)


def raw_text(record: Any) -> str:
    """A record as JSON text for the quarantine, cut to ``RAW_LIMIT`` characters (any value)."""
    return json_text(record)[:RAW_LIMIT]


def _record_bytes(record: dict[str, Any]) -> bytes:
    """A record's canonical bytes for its content-hash id (the same bytes as earlier versions wrote)."""
    try:
        return orjson.dumps(record, default=str, option=orjson.OPT_SORT_KEYS)
    except (TypeError, orjson.JSONEncodeError):  # lone surrogates, nesting orjson refuses
        return json_text(record).encode("utf-8")


def _entity_list(value: Any) -> list[str]:
    if is_null(value):
        return []
    if isinstance(value, (list, tuple)):
        items = [_item_name(v) if not isinstance(v, dict) else
                 next((str(v[k]) for k in ("text", "tag", "name", "screen_name", "username",
                                           "expanded_url", "url") if v.get(k)), None)
                 for v in value]
    else:
        items = _LIST_SPLIT.split(str(value))
    return [i.strip().lstrip("#@") for i in items if i and i.strip().lstrip("#@")]


class RowConverter:
    """Builds a Post (or a Rejected) from one record dict, for a mapping resolved against one file."""

    def __init__(self, mapping: ColumnMapping, file: Path, *, source: str, media_root: Path,
                 media: MediaResolver, observed_default: datetime) -> None:
        self.mapping = mapping
        self.file = str(file)
        self.source = source
        self.media_root = media_root
        self.media = media
        self.observed_default = observed_default
        self.mapped = {f: c for f, c in mapping.column_fields().items() if not f.startswith("labels.")}
        # every field has a getter (unmapped ones return None): no branching per row
        self.get: dict[str, Callable[[dict[str, Any]], Any]] = {field: _absent for field in COLUMN_FIELDS}
        self.get.update({field: make_getter(column) for field, column in self.mapped.items()})
        self.label_getters = [(name, make_getter(col)) for name, col in mapping.labels.items()]
        self.counts = [(f, self.get[f]) for f in ENGAGEMENT_COUNTS if f in self.mapped]

    def value(self, record: dict[str, Any], field: str) -> Any:
        return self.get[field](record)

    def convert(self, record: dict[str, Any], line: int | None) -> Post | Rejected:
        try:
            return self._convert(record, line)
        except Exception as exc:  # noqa: BLE001 - the last net: one record, never the file
            return record_error(exc, Path(self.file), line, f"line {line}", record)

    def _convert(self, record: dict[str, Any], line: int | None) -> Post | Rejected:
        get = self.get
        if "id" in self.mapped:
            given = get["id"](record)
            native_id = scalar_text(given)
            if not native_id:
                why = f"no value in id column {self.mapping.id!r}"
                if not is_null(given):
                    why = f"the id column {self.mapping.id!r} holds {show(given)}, not an id"
                return self._reject(line, "missing_id", why, record)
        else:  # no id column at all: a content hash keeps re-imports of the same rows idempotent
            native_id = "h" + hashlib.blake2b(_record_bytes(record), digest_size=8).hexdigest()
        post_id = f"{self.source}:{native_id}"
        try:
            created_at, naive = self._date(record, "created_at")
            observed_at = self._date(record, "observed_at")[0] if "observed_at" in self.mapped else None
        except ValueError as exc:
            return self._reject(line, "bad_date", str(exc), record, post_id)
        notes = FieldNotes()
        text = notes.text(self._named("text"), get["text"](record)) if "text" in self.mapped else ""
        hashtags, mentions, urls = extract_entities(text)
        if "hashtags" in self.mapped:
            hashtags = _entity_list(get["hashtags"](record))
        if "mentions" in self.mapped:
            mentions = _entity_list(get["mentions"](record))
        if "urls" in self.mapped:
            urls = _entity_list(get["urls"](record))
        engagement = []
        if self.counts:
            counts = {field: notes.count(self._named(field), self._scalar(getter(record)))
                      for field, getter in self.counts}
            if any(v is not None for v in counts.values()):
                engagement.append(Engagement(observed_at=observed_at or self.observed_default,
                                             observed_inferred=observed_at is None, **counts))
        labels = {}
        for name, getter in self.label_getters:
            label = self._short_text(notes, f"labels[{name}] (column {self.mapping.labels[name]!r})", getter(record))
            if label:
                labels[name] = label
        media_value = get["media"](record)
        post = Post(
            source=self.source, native_id=native_id, platform=self.mapping.platform,
            created_at=created_at, text=text,
            language=self._short_text(notes, self._named("language"), get["language"](record)),
            author=Author(
                id=self._short_text(notes, self._named("author_id"), get["author_id"](record)),
                handle=self._short_text(notes, self._named("author_handle"), get["author_handle"](record)),
                followers=notes.count(self._named("author_followers"), self._scalar(get["author_followers"](record))),
                verified=notes.flag(self._named("author_verified"), self._scalar(get["author_verified"](record))),
            ),
            hashtags=hashtags, mentions=mentions, urls=urls,
            media=self.media.parts(media_value, self.media_root) if media_value else [],
            engagement=engagement, labels=labels, raw=record,
            origin_file=self.file, origin_line=line, notes=notes.notes, created_at_naive=naive,
        )
        repair_post(post)
        code = validate_post(post)
        if code:
            reason = INVALID_POST_REASONS.get(code, code)
            return self._reject(line, code, reason, record, post_id if code != "bad_id" else None)
        stamp_notes(post, self.file, line)
        return post

    def _named(self, field: str) -> str:
        """A field as named in a note: with the column it was read from."""
        return f"{field} (column {self.mapped[field]!r})" if field in self.mapped else field

    @staticmethod
    def _scalar(value: Any) -> Any:
        """A cell for the count and flag parsers: CSV null spellings are no value."""
        return None if is_null(value) else value

    @staticmethod
    def _short_text(notes: FieldNotes, field: str, value: Any) -> str | None:
        """A handle, id, language or label cell; a nested value is noted, not turned into text."""
        if is_null(value):
            return None
        return notes.optional_text(field, value)

    def _date(self, record: dict[str, Any], field: str) -> tuple[datetime | None, bool]:
        value = self.value(record, field)
        if is_null(value):
            return None, False
        try:
            return to_datetime(value, self.mapping.created_at_format if field == "created_at" else None)
        except ValueError as exc:
            column = getattr(self.mapping, field)
            hint = " (set created_at_format, e.g. %d.%m.%Y %H:%M)" if field == "created_at" else ""
            raise ValueError(f"cannot parse {field} in column {column!r}: {exc}{hint}") from None

    def _reject(self, line: int | None, code: str, reason: str, record: Any,
                post_id: str | None = None) -> Rejected:
        return Rejected(self.file, line, code, reason, post_id=post_id, raw=raw_text(record))
