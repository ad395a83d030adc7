"""The read-only answers of the API (segments, trends, one post) as typed, JSON-ready models.

Each opens the workspace read-only for the call only (never held between requests, so ``postlens
ingest`` can run beside the server); a writer holding the database longer than ``lock_wait`` seconds
is a WorkspaceError, answered 503 with ``Retry-After``.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from postlens.errors import ConfigError
from postlens.store.workspace import Workspace

TREND_STATES = ("emerging", "peaking", "declining", "steady")


class Topic(BaseModel):
    topic_id: int
    label: str | None = None
    name: str | None = None
    words: list[str] = Field(default_factory=list)
    size: int = 0
    status: str
    examples: list[str] = Field(default_factory=list, description="texts of its most typical posts")


class Segments(BaseModel):
    segmentation: str
    kind: str | None = None
    segmentations: list[str] = Field(description="every segmentation in the workspace")
    topics: list[Topic]
    outliers: int = Field(description="posts of this segmentation that fit no topic")


class TrendTerm(BaseModel):
    term: str
    state: str = Field(description="emerging, peaking, declining or steady")
    count: int = Field(description="posts in the term's newest bin")
    expected: float | None = None
    growth: float | None = None
    bin_start: datetime | None = None
    last_alert: datetime | None = None


class TrendSource(BaseModel):
    source: str
    bin_seconds: int
    terms: list[TrendTerm]


class Trends(BaseModel):
    sources: list[TrendSource]
    note: str = "the state saved by the last 'postlens trends' run; run it again to fold in new posts"


class MediaItem(BaseModel):
    position: int
    kind: str
    status: str
    mime: str | None = None
    bytes: int | None = None
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None
    sha256: str | None = None


class PostView(BaseModel):
    id: str
    source: str
    platform: str
    native_id: str
    created_at: datetime | None = None
    text: str
    language: str | None = None
    author_handle: str | None = None
    hashtags: list[str] = Field(default_factory=list)
    mentions: list[str] = Field(default_factory=list)
    urls: list[str] = Field(default_factory=list)
    labels: dict[str, str] = Field(default_factory=dict)
    media: list[MediaItem] = Field(default_factory=list)
    engagement: dict[str, int | None] | None = None
    topics: dict[str, int | None] = Field(default_factory=dict, description="segmentation -> topic id (None: outlier)")


def read_segments(root: Path, name: str, examples: int) -> Segments:
    from postlens.pipeline.segments import show_segments

    view = show_segments(root, name=name, examples=examples)
    kinds = {row[0]: row[1] for row in view.segmentations}
    topics = [
        Topic(
            topic_id=int(t["topic_id"]),
            label=t.get("label"),
            name=t.get("name"),
            words=list(t.get("words") or []),
            size=int(t.get("size") or 0),
            status=str(t.get("status")),
            examples=view.examples.get(int(t["topic_id"]), []),
        )
        for t in view.topics
    ]
    return Segments(
        segmentation=view.segmentation,
        kind=kinds.get(view.segmentation),
        segmentations=sorted(kinds),
        topics=topics,
        outliers=view.outliers,
    )


def read_trends(root: Path, source: str | None, state: str | None, top: int, lock_wait: float | None) -> Trends:
    from postlens.agent.state import read_snapshot

    if state is not None and state not in TREND_STATES:
        raise ConfigError(f"unknown trend state {state!r}; known: {', '.join(TREND_STATES)}")
    with Workspace(root, read_only=True, lock_wait=lock_wait) as ws:
        streams = read_snapshot(ws, None).trends
    if source is not None and source not in streams:
        raise ConfigError(
            f"no saved trends for source {source!r}; saved: {', '.join(sorted(streams)) or 'none (run postlens trends)'}"
        )
    out = []
    for name, stream in sorted(streams.items()):
        if source is not None and name != source:
            continue
        terms = [
            TrendTerm(
                term=t,
                state=s.state,
                count=s.count,
                expected=s.expected,
                growth=s.growth,
                bin_start=s.bin_start,
                last_alert=s.last_alert,
            )
            for t, s in stream.terms.items()
            if state is None or s.state == state
        ]
        terms.sort(key=lambda t: (t.state == "steady", -(t.growth or 0.0), -t.count, t.term))
        out.append(TrendSource(source=name, bin_seconds=stream.bin_seconds, terms=terms[:top]))
    return Trends(sources=out)


def read_post(root: Path, post_id: str, lock_wait: float | None) -> PostView | None:
    """The stored post (its media rows, newest engagement, topics), or None when there is no such id."""
    with Workspace(root, read_only=True, lock_wait=lock_wait) as ws:
        db = ws.db
        cursor = db.execute(
            "SELECT id, source, platform, native_id, created_at, text, language, author_handle, "
            "hashtags, mentions, urls, labels FROM posts WHERE id = ?",
            [post_id],
        )
        columns = [d[0] for d in cursor.description]
        row = cursor.fetchone()
        if row is None:
            return None
        record: dict[str, Any] = dict(zip(columns, row))
        media = db.execute(
            "SELECT position, kind, status, mime, bytes, width, height, duration_s, sha256 FROM media "
            "WHERE post_id = ? ORDER BY position",
            [post_id],
        ).fetchall()
        engagement = db.execute(
            "SELECT likes, shares, comments, views FROM engagement WHERE post_id = ? ORDER BY observed_at DESC LIMIT 1",
            [post_id],
        ).fetchone()
        topics = (
            db.execute("SELECT segmentation, topic_id FROM post_topics WHERE post_id = ?", [post_id]).fetchall()
            if _has_table(ws, "post_topics")
            else []
        )
    fields = ("position", "kind", "status", "mime", "bytes", "width", "height", "duration_s", "sha256")
    record.update(
        hashtags=list(record["hashtags"] or []),
        mentions=list(record["mentions"] or []),
        urls=list(record["urls"] or []),
        labels=dict(record["labels"] or {}),
        media=[MediaItem(**dict(zip(fields, m))) for m in media],
        engagement=dict(zip(("likes", "shares", "comments", "views"), engagement)) if engagement else None,
        topics={str(s): (int(t) if t is not None else None) for s, t in topics},
    )
    return PostView(**record)


def _has_table(ws: Workspace, table: str) -> bool:
    found = ws.db.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table]).fetchone()
    return bool(found and found[0])
