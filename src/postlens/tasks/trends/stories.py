"""One story, one alert: term alerts whose posts overlap are grouped into stories.

A story's hashtag, its names and its topic burst together, each in its own stream; a busy story
also throws off sub-stories for days (a place, a politician, a photo's author). Alerting each of
them floods the list, so alerts are grouped, in time order, one bin at a time:

- alerts of the same bin are one group when their posts overlap (``story_overlap`` of the smaller
  post set) or talk alike: the cosine of their term profiles (the share of each alert's posts that
  carry each hashtag, name or topic) reaches ``story_similarity`` (outlets tweeting one crash write
  "France", "French Alps" and "#4U9525" in different posts that share most other terms);
- a group whose posts mostly (``story_overlap``) carry a term of a story alerted in the last
  ``story_gap_seconds`` joins that story: a sub-story, not a new alert;
- any other group is a new story, and its first bin is the story's alert.

Stories are a pure function of the saved term alerts (themselves equal to a full recompute) and of
the posts in the alerting bins, so they are the same whether the posts came in one run or many.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import duckdb
import pyarrow as pa

from postlens.evaluation.image_groups import UnionFind
from postlens.tasks.trends.config import TrendSettings
from postlens.tasks.trends.sources import TermSource


@dataclass(frozen=True, slots=True)
class StoryMember:
    """One term alert of a story (``source:term`` in one bin)."""

    source: str
    term: str
    bin_start: datetime
    fired_at: datetime
    count: int
    provisional: bool


@dataclass
class Story:
    """A group of term alerts; ``fired_at`` (its first bin's) is the only alert a user needs."""

    key: str  # "<first bin, UTC ISO>|<source>:<lead term>": stable from run to run
    lead: str  # "source:term" of the first bin's alert with the most posts
    bin_start: datetime
    fired_at: datetime
    provisional: bool
    members: list[StoryMember] = field(default_factory=list)
    first_posts: list[str] = field(default_factory=list)
    """Post ids of the story's first bin (the posts its alert was about)."""
    terms: set[str] = field(default_factory=set)
    last_bin: datetime | None = None


AlertKey = tuple[str, str, datetime]  # source, term, bin_start


def group_stories(
    db: duckdb.DuckDBPyConnection,
    streams: Sequence[tuple[TermSource, str]],
    settings: TrendSettings,
) -> list[Story]:
    """Every story of the alerts saved for ``streams`` ((source, stream key) pairs), oldest first."""
    alerts, posts_of = _alert_posts(db, streams, settings)
    if not alerts:
        return []
    terms_of = _post_terms(db, streams, {p for posts in posts_of.values() for p in posts})
    by_bin: dict[datetime, list[StoryMember]] = defaultdict(list)
    for member in alerts:
        by_bin[member.bin_start].append(member)
    stories: list[Story] = []
    gap = timedelta(seconds=settings.story_gap_seconds)
    for bin_start in sorted(by_bin):
        for group in _same_bin_groups(by_bin[bin_start], posts_of, terms_of, settings):
            posts = sorted({p for m in group for p in posts_of[_key(m)]})
            open_stories = [s for s in stories if s.last_bin is not None and bin_start - s.last_bin <= gap]
            home = _best_story(open_stories, posts, terms_of, settings.story_overlap)
            if home is None:
                lead = min(group, key=lambda m: (-m.count, m.source, m.term))
                home = Story(
                    key=f"{bin_start.isoformat()}|{lead.source}:{lead.term}",
                    lead=f"{lead.source}:{lead.term}",
                    bin_start=bin_start,
                    fired_at=min(m.fired_at for m in group),
                    provisional=all(m.provisional for m in group),
                    first_posts=posts,
                )
                stories.append(home)
            home.members.extend(group)
            home.terms.update(f"{m.source}:{m.term}" for m in group)
            home.last_bin = bin_start
    return stories


def _key(member: StoryMember) -> AlertKey:
    return (member.source, member.term, member.bin_start)


def _same_bin_groups(
    members: list[StoryMember],
    posts_of: dict[AlertKey, set[str]],
    terms_of: dict[str, set[str]],
    settings: TrendSettings,
) -> list[list[StoryMember]]:
    """Alerts of one bin linked when their posts overlap or their term profiles are alike (union-find)."""
    members = sorted(members, key=lambda m: (m.source, m.term))
    forest = UnionFind(len(members))
    profiles = [_profile(posts_of[_key(m)], terms_of) for m in members]
    for i in range(len(members)):
        for j in range(i + 1, len(members)):
            a, b = posts_of[_key(members[i])], posts_of[_key(members[j])]
            if not a or not b:
                continue
            overlapping = len(a & b) >= settings.story_overlap * min(len(a), len(b))
            if overlapping or _cosine(profiles[i], profiles[j]) >= settings.story_similarity:
                forest.union(i, j)
    groups: dict[int, list[StoryMember]] = defaultdict(list)
    for i, member in enumerate(members):
        groups[forest.find(i)].append(member)
    return [groups[k] for k in sorted(groups)]


def _profile(posts: set[str], terms_of: dict[str, set[str]]) -> dict[str, float]:
    """The share of ``posts`` that carry each term."""
    counts: dict[str, int] = defaultdict(int)
    for post_id in posts:
        for term in terms_of.get(post_id, ()):
            counts[term] += 1
    return {t: n / len(posts) for t, n in counts.items()} if posts else {}


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    dot = sum(v * b.get(t, 0.0) for t, v in a.items())
    norm = math.sqrt(sum(v * v for v in a.values()) * sum(v * v for v in b.values()))
    return dot / norm if norm else 0.0


def _best_story(stories: list[Story], posts: list[str], terms_of: dict[str, set[str]], overlap: float) -> Story | None:
    """The open story whose terms the most of ``posts`` carry, if at least ``overlap`` of them do."""
    if not posts:
        return None
    best: tuple[float, int] | None = None
    for i, story in enumerate(stories):
        share = sum(1 for p in posts if terms_of.get(p, set()) & story.terms) / len(posts)
        if share >= overlap and (best is None or share > best[0]):
            best = (share, i)
    return None if best is None else stories[best[1]]


def _alert_posts(
    db: duckdb.DuckDBPyConnection, streams: Sequence[tuple[TermSource, str]], settings: TrendSettings
) -> tuple[list[StoryMember], dict[AlertKey, set[str]]]:
    """Every saved alert of ``streams``, and the posts carrying its term in its bin."""
    alerts: list[StoryMember] = []
    posts_of: dict[AlertKey, set[str]] = {}
    for source, stream in streams:
        for term, bin_start, fired_at, count, provisional in db.execute(
            "SELECT term, bin_start, fired_at, count, provisional FROM alerts WHERE stream = ? ORDER BY bin_start, term",
            [stream],
        ).fetchall():
            member = StoryMember(source.name, term, bin_start, fired_at, int(count), bool(provisional))
            alerts.append(member)
            posts_of[_key(member)] = set()
        if not alerts:
            continue
        for term, bin_start, post_id in db.execute(
            f"""
            WITH a AS (SELECT DISTINCT term, bin_start FROM alerts WHERE stream = ?)
            SELECT a.term, a.bin_start, q.post_id FROM a JOIN ({source.pairs_sql()}) q ON q.term = a.term
            JOIN posts p ON p.id = q.post_id
             AND p.created_at >= a.bin_start AND p.created_at < a.bin_start + to_seconds({settings.bin_seconds})
            """,
            [stream],
        ).fetchall():
            posts_of.setdefault((source.name, term, bin_start), set()).add(post_id)
    alerts.sort(key=lambda m: (m.bin_start, m.source, m.term))
    return alerts, posts_of


def _post_terms(
    db: duckdb.DuckDBPyConnection, streams: Sequence[tuple[TermSource, str]], post_ids: set[str]
) -> dict[str, set[str]]:
    """``source:term`` of every source, for each of ``post_ids``."""
    terms_of: dict[str, set[str]] = defaultdict(set)
    if not post_ids:
        return terms_of
    db.register("story_posts", pa.table({"post_id": sorted(post_ids)}))
    try:
        for source, _ in streams:
            for post_id, term in db.execute(
                f"SELECT q.post_id, q.term FROM ({source.pairs_sql()}) q JOIN story_posts s USING (post_id)"
            ).fetchall():
                terms_of[post_id].add(f"{source.name}:{term}")
    finally:
        db.unregister("story_posts")
    return terms_of
