"""The vocabulary of postlens: a social post and its parts. Read this file first.

Plain dataclasses (not pydantic) because importers build thousands of them per second;
validation happens once, at the boundary, in :func:`validate_post`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, get_args

if TYPE_CHECKING:
    import numpy as np


class Modality(StrEnum):
    """What a part of a post is made of."""

    TEXT = "text"
    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"
    GIF = "gif"


MEDIA_KINDS = (Modality.IMAGE, Modality.VIDEO, Modality.AUDIO, Modality.GIF)
"""The kinds a media part can be (``MediaPart.kind``, the ``media.kind`` column)."""
MEDIA_KINDS_OF: dict[Modality, tuple[Modality, ...]] = {
    Modality.IMAGE: (Modality.IMAGE, Modality.GIF),
    Modality.VIDEO: (Modality.VIDEO,),
    Modality.AUDIO: (Modality.AUDIO,),
}
"""Media modality -> the media part kinds its encoders read (a GIF is read as an image: its first frame)."""


@dataclass(slots=True)
class Author:
    id: str | None = None
    handle: str | None = None
    followers: int | None = None
    verified: bool | None = None


@dataclass(slots=True)
class MediaPart:
    """One image, video, audio clip or GIF attached to a post.

    ``source_path`` is where an importer found the file; the store copies it into its
    content-addressed folder and fills ``path`` (relative to the workspace), ``sha256``,
    ``mime``, ``bytes`` and the dimensions. A part with only ``url`` was never downloaded.

    ``root`` is the folder the importer allows media to come from (the media root, or the data
    file's folder): the store opens ``source_path`` (or a ``file://`` url) only when it resolves
    inside it, and refuses a local file when ``root`` is None. It is not data: ``to_dict`` omits it.
    """

    kind: Modality
    path: str | None = None
    url: str | None = None
    sha256: str | None = None
    mime: str | None = None
    bytes: int | None = None
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None
    source_path: str | None = None
    root: str | None = field(default=None, compare=False)


EngagementCount = Literal["likes", "shares", "comments", "views"]
ENGAGEMENT_COUNTS: tuple[str, ...] = get_args(EngagementCount)
"""The counts an ``Engagement`` snapshot holds (its fields; the engagement table's columns)."""


@dataclass(slots=True)
class Engagement:
    """Counts seen at one moment; a post collects many of these over time."""

    observed_at: datetime
    likes: int | None = None
    shares: int | None = None
    comments: int | None = None
    views: int | None = None
    observed_inferred: bool = False
    """True when the source carries no observation time and ``observed_at`` is the file's time.

    Such a snapshot is identified by its counts, not its time: re-importing a rewritten file
    (new mtime, same counts) adds no snapshot."""


@dataclass(slots=True)
class Post:
    """A social-media post in any modality.

    ``id`` is ``"<source>:<native_id>"``: stable across re-imports, so importing the same
    data twice updates instead of duplicating. ``origin_file``/``origin_line`` say where an importer
    read it, so that the quarantine can point at the line of a later problem (duplicate id, missing media).
    """

    source: str
    native_id: str
    platform: str
    created_at: datetime | None
    text: str = ""
    language: str | None = None
    author: Author = field(default_factory=Author)
    hashtags: list[str] = field(default_factory=list)
    mentions: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    media: list[MediaPart] = field(default_factory=list)
    engagement: list[Engagement] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    raw: Any = None
    run_id: str | None = None
    origin_file: str | None = None
    origin_line: int | None = None
    notes: list[Rejected] = field(default_factory=list)
    """Problems with single fields found while importing (each value dropped, the post kept): written to
    the quarantine with ``post_kept=True`` when the post is stored. Not part of ``to_dict``."""
    created_at_naive: bool = False
    """True when the source gave ``created_at`` without a time zone and it was taken as UTC
    (counted per import run in ``import_runs.notes``). Not part of ``to_dict``."""

    @property
    def id(self) -> str:
        return f"{self.source}:{self.native_id}"

    @property
    def modalities(self) -> list[Modality]:
        kinds = [Modality.TEXT] if self.text.strip() else []
        for part in self.media:
            if part.kind not in kinds:
                kinds.append(part.kind)
        return kinds

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; the format of ``postlens`` JSONL files (see sources/native.py)."""
        out = asdict(self)
        del out["notes"], out["created_at_naive"]  # import diagnostics, not data
        out["id"] = self.id
        out["created_at"] = self.created_at.isoformat() if self.created_at else None
        for snap in out["engagement"]:
            snap["observed_at"] = snap["observed_at"].isoformat()
        for part in out["media"]:
            part["kind"] = str(part["kind"])
            del part["root"]  # where this import allowed files from, not part of the post
        return out


@dataclass(slots=True)
class Rejected:
    """A record an importer could not turn into a post: it goes to the quarantine, never silently away.

    ``code`` is stable (e.g. ``bad_json``, ``bad_date``); ``reason`` is for people.
    """

    file: str
    line: int | None
    code: str
    reason: str
    post_id: str | None = None
    raw: str | None = None
    post_kept: bool = False
    """True for a problem with one field or one media part of a post that was still imported
    (the bad value or part was dropped); False when the whole record was not imported."""


RAW_LIMIT = 2000
"""Characters of a rejected record kept in ``Rejected.raw`` (and the quarantine's ``raw`` column)."""


class Importer(Protocol):
    """Turns files into posts (``sources/``); the store consumes it (``store/ingest.py``).

    ``iter_records(path)`` is a generator of ``Post`` or ``Rejected``: it never raises for one bad
    record, only for a path it cannot read at all (``SourceError``). ``name`` is what
    ``--format``/``--recipe`` takes.
    """

    name: str

    def iter_records(self, path: Path) -> Iterator[Post | Rejected]: ...


@dataclass(slots=True)
class Features:
    """What an encoder learnt about one item (``encoders/``); the feature cache stores it (``store/features.py``).

    vector    fixed-size float32 embedding, shape (dim,), or None for text-only encoders (OCR)
    sequence  per-step float32 features, shape (T, d): video frames, audio windows, for temporal models
    text      words the encoder read or heard (OCR, transcript); joins the post's text fields
    info      small JSON-able facts: labels, stats, timestamps, language
    error     "code: message" when this item failed; other fields are then empty
    """

    vector: np.ndarray | None = None
    sequence: np.ndarray | None = None
    text: str | None = None
    info: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @classmethod
    def failed(cls, code: str, message: str) -> Features:
        return cls(error=f"{code}: {message}")


_HASHTAG = re.compile(r"(?<![\w&])#(\w+)", re.UNICODE)
_MENTION = re.compile(r"(?<![\w@])@(\w{1,30})", re.UNICODE)
_URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)


def extract_entities(text: str) -> tuple[list[str], list[str], list[str]]:
    """Hashtags, mentions and URLs found in free text (used when a source has no entity lists)."""
    urls = [u.rstrip(".,;:!?)…") for u in _URL.findall(text)]
    stripped = _URL.sub(" ", text)
    return _HASHTAG.findall(stripped), _MENTION.findall(stripped), urls


def as_utc(moment: datetime) -> datetime:
    """Naive datetimes are taken as UTC; aware ones are converted."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


MAX_ID_CHARS = 1024
INVALID_POST_REASONS = {
    "missing_id": "the record has no id",
    "bad_id": "the id (or source, or platform) holds control characters or lone surrogates, is not text, "
              f"or is longer than {MAX_ID_CHARS} characters",
    "empty_post": "the post has neither text nor media",
    "naive_datetime": "created_at has no time zone (an importer bug: dates must be UTC-aware)",
    "bad_text": "the text is not a string",
}
"""Why ``validate_post`` refused a post, for people, by code."""
_UNSTORABLE_ID = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")


def validate_post(post: Post) -> str | None:
    """Return why a post cannot be stored (a ``Rejected.code``), or None when it is fine.

    ``bad_id``: the id (source, native id) or platform is not a string, holds control characters or
    lone surrogates, or is longer than ``MAX_ID_CHARS``; it is refused rather than repaired, since a
    repaired id could merge two different posts.
    """
    if not post.native_id or not str(post.native_id).strip():
        return "missing_id"
    for part in (post.native_id, post.source, post.platform):
        if type(part) is not str or len(part) > MAX_ID_CHARS or _UNSTORABLE_ID.search(part):
            return "bad_id"
    if not isinstance(post.text, str):
        return "bad_text"
    if not post.text.strip() and not any(m.path or m.source_path or m.url for m in post.media):
        return "empty_post"
    if post.created_at is not None and post.created_at.tzinfo is None:
        return "naive_datetime"
    return None
