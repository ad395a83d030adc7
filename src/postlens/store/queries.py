"""Read-side summaries of a workspace for ``postlens stats`` and ``postlens quarantine``."""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb


@dataclass
class WorkspaceStats:
    posts: int
    engagement_snapshots: int
    media_stored: int
    media_files: int
    by_source: list[tuple[str, int]] = field(default_factory=list)
    by_modality: list[tuple[str, int]] = field(default_factory=list)
    by_month: list[tuple[str, int]] = field(default_factory=list)
    by_label: list[tuple[str, str, int]] = field(default_factory=list)
    media_by_status: list[tuple[str, str, int]] = field(default_factory=list)
    remote_by_kind: list[tuple[str, int, int]] = field(default_factory=list)
    """(kind, posts, parts) of media known only by URL: remote, not fetched, so not in ``by_modality``."""
    quarantined: list[tuple[str, int]] = field(default_factory=list)
    """(code, records) of records that were not imported."""
    flagged: list[tuple[str, int]] = field(default_factory=list)
    """(code, rows) of problems with a field or media part of a post that was imported."""
    runs: list[tuple[str, str, str, int, int, int, int, int]] = field(default_factory=list)


def workspace_stats(db: duckdb.DuckDBPyConnection, *, label_values: int = 12) -> WorkspaceStats:
    def one(sql: str) -> int:
        row = db.execute(sql).fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    stats = WorkspaceStats(
        posts=one("SELECT count(*) FROM posts"),
        engagement_snapshots=one("SELECT count(*) FROM engagement"),
        media_stored=one("SELECT count(*) FROM media WHERE status = 'stored'"),
        media_files=one("SELECT count(DISTINCT sha256) FROM media WHERE status = 'stored'"),
    )
    stats.by_source = db.execute("SELECT source, count(*) FROM posts GROUP BY 1 ORDER BY 2 DESC").fetchall()
    # modalities a post really has: text and attached (stored) media; URL-only media are counted apart
    stats.by_modality = db.execute(
        """
        SELECT modality, count(*) FROM (
            SELECT 'text' AS modality FROM posts WHERE length(trim(text)) > 0
            UNION ALL SELECT unnest(media_kinds) FROM posts
            UNION ALL SELECT 'text only' FROM posts WHERE length(trim(text)) > 0 AND len(media_kinds) = 0
            UNION ALL SELECT 'media only' FROM posts WHERE length(trim(text)) = 0 AND len(media_kinds) > 0
            UNION ALL SELECT 'no text, remote media only' FROM posts
                WHERE length(trim(text)) = 0 AND len(media_kinds) = 0
        ) GROUP BY 1 ORDER BY 2 DESC, 1
        """
    ).fetchall()
    stats.by_month = db.execute(
        "SELECT coalesce(strftime(created_at AT TIME ZONE 'UTC', '%Y-%m'), 'no date'), count(*) "
        "FROM posts GROUP BY 1 ORDER BY 1"
    ).fetchall()
    stats.by_label = db.execute(
        f"""
        WITH kv AS (SELECT unnest(map_keys(labels)) AS k, unnest(map_values(labels)) AS v FROM posts),
        counted AS (SELECT k, v, count(*) AS n,
                    row_number() OVER (PARTITION BY k ORDER BY count(*) DESC, v) AS r FROM kv GROUP BY k, v)
        SELECT k, v, n FROM counted WHERE r <= {int(label_values)} ORDER BY k, n DESC
        """
    ).fetchall()
    stats.media_by_status = db.execute(
        "SELECT kind, status, count(*) FROM media GROUP BY 1, 2 ORDER BY 1, 2"
    ).fetchall()
    stats.remote_by_kind = db.execute(
        "SELECT kind, count(DISTINCT post_id), count(*) FROM media WHERE status = 'remote' GROUP BY 1 ORDER BY 1"
    ).fetchall()
    stats.quarantined = db.execute(
        "SELECT code, count(*) FROM quarantine WHERE NOT post_kept GROUP BY 1 ORDER BY 2 DESC, 1"
    ).fetchall()
    stats.flagged = db.execute(
        "SELECT code, count(*) FROM quarantine WHERE post_kept GROUP BY 1 ORDER BY 2 DESC, 1"
    ).fetchall()
    stats.runs = db.execute(
        "SELECT run_id, importer, status, imported, updated, unchanged, quarantined, flagged FROM import_runs "
        "ORDER BY started_at DESC LIMIT 5"
    ).fetchall()
    return stats


def quarantine_rows(
    db: duckdb.DuckDBPyConnection, *, code: str | None = None, limit: int = 50
) -> list[tuple[str, int, str, str, str, bool]]:
    where, params = ("WHERE code = ?", [code]) if code else ("", [])
    return db.execute(
        f"SELECT file, line, code, post_id, reason, post_kept FROM quarantine {where} ORDER BY file, line LIMIT ?",
        [*params, limit],
    ).fetchall()
