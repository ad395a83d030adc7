"""Read postlens's own JSONL format back: one ``Post.to_dict()`` per line.

This is the lossless interchange format (the sample-corpus generator writes it as
``posts.jsonl``), so parsing is exact: ``Post -> to_dict -> JSON line -> Post`` gives an equal
post. A relative ``source_path`` of a media part resolves against the JSONL file's folder, so a
corpus folder can be moved as a whole. Bad lines become ``Rejected`` records as in any JSONL.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any

import orjson

from postlens.sources.base import (
    CorruptStream, bad_compression, bad_encoding, empty_file_rejection, parse_datetime_noting, register, text_lines,
)
from postlens.sources.kit import record_error, stamp_notes
from postlens.types import (
    ENGAGEMENT_COUNTS, INVALID_POST_REASONS, RAW_LIMIT, Author, Engagement, MediaPart, Modality, Post, Rejected, validate_post,
)
from postlens.values import FieldNotes, repair_post

_MEDIA_KEYS = frozenset(f.name for f in fields(MediaPart)) - {"root"}  # the root is the importer's, never the file's
_AUTHOR_KEYS = frozenset(f.name for f in fields(Author))
_ENGAGEMENT_KEYS = frozenset(f.name for f in fields(Engagement))


class BadRecord(ValueError):
    """One line that is JSON but not a valid post; ``code`` becomes the Rejected code."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code


@register("postlens")
class NativeImporter:
    """Importer for ``postlens`` JSONL (also ``.jsonl.zst``)."""

    name = "postlens"

    def __init__(self, media_root: Path | str | None = None) -> None:
        self.media_root = Path(media_root) if media_root is not None else None

    def iter_records(self, path: Path) -> Iterator[Post | Rejected]:
        path = Path(path)
        if path.is_dir():  # a corpus folder as demo-data writes it
            path = path / "posts.jsonl"
        empty = empty_file_rejection(path)
        if empty is not None:
            yield empty
            return
        root = self.media_root or path.resolve().parent
        seen = False
        try:
            for number, text, raw in text_lines(path):
                if text is None:
                    seen = True
                    yield bad_encoding(path, number, raw)
                    continue
                if not text.strip():
                    continue
                seen = True
                try:
                    yield self._parse_line(path, number, text, root)
                except Exception as exc:  # noqa: BLE001 - the last net: one record, never the file
                    yield record_error(exc, path, number, f"line {number}", text)
        except CorruptStream as exc:
            seen = True
            yield bad_compression(path, exc)
        if not seen:
            yield Rejected(str(path), None, "empty_file", "the file has no JSON lines: nothing to import")

    @staticmethod
    def _parse_line(path: Path, number: int, text: str, root: Path) -> Post | Rejected:
        try:
            record = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            return Rejected(str(path), number, "bad_json", f"malformed JSON: {exc}", raw=text[:RAW_LIMIT])
        if not isinstance(record, dict):
            return Rejected(str(path), number, "bad_json",
                            f"expected a JSON object per line, got {type(record).__name__}", raw=text[:RAW_LIMIT])
        post_id = record.get("id") if isinstance(record.get("id"), str) else None
        try:
            post = post_from_dict(record, root)
        except BadRecord as exc:
            return Rejected(str(path), number, exc.code, str(exc), post_id=post_id, raw=text[:RAW_LIMIT])
        repair_post(post)
        code = validate_post(post)
        if code:
            reason = INVALID_POST_REASONS.get(code, code)
            return Rejected(str(path), number, code, reason, post_id=post.id if code != "bad_id" else None,
                            raw=text[:RAW_LIMIT])
        post.origin_file, post.origin_line = str(path), number
        stamp_notes(post, str(path), number)
        return post


