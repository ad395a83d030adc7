"""One streaming pass over a workspace's posts: the keys that link copies, gathered per post.

Posts are read in batches (``BATCH``) in their order (earliest first, then id), never all texts at
once: what is kept per post is its id, its source, its group keys (canonical own URL, exact text
digest) and, for the first post of each distinct text, a MinHash signature.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb
import numpy as np

from postlens.tasks.dedupe.minhash import NUM_PERM, MinHasher, comparable, normalise_text, shingles
from postlens.tasks.dedupe.urls import canonical_url

BATCH = 5_000
SIGNATURE_BATCH = 2_000

_OWN_URL = """CASE
    WHEN source = 'web' THEN native_id
    WHEN platform = 'reddit' THEN try(json_extract_string(raw, '$.permalink'))
    ELSE try(json_extract_string(raw, '$.url'))
END"""
"""The post's own address: a scraped post's id is its URL; a Reddit post's ``url`` is the link it
shares (its own page is ``permalink``); other records that carry one call it ``url``."""


@dataclass
class Scan:
    """What the pass found, by post number (0..n-1 in read order)."""

    ids: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    by_url: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    by_text: dict[bytes, list[int]] = field(default_factory=lambda: defaultdict(list))
    text_rows: list[int] = field(default_factory=list)
    signatures: np.ndarray = field(default_factory=lambda: np.empty((0, NUM_PERM), np.uint32))
    skipped: Counter[str] = field(default_factory=Counter)


def scan_posts(db: duckdb.DuckDBPyConnection, *, progress: Callable[[str], None] | None = None) -> Scan:
    """Read every post once; ``progress`` hears a line per batch."""
    say = progress or (lambda _message: None)
    hasher = MinHasher()
    scan = Scan()
    pending: list[np.ndarray] = []
    parts: list[np.ndarray] = []
    db.execute("SET enable_progress_bar = false")  # DuckDB's own bar would print from a library call
    cursor = db.execute(
        f"SELECT id, source, platform, text, urls, {_OWN_URL} FROM posts ORDER BY created_at NULLS LAST, id"
    )
    while rows := cursor.fetchmany(BATCH):
        for post_id, source, platform, text, urls, own in rows:
            number = len(scan.ids)
            scan.ids.append(post_id)
            scan.sources.append(source)
            own_key = canonical_url(_absolute(own, platform))
            if own_key:
                scan.by_url[own_key].append(number)
            normalised = normalise_text(text)
            if not normalised:
                links = sorted({c for c in (canonical_url(u) for u in urls or []) if c})
                if links:  # a post that is only links: its links are its content
                    scan.by_url["links:" + " ".join(links)].append(number)
                scan.skipped["text: empty once links are removed" if links else "text: empty"] += 1
                continue
            if not comparable(normalised):
                scan.skipped["text: too short to compare"] += 1
                continue
            digest = hashlib.blake2b(normalised.encode(), digest_size=16).digest()
            members = scan.by_text[digest]
            members.append(number)
            if len(members) == 1:
                scan.text_rows.append(number)
                pending.append(shingles(normalised))
                if len(pending) >= SIGNATURE_BATCH:
                    parts.append(hasher.signatures(pending))
                    pending = []
        say(f"read {len(scan.ids):,} posts")
    if pending:
        parts.append(hasher.signatures(pending))
    if parts:
        scan.signatures = np.concatenate(parts)
    return scan


def _absolute(url: object, platform: object) -> object:
    """A Reddit permalink is a path: make it an address."""
    if platform == "reddit" and isinstance(url, str) and url.startswith("/"):
        return "https://www.reddit.com" + url
    return url


def cross_source_ids(db: duckdb.DuckDBPyConnection) -> list[list[str]]:
    """Post ids that are one post under several sources: the same platform and native id."""
    rows = db.execute(
        "SELECT list(id ORDER BY created_at NULLS LAST, id) FROM posts GROUP BY platform, native_id "
        "HAVING count(DISTINCT source) > 1"
    ).fetchall()
    return [list(ids) for (ids,) in rows]
