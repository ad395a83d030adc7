"""What ``postlens trends`` counts: a source turns posts into (post, term) pairs with SQL.

A source is pluggable: anything with ``name``, ``version``, ``prepare(db)`` and ``pairs_sql()``.
``prepare`` returns a note instead of raising when the source has nothing to count in this
workspace (no topics table yet), so the other sources still run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import duckdb

from postlens.errors import ConfigError
from postlens.tasks.trends.entities import EntityExtractor, fill_entity_cache, make_extractor


class TermSource(Protocol):
    name: str

    @property
    def version(self) -> str:
        """Changes when the same posts would give other terms (the saved state is then recomputed)."""
        ...

    def prepare(self, db: duckdb.DuckDBPyConnection) -> str | None:
        """Make ``pairs_sql`` runnable; a note saying why there is nothing to count, else None."""
        ...

    def pairs_sql(self) -> str:
        """A SELECT of distinct (post_id, term) pairs; ``post_id`` is ``posts.id``."""
        ...


class Hashtags:
    """``#tag`` per post, lower-cased (``#SydneySiege`` and ``#sydneysiege`` are one term)."""

    name = "hashtags"
    version = "1"

    def prepare(self, db: duckdb.DuckDBPyConnection) -> str | None:
        return None

    def pairs_sql(self) -> str:
        return (
            "SELECT DISTINCT id AS post_id, '#' || lower(tag) AS term FROM posts, unnest(hashtags) AS u(tag) "
            "WHERE length(tag) > 0"
        )


class Entities:
    """Named entities of the post text, extracted once per distinct text (cached in ``entity_cache``)."""

    name = "entities"

    def __init__(
        self, extractor: str | EntityExtractor = "light", progress: Callable[[int, int], None] | None = None
    ) -> None:
        self.extractor = make_extractor(extractor) if isinstance(extractor, str) else extractor
        self.progress = progress

    @property
    def version(self) -> str:
        return self.extractor.name

    def prepare(self, db: duckdb.DuckDBPyConnection) -> str | None:
        fill_entity_cache(db, self.extractor, progress=self.progress)
        return None

    def pairs_sql(self) -> str:
        name = self.extractor.name.replace("'", "''")
        return (
            "SELECT DISTINCT p.id AS post_id, e AS term FROM posts p "
            f"JOIN entity_cache c ON c.text_md5 = md5(p.text) AND c.extractor = '{name}', "
            "unnest(c.entities) AS u(e)"
        )


class Topics:
    """Topics from the table ``post_topics(post_id, topic_id)`` that ``postlens segments`` writes.

    With a ``segmentation`` column (several named topic sets), a term is ``<segmentation>:<name or
    id>`` (the name of a seed or class segment from ``topics``, else the stable topic id), and
    ``segmentation`` limits the count to one set. Without it a term is ``topic <id>``. Posts without
    a topic (outliers) are not counted.
    """

    name = "topics"

    def __init__(self, segmentation: str | None = None) -> None:
        self.segmentation = segmentation
        self._sql = ""

    @property
    def version(self) -> str:
        return "1" if self.segmentation is None else f"1/{self.segmentation}"

    def prepare(self, db: duckdb.DuckDBPyConnection) -> str | None:
        columns = _columns(db, "post_topics")
        if not columns:
            return "topics skipped: this workspace has no post_topics table yet (run 'postlens segments fit' first)"
        if not {"post_id", "topic_id"} <= columns:
            return f"topics skipped: post_topics lacks post_id/topic_id (has {', '.join(sorted(columns))})"
        if not db.execute("SELECT count(*) FROM post_topics WHERE topic_id IS NOT NULL").fetchall()[0][0]:
            return "topics skipped: no post has a topic yet (run 'postlens segments fit' first)"
        if "segmentation" not in columns:
            self._sql = (
                "SELECT DISTINCT post_id, 'topic ' || CAST(topic_id AS VARCHAR) AS term FROM post_topics "
                "WHERE topic_id IS NOT NULL"
            )
            return None
        named = {"segmentation", "topic_id", "name"} <= _columns(db, "topics")
        label = "coalesce(t.name, CAST(p.topic_id AS VARCHAR))" if named else "CAST(p.topic_id AS VARCHAR)"
        join = " LEFT JOIN topics t ON t.segmentation = p.segmentation AND t.topic_id = p.topic_id" if named else ""
        where = "p.topic_id IS NOT NULL"
        if self.segmentation is not None:
            found = {r[0] for r in db.execute("SELECT DISTINCT segmentation FROM post_topics").fetchall()}
            if self.segmentation not in found:
                return (
                    f"topics skipped: no segmentation {self.segmentation!r} in post_topics; "
                    f"there are: {', '.join(sorted(found)) or 'none'}"
                )
            where += " AND p.segmentation = '" + self.segmentation.replace("'", "''") + "'"
        self._sql = (
            f"SELECT DISTINCT p.post_id, p.segmentation || ':' || {label} AS term FROM post_topics p{join} "
            f"WHERE {where}"
        )
        return None

    def pairs_sql(self) -> str:
        if not self._sql:
            raise RuntimeError("Topics.prepare(db) must run before pairs_sql()")
        return self._sql


def _columns(db: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    return {
        row[0]
        for row in db.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? AND table_schema = 'main'", [table]
        ).fetchall()
    }


SOURCES = ("hashtags", "entities", "topics")


def make_sources(
    names: list[str] | None = None,
    *,
    entity_extractor: str = "light",
    progress: Callable[[int, int], None] | None = None,
) -> list[TermSource]:
    """Sources by name (default: all three); unknown names are refused with the valid ones listed."""
    chosen = list(names) if names else list(SOURCES)
    unknown = [n for n in chosen if n not in SOURCES]
    if unknown:
        raise ConfigError(f"unknown trend source(s) {', '.join(unknown)}; use {', '.join(SOURCES)}")
    made: dict[str, Callable[[], TermSource]] = {
        "hashtags": Hashtags,
        "entities": lambda: Entities(entity_extractor, progress),
        "topics": Topics,
    }
    return [made[n]() for n in dict.fromkeys(chosen)]
