"""The dashboard's read-only answers (overview, timelines, alerts, popularity), each from one short read-only
open of the workspace, as JSON-ready dicts. The map of the shared space is in ``space.py``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from postlens.agent.answers import TOP_DRIVERS
from postlens.errors import PostlensError
from postlens.store.workspace import Workspace
from postlens.tasks.trends.config import parse_duration

REPORT_HTML = Path("reports") / "evaluation.html"
"""Where ``postlens evaluate`` writes its report by default (``<workspace>/reports``)."""


def _has_table(ws: Workspace, table: str) -> bool:
    found = ws.db.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table]).fetchone()
    return bool(found and found[0])


def _pairs(rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    return [{"name": "unknown" if name is None else str(name), "count": int(count)} for name, count in rows]


def overview(root: Path, lock_wait: float | None) -> dict[str, Any]:
    """Corpus counts by modality, source, platform, language and time; import runs; quarantine by reason."""
    with Workspace(root, read_only=True, lock_wait=lock_wait) as ws:
        db = ws.db
        total = int(db.execute("SELECT count(*) FROM posts").fetchall()[0][0])
        modality = db.execute(
            "SELECT kind, count(*) FROM (SELECT unnest(list_distinct(coalesce(media_kinds, []) || "
            "CASE WHEN length(trim(text)) > 0 THEN ['text'] ELSE [] END)) AS kind FROM posts) "
            "GROUP BY kind ORDER BY 2 DESC, 1"
        ).fetchall()
        by = {
            column: _pairs(
                db.execute(f"SELECT {column}, count(*) FROM posts GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 30").fetchall()
            )
            for column in ("source", "platform", "language")
        }
        span = db.execute("SELECT min(created_at), max(created_at) FROM posts").fetchone()
        unit = _time_unit(span[0], span[1]) if span and span[0] is not None else "day"
        over_time = db.execute(
            f"SELECT date_trunc('{unit}', created_at) AS t, count(*) FROM posts "
            "WHERE created_at IS NOT NULL GROUP BY 1 ORDER BY 1"
        ).fetchall()
        runs = db.execute(
            "SELECT run_id, started_at, finished_at, status, importer, imported, updated, unchanged, "
            "quarantined, flagged, error FROM import_runs ORDER BY started_at DESC LIMIT 20"
        )
        run_columns = [d[0] for d in runs.description]
        run_rows = [dict(zip(run_columns, row)) for row in runs.fetchall()]
        quarantine = db.execute(
            "SELECT code, post_kept, count(*), any_value(reason) FROM quarantine GROUP BY 1, 2 ORDER BY 3 DESC, 1"
        ).fetchall()
    return {
        "posts": total,
        "modality": _pairs(modality),
        **by,
        "time_unit": unit,
        "over_time": [{"t": _iso(t), "count": int(n)} for t, n in over_time],
        "import_runs": [{k: _iso(v) if isinstance(v, datetime) else v for k, v in row.items()} for row in run_rows],
        "quarantine": [
            {"code": code, "post_kept": bool(kept), "count": int(n), "example": reason}
            for code, kept, n, reason in quarantine
        ],
    }


def trends(
    root: Path, lock_wait: float | None, source: str | None, top: int, since: str | None = None
) -> dict[str, Any]:
    """The newest stream per source: its top terms' count per bin (expected and burst state alongside) and
    the alert list, newest first. ``since`` (``7d``, ``24h``; None: everything) keeps the bins and alerts that
    start in that span back from the newest post (social datasets are historical: not from the wall clock, as
    ``postlens trends --since`` measures it); the top terms are ranked within that span."""
    seconds = None if since is None else parse_duration(since, what="since")
    empty: dict[str, Any] = {"sources": [], "source": None, "series": [], "alerts": [], "since": since, "from": None}
    with Workspace(root, read_only=True, lock_wait=lock_wait) as ws:
        if not _has_table(ws, "trend_streams"):
            return empty
        db = ws.db
        newest = db.execute("SELECT max(created_at) FROM posts").fetchall()[0][0]
        first = newest - timedelta(seconds=seconds) if seconds is not None and newest is not None else None
        # no lower bound: every bin (a timestamp before any post)
        lower = first if first is not None else datetime(1, 1, 1, tzinfo=UTC)
        streams = db.execute(
            "SELECT source, arg_max(stream, updated_at) FROM trend_streams GROUP BY 1 ORDER BY 1"
        ).fetchall()
        by_source = {s: stream for s, stream in streams}
        chosen = (
            source if source in by_source else "hashtags" if "hashtags" in by_source else next(iter(by_source), None)
        )
        if chosen is None:
            return {**empty, "sources": list(by_source)}
        stream = by_source[chosen]
        terms = [
            t
            for (t,) in db.execute(
                "SELECT term FROM trend_series WHERE stream = ? AND bin_start >= ? GROUP BY term "
                "ORDER BY sum(CASE WHEN state <> 'steady' THEN 1 ELSE 0 END) DESC, sum(count) DESC, term LIMIT ?",
                [stream, lower, top],
            ).fetchall()
        ]
        rows = db.execute(
            "SELECT term, bin_start, count, expected, state FROM trend_series WHERE stream = ? "
            "AND list_contains(?, term) AND bin_start >= ? ORDER BY term, bin_start",
            [stream, terms, lower],
        ).fetchall()
        alerts = db.execute(
            "SELECT source, term, bin_start, fired_at, count, expected, score, provisional FROM alerts "
            "WHERE bin_start >= ? ORDER BY fired_at DESC, score DESC LIMIT 200",
            [lower],
        ).fetchall()
    series: dict[str, dict[str, list[Any]]] = {t: {"t": [], "count": [], "expected": [], "state": []} for t in terms}
    for term, start, count, expected, state in rows:
        line = series[term]
        line["t"].append(_iso(start))
        line["count"].append(int(count))
        line["expected"].append(round(float(expected), 3))
        line["state"].append(state)
    alert_keys = ("source", "term", "bin_start", "fired_at", "count", "expected", "score", "provisional")
    return {
        "sources": list(by_source),
        "source": chosen,
        "series": [{"term": t, **series[t]} for t in terms],
        "alerts": [{k: _iso(v) if isinstance(v, datetime) else v for k, v in zip(alert_keys, a)} for a in alerts],
        "since": since,
        "from": _iso(first),
    }


def popularity(
    root: Path,
    lock_wait: float | None,
    model: str | None,
    info: dict[str, Any],
    top: int,
    trained: Any = None,
) -> dict[str, Any]:
    """Stored predictions of the popularity model ``model`` (value = predicted log1p count; written by
    ``postlens popularity predict``) beside each post's newest observed count, largest predicted first;
    ``info``: the model's description (its saved figures); ``trained``: the loaded model, whose drivers of each
    listed post's prediction come with it (as ``postlens popularity explain`` gives them)."""
    config = info.get("config")
    target = config.get("target") if isinstance(config, dict) else None
    metric = str(target.get("metric", "shares")) if isinstance(target, dict) else "shares"
    column = metric if metric in ("likes", "shares", "comments", "views") else "shares"
    explained: dict[str, dict[str, Any]] = {}
    note = None
    with Workspace(root, read_only=True, lock_wait=lock_wait) as ws:
        rows = []
        if model is not None and _has_table(ws, "predictions"):
            rows = ws.db.execute(
                f"SELECT p.post_id, p.value, e.{column}, left(po.text, 200), po.media_kinds FROM predictions p "
                "JOIN posts po ON po.id = p.post_id LEFT JOIN (SELECT post_id, arg_max(" + column + ", observed_at) "
                f"AS {column} FROM engagement GROUP BY 1) e ON e.post_id = p.post_id WHERE p.model = ? "
                "ORDER BY p.value DESC NULLS LAST LIMIT ?",
                [model, top],
            ).fetchall()
        if trained is not None and rows:
            try:
                explained = drivers(trained, {**info, "name": model}, ws, [r[0] for r in rows])
            except PostlensError as error:  # e.g. the model reads an encoder this postlens no longer has
                note = f"drivers unavailable: {error}"
    return {
        "model": model,
        "metric": column,
        "figures": info.get("figures") if isinstance(info.get("figures"), dict) else None,
        "drivers_note": note,
        "posts": [
            {
                "post_id": pid,
                "predicted_log1p": None if v is None else round(float(v), 4),
                "actual": None if a is None else int(a),
                "text": text,
                "media_kinds": list(kinds or []),
                "explained": explained.get(pid),
            }
            for pid, v, a, text, kinds in rows
        ],
    }