def post_from_dict(record: dict[str, Any], media_root: Path | None = None) -> Post:
    """The inverse of ``Post.to_dict``; raises ``BadRecord`` naming the faulty key.

    A bad value in a single field (a count of -5, a label that is an object) is dropped into
    ``Post.notes`` instead; ``repair_post`` then checks the rest.
    """
    for key in ("source", "native_id", "platform"):
        value = record.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise BadRecord("missing_id" if key == "native_id" else "bad_record", f"missing {key!r}")
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            raise BadRecord("bad_record", f"{key!r} must be a string, got {type(value).__name__}")
    source, native_id = str(record["source"]), str(record["native_id"])
    given_id = record.get("id")
    if given_id is not None and given_id != f"{source}:{native_id}":
        raise BadRecord("bad_record", f"id {str(given_id)[:200]!r} disagrees with source:native_id "
                                      f"{source[:100]}:{native_id[:100]}")
    notes = FieldNotes()
    created = record.get("created_at")
    created_at, naive = (None, False) if created is None else _date(created, "created_at")
    author = _known(_object(record.get("author"), "author"), _AUTHOR_KEYS)
    author["followers"] = notes.count("author.followers", author.get("followers"))
    author["verified"] = notes.flag("author.verified", author.get("verified"))
    return Post(
        source=source,
        native_id=native_id,
        platform=str(record["platform"]),
        created_at=created_at,
        text=_string(record.get("text"), "text") or "",
        language=_string(record.get("language"), "language"),
        author=Author(**author),
        hashtags=_list(record.get("hashtags"), "hashtags"),
        mentions=_list(record.get("mentions"), "mentions"),
        urls=_list(record.get("urls"), "urls"),
        media=[_media(part, media_root) for part in _list(record.get("media"), "media")],
        engagement=[_engagement(snap, f"engagement[{i}]", notes)
                    for i, snap in enumerate(_list(record.get("engagement"), "engagement"))],
        labels=_labels(_object(record.get("labels"), "labels"), notes),
        raw=record.get("raw"),
        run_id=_string(record.get("run_id"), "run_id"),
        notes=notes.notes,
        created_at_naive=naive,
    )


def _labels(labels: dict[str, Any], notes: FieldNotes) -> dict[str, str]:
    out = {}
    for key, value in labels.items():
        if value is None or isinstance(value, (dict, list)):
            if value is not None:
                notes.add("bad_value", f"labels[{key}]", f"expected text, got {type(value).__name__}; dropped", value)
            continue
        out[key] = value if isinstance(value, str) else str(value)
    return out


def _media(part: Any, media_root: Path | None) -> MediaPart:
    data = _known(_object(part, "media part"), _MEDIA_KEYS)
    try:
        data["kind"] = Modality(data.get("kind"))
    except ValueError:
        known = ", ".join(m.value for m in Modality)
        raise BadRecord("bad_record", f"media kind {data.get('kind')!r} is not one of {known}") from None
    source_path = data.get("source_path")
    if source_path is not None and not isinstance(source_path, str):
        raise BadRecord("bad_record", f"a media part's source_path must be a string, got {type(source_path).__name__}")
    if data.get("url") is not None and not isinstance(data["url"], str):
        raise BadRecord("bad_record", f"a media part's url must be a string, got {type(data['url']).__name__}")
    if media_root is not None:
        # relative names resolve against the root; the store opens only what lies inside it
        root = os.path.abspath(media_root)
        if source_path and not os.path.isabs(source_path):
            data["source_path"] = os.path.join(root, source_path)
        data["root"] = root
    return MediaPart(**data)


def _engagement(snap: Any, field: str, notes: FieldNotes) -> Engagement:
    data = _known(_object(snap, "engagement snapshot"), _ENGAGEMENT_KEYS)
    if data.get("observed_at") is None:
        raise BadRecord("bad_date", "an engagement snapshot has no observed_at")
    data["observed_at"] = _date(data["observed_at"], "engagement.observed_at")[0]
    for name in ENGAGEMENT_COUNTS:
        data[name] = notes.count(f"{field}.{name}", data.get(name))
    data["observed_inferred"] = bool(notes.flag(f"{field}.observed_inferred", data.get("observed_inferred")))
    return Engagement(**data)


def _date(value: Any, key: str) -> tuple[Any, bool]:
    try:
        return parse_datetime_noting(value)
    except ValueError as exc:
        raise BadRecord("bad_date", f"cannot parse {key}: {exc}") from None


def _known(data: dict[str, Any], keys: frozenset[str]) -> dict[str, Any]:
    """Drop keys a newer postlens may have added, so old readers still load new files."""
    return {k: v for k, v in data.items() if k in keys}


def _object(value: Any, key: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadRecord("bad_record", f"{key!r} must be an object, got {type(value).__name__}")
    return value


def _list(value: Any, key: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadRecord("bad_record", f"{key!r} must be a list, got {type(value).__name__}")
    return value


def _string(value: Any, key: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return str(value)
    raise BadRecord("bad_record", f"{key!r} must be a string, got {type(value).__name__}")
