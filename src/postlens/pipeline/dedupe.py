"""``postlens dedupe``: link posts that are copies of one another into clusters; delete nothing.

Links, strongest first: the same post under two sources (platform + native id), the same canonical
own address (or, for a post that is only links, the same links), the same or a near-duplicate text
(MinHash LSH, estimated Jaccard of character 5-grams >= ``text_threshold``) and a near-duplicate
image (perceptual hash within ``image_max_distance`` bits, the grouping splits already use). Links
chain (single linkage). Each run recomputes every cluster and replaces the ``duplicate_clusters``
table in one transaction, so a re-run writes the same rows. The duplicate-aware split
(``split.strategy: duplicates``) reads that table.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from postlens.errors import ConfigError, WorkspaceError
from postlens.evaluation.image_groups import DEFAULT_MAX_DISTANCE, NO_IMAGE, image_clusters
from postlens.store.duplicates import ClusterRow, last_dedupe_report, replace_clusters
from postlens.store.workspace import Workspace, resolve_workspace_path
from postlens.tasks.dedupe.images import image_similarity, post_images
from postlens.tasks.dedupe.links import REASONS, Links
from postlens.tasks.dedupe.scan import Scan, cross_source_ids, scan_posts

DEFAULT_TEXT_THRESHOLD = 0.7
TOP_CLUSTERS = 10
MAX_TEXT_SHOWN = 160


@dataclass
class DedupeReport:
    """What a run found (JSON-ready: it is also stored in ``meta`` as the last run's report)."""

    run_id: str
    finished_at: str
    posts: int
    clusters: int
    posts_in_clusters: int
    by_reason: dict[str, dict[str, int]]
    shared_images: dict[str, Any]
    cross_source: dict[str, Any]
    largest: list[dict[str, Any]]
    skipped: dict[str, int]
    examples: list[list[str]]
    settings: dict[str, float]
    text_pairs_compared: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


def run_dedupe(
    workspace: str | Path | None = None,
    *,
    text_threshold: float = DEFAULT_TEXT_THRESHOLD,
    image_max_distance: int = DEFAULT_MAX_DISTANCE,
    progress: Callable[[str], None] | None = None,
) -> DedupeReport:
    """Find duplicate clusters over every post of the workspace and store them; returns the report."""
    if not 0 < text_threshold <= 1:
        raise ConfigError(f"text_threshold must be in (0, 1], got {text_threshold}")
    if not 0 <= image_max_distance <= 32:
        raise ConfigError(f"image_max_distance must be 0..32 bits of 64, got {image_max_distance}")
    say = progress or (lambda _message: None)
    started = time.perf_counter()
    with Workspace(resolve_workspace_path(workspace), create=False) as ws:
        scan = scan_posts(ws.db, progress=say)
        number_of = {post_id: number for number, post_id in enumerate(scan.ids)}
        links = Links(len(scan.ids))
        links.link_groups(
            (sorted(number_of[i] for i in ids if i in number_of) for ids in cross_source_ids(ws.db)), "id"
        )
        links.link_groups(scan.by_url.values(), "url")
        links.link_groups(scan.by_text.values(), "text")
        say(f"comparing {len(scan.text_rows):,} distinct texts (MinHash LSH)")
        compared = links.link_similar_texts(np.asarray(scan.text_rows, dtype=int), scan.signatures, text_threshold)
        images = post_images(ws, scan.ids, progress=say)
        groups = image_clusters(images.images_per_post, images.hash_of, image_max_distance)
        by_group: dict[str, list[int]] = {}
        for number, group in enumerate(groups):
            if group != NO_IMAGE:
                by_group.setdefault(str(group), []).append(number)
        for members in by_group.values():
            for other in members[1:]:
                shown = image_similarity(
                    images.images_per_post[members[0]], images.images_per_post[other], images.hash_of
                )
                links.link(members[0], other, "image", shown)
        rows = _rows(scan, links)
        report = _report(ws, scan, links, images.images_per_post, rows, compared)
        report.skipped.update(dict(images.skipped))
        report.examples = [list(e) for e in images.examples]
        report.settings = {"text_threshold": text_threshold, "image_max_distance": image_max_distance}
        report.shared_images.update(
            {"stored_images": len(images.hash_of), "hashed_now": images.hashed_now, "remote_images": images.remote}
        )
        report.seconds = round(time.perf_counter() - started, 2)
        replace_clusters(ws.db, rows, run_id=report.run_id, report=asdict(report))
    return report


def last_report(workspace: str | Path | None = None) -> DedupeReport:
    """The report of the last ``postlens dedupe`` run, without running it again."""
    with Workspace(resolve_workspace_path(workspace), read_only=True) as ws:
        stored = last_dedupe_report(ws.db)
    if stored is None:
        raise WorkspaceError("postlens dedupe has not run on this workspace yet; run 'postlens dedupe' first")
    known = DedupeReport.__dataclass_fields__
    return DedupeReport(**{k: v for k, v in stored.items() if k in known})


def _rows(scan: Scan, links: Links) -> list[ClusterRow]:
    """A row per clustered post: its cluster (the id of its first post) and its link towards that post."""
    paths = links.paths()
    out: list[ClusterRow] = []
    for root, members in links.clusters().items():
        cluster = scan.ids[root]
        for post in members:
            if post == root:
                out.append(ClusterRow(scan.ids[post], cluster, None, None, None))
            else:
                towards, edge = paths[post]
                out.append(
                    ClusterRow(scan.ids[post], cluster, edge.reason, scan.ids[towards], round(edge.similarity, 4))
                )
    return out


def _report(
    ws: Workspace, scan: Scan, links: Links, images_per_post: list[list[str]], rows: list[ClusterRow], compared: int
) -> DedupeReport:
    clusters = links.clusters()
    by_reason = {}
    for reason in REASONS:
        groups = links.reason_groups(reason)
        by_reason[reason] = {
            "groups": len(groups),
            "posts": sum(groups.values()),
            "links": sum(1 for e in links.edges if e.reason == reason),
        }
    image_groups = links.reason_groups("image")
    with_images = sum(1 for shas in images_per_post if shas)
    cross_pairs = Counter(
        " | ".join(sorted((scan.sources[e.first], scan.sources[e.second])))
        for e in links.edges
        if scan.sources[e.first] != scan.sources[e.second]
    )
    spanning = sum(1 for members in clusters.values() if len({scan.sources[m] for m in members}) > 1)
    reason_of = {r.post_id: r.reason for r in rows}
    top = sorted(clusters.items(), key=lambda item: (-len(item[1]), item[0]))[:TOP_CLUSTERS]
    texts = dict(
        ws.db.execute(
            "SELECT id, text FROM posts WHERE id IN (SELECT unnest(?))", [[scan.ids[root] for root, _ in top]]
        ).fetchall()
    )
    largest = [
        {
            "cluster_id": scan.ids[root],
            "size": len(members),
            "reasons": dict(Counter(reason_of[scan.ids[m]] for m in members if m != root)),
            "sources": dict(Counter(scan.sources[m] for m in members)),
            "text": (texts.get(scan.ids[root]) or "")[:MAX_TEXT_SHOWN],
        }
        for root, members in top
    ]
    return DedupeReport(
        run_id=uuid.uuid4().hex[:12],
        finished_at=datetime.now(UTC).isoformat(timespec="seconds"),
        posts=len(scan.ids),
        clusters=len(clusters),
        posts_in_clusters=sum(len(m) for m in clusters.values()),
        by_reason=by_reason,
        shared_images={
            "posts_with_images": with_images,
            "groups": len(image_groups),
            "posts_in_groups": sum(image_groups.values()),
            "largest_group": max(image_groups.values(), default=0),
        },
        cross_source={"clusters": spanning, "links": sum(cross_pairs.values()), "pairs": dict(cross_pairs)},
        largest=largest,
        skipped=dict(scan.skipped),
        examples=[],
        settings={},
        text_pairs_compared=compared,
    )