def drivers(trained: Any, info: dict[str, Any], ws: Workspace, post_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Each post's drivers from the model's own explanation (``base + sum of every driver == predicted_log1p``):
    its ``TOP_DRIVERS`` strongest, largest |effect| first, and the sum per modality. Reads cached features only
    (a post missing one is explained without it, as at predict time); computes none."""
    from postlens.tasks.popularity.service import read_posts

    frame, _ = read_posts(trained, info, ws, post_ids)
    explanation = trained.explain(frame)
    kinds, summed = explanation.by_modality()
    return {
        post_id: {
            "base": round(float(explanation.base), 4),
            "predicted_log1p": round(float(explanation.prediction[i]), 4),
            "drivers": [
                {"name": name, "modality": modality, "effect": round(effect, 4)}
                for name, modality, effect in explanation.top(i, TOP_DRIVERS)
            ],
            "by_modality": {kind: round(float(summed[i, j]), 4) for j, kind in enumerate(kinds)},
        }
        for i, post_id in enumerate(explanation.ids)
    }


SHOWN_IMAGES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp", "image/avif"})
"""Stored image types a browser draws in an <img> that run nothing (no SVG: it can hold script)."""


def post_image(root: Path, lock_wait: float | None, post_id: str) -> tuple[Path, str] | None:
    """The post's first stored image (or GIF) as the import copied it into ``<workspace>/media`` and its type;
    None when it has none. The path comes from the media table and must resolve inside the media folder (a
    tampered row cannot point the server at another file)."""
    with Workspace(root, read_only=True, lock_wait=lock_wait) as ws:
        rows = ws.db.execute(
            "SELECT path, mime FROM media WHERE post_id = ? AND status = 'stored' AND path IS NOT NULL "
            "AND list_contains(?, mime) ORDER BY position",
            [post_id, sorted(SHOWN_IMAGES)],
        ).fetchall()
        base, folder = ws.root, ws.media_dir.resolve()
    for path, mime in rows:
        found = (base / path).resolve()
        if found.is_relative_to(folder) and found.is_file():
            return found, str(mime)
    return None


def report_path(root: Path) -> Path | None:
    path = root / REPORT_HTML
    return path if path.is_file() else None


def _time_unit(first: datetime, last: datetime) -> str:
    days = (last - first).total_seconds() / 86400
    return "hour" if days <= 3 else "day" if days <= 180 else "week" if days <= 1500 else "month"


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value
