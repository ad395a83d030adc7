"""A post's content hash: what decides whether a re-import changed a stored post.

One function for every writer (ingest, label import, the label merge of a re-import), so the same
post always gets the same hash whichever path wrote it last.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC
from typing import Any

from postlens.values import json_text


def content_hash(row: Mapping[str, Any], media_rows: Sequence[Mapping[str, Any]]) -> str:
    """blake2b of the post's stored fields (a ``posts`` row as a dict) and its media parts."""
    created = row["created_at"]
    identity = (
        row["platform"],
        row["text"],
        created.astimezone(UTC).isoformat() if created else None,
        row["language"],
        row["author_id"],
        row["author_handle"],
        row["author_followers"],
        row["author_verified"],
        list(row["hashtags"] or []),
        list(row["mentions"] or []),
        list(row["urls"] or []),
        sorted((str(k), str(v)) for k, v in (row["labels"] or {}).items()),
        [(m["kind"], m["status"], m["sha256"], m["url"]) for m in media_rows],
    )
    return hashlib.blake2b(json_text(identity).encode("utf-8"), digest_size=16).hexdigest()
