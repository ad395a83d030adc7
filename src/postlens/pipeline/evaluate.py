"""``postlens evaluate``: one HTML report and one metrics JSON over everything a workspace holds.

Reads (never writes) the workspace: every model folder under ``models/`` (metrics, predictions
files, the imbalance comparison), the segments tables (topic quality computed here with the topic
model's own tokenisation, NPMI and diversity), the trend tables and popularity models. The report
data is built by ``postlens.evaluation.report.build_report`` and drawn by
``postlens.evaluation.report_html.render_html``; both files are written atomically.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from postlens.errors import ConfigError, PostlensError, WorkspaceError
from postlens.evaluation.report import (
    ModelRun,
    PopularityRun,
    ReportInputs,
    SegmentationRun,
    TrendStream,
    build_report,
)
from postlens.evaluation.report_html import render_html
from postlens.evaluation.report_tasks import MAX_BINS, TIMELINE_TERMS
from postlens.store.workspace import DB_NAME, Workspace, resolve_workspace_path

QUALITY_POSTS = 20_000
"""NPMI counts word pairs over at most this many posts (a fixed sample by id hash): the estimate is stable
well before that, and a million-post workspace is not read whole for it."""
REPORT_HTML = "evaluation.html"
REPORT_JSON = "evaluation.json"
PREDICTION_SIDES = ("val", "test")


@dataclass
class EvaluateResult:
    html: Path
    json: Path
    report: dict[str, Any]


def run_evaluate(
    workspace: str | Path | None = None, *, out: str | Path | None = None, now: datetime | None = None
) -> EvaluateResult:
    """Write ``evaluation.html`` and ``evaluation.json`` into ``out`` (default ``<workspace>/reports``)."""
    root = resolve_workspace_path(workspace)
    if not (root / DB_NAME).exists():
        raise WorkspaceError(f"no workspace at {root}; run 'postlens ingest' (or 'postlens demo') first")
    folder = check_out_folder(out) if out is not None else root / "reports"
    with Workspace(root, read_only=True) as ws:
        inputs = collect_inputs(ws, now=now)
    report = build_report(inputs)
    folder.mkdir(parents=True, exist_ok=True)
    json_path = _write_atomically(folder / REPORT_JSON, json.dumps(report, indent=1, allow_nan=False))
    html_path = _write_atomically(folder / REPORT_HTML, render_html(report))
    return EvaluateResult(html=html_path, json=json_path, report=report)


def collect_inputs(ws: Workspace, *, now: datetime | None = None) -> ReportInputs:
    """Everything the report shows, read from ``ws``; an unreadable file is named in ``problems``."""
    problems: list[str] = []
    models, popularity = _model_folders(ws.root / "models", problems)
    posts = ws.db.execute("SELECT count(*) FROM posts").fetchone()
    return ReportInputs(
        workspace=str(ws.root),
        generated_at=now or datetime.now(UTC),
        posts=int(posts[0]) if posts else 0,
        models=models,
        segmentations=_segmentations(ws, problems),
        trends=_trend_streams(ws),
        popularity=popularity,
        problems=problems,
    )


def _model_folders(folder: Path, problems: list[str]) -> tuple[list[ModelRun], list[PopularityRun]]:
    from postlens.tasks.popularity.artifact import DESCRIPTION as POPULARITY_DESCRIPTION

    models: list[ModelRun] = []
    popularity: list[PopularityRun] = []
    if not folder.is_dir():
        return models, popularity
    for path in sorted(p for p in folder.iterdir() if p.is_dir()):
        if (path / "model.json").is_file():
            description = _read_json(path / "model.json", problems)
            metrics = _read_json(path / "metrics.json", problems) if (path / "metrics.json").is_file() else {}
            if description is None or metrics is None:
                continue
            compare = _read_json(path / "compare.json", problems) if (path / "compare.json").is_file() else None
            predictions = {}
            for side in PREDICTION_SIDES:
                file = path / f"predictions_{side}.parquet"
                if file.is_file():
                    try:
                        predictions[side] = pq.read_table(file)
                    except Exception as exc:  # noqa: BLE001 - pyarrow raises several kinds for a damaged file
                        problems.append(f"{file}: not a readable Parquet file ({type(exc).__name__}: {exc})")
            models.append(ModelRun(path.name, description, metrics, compare, predictions))
        elif (path / POPULARITY_DESCRIPTION).is_file():
            description = _read_json(path / POPULARITY_DESCRIPTION, problems)
            if description is not None:
                popularity.append(PopularityRun(path.name, description))
    return models, popularity


def _read_json(path: Path, problems: list[str]) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        problems.append(f"{path}: unreadable ({exc}); the folder is left out of the report")
        return None
    if not isinstance(value, dict):
        problems.append(f"{path}: expected a JSON object, found {type(value).__name__}; left out of the report")
        return None
    return value


def _segmentations(ws: Workspace, problems: list[str]) -> list[SegmentationRun]:
    from postlens.tasks.segments import tables

    found = tables.segmentations(ws)
    if not found:
        return []
    quality = _TopicQuality(ws, problems)
    runs = []
    for name, kind, _active, posts in found:
        known = tables.known_topics(ws, name)
        outliers = ws.db.execute(
            "SELECT count(*) FROM post_topics WHERE segmentation = ? AND topic_id IS NULL", [name]
        ).fetchone()
        history = dict(
            ws.db.execute(
                "SELECT event, count(*) FROM topic_history WHERE segmentation = ? GROUP BY 1", [name]
            ).fetchall()
        )
        active = {t: r for t, r in known.items() if r["status"] == "active"}
        npmi, diversity = quality.of({t: list(r["words"] or []) for t, r in active.items()})
        quality_posts = quality.documents if npmi else None
        bin = _time_bin(ws, name)
        runs.append(
            SegmentationRun(
                name=name,
                kind=kind,
                posts=int(posts),
                outliers=int(outliers[0]) if outliers else 0,
                topics=[{k: r[k] for k in ("topic_id", "label", "size", "words", "status")} for r in known.values()],
                npmi=npmi,
                diversity=diversity,
                over_time=tables.sizes_over_time(ws, name, bin),
                bin=bin,
                history={str(k): int(v) for k, v in history.items()},
                quality_posts=quality_posts,
            )
        )
    return runs


class _TopicQuality:
    """NPMI and diversity of topic words over the workspace's posts, tokenised as the topic model does;
    the documents are read once, on first use."""

    def __init__(self, ws: Workspace, problems: list[str]) -> None:
        self.ws, self.problems, self.failed = ws, problems, False
        self.vocabulary: Any = None
        self.documents = 0

    def of(self, words: dict[int, list[str]]) -> tuple[dict[int, float | None], float | None]:
        from postlens.tasks.segments.quality import diversity, npmi

        vocabulary = self._vocabulary()
        if vocabulary is None or not words:
            return {}, None
        ids = list(words)
        scores = npmi(vocabulary, [words[t] for t in ids])
        return dict(zip(ids, scores)), diversity([words[t] for t in ids])

    def _vocabulary(self) -> Any:
        if self.vocabulary is None and not self.failed:
            from postlens.tasks.segments.load import load_parts
            from postlens.tasks.segments.model import post_documents
            from postlens.tasks.segments.words import Vocabulary

            total = self.ws.db.execute("SELECT count(*) FROM posts").fetchone()
            sample = None
            if total and total[0] > QUALITY_POSTS:
                sample = [
                    r[0]
                    for r in self.ws.db.execute(
                        "SELECT id FROM posts ORDER BY hash(id), id LIMIT ?", [QUALITY_POSTS]
                    ).fetchall()
                ]
            try:
                documents = post_documents(load_parts(self.ws, sample))
                self.vocabulary, self.documents = Vocabulary.build(documents, min_df=2), len(documents)
            except PostlensError as exc:
                self.failed = True
                self.problems.append(f"topic coherence (NPMI) not computed: {exc}")
        return self.vocabulary


def _time_bin(ws: Workspace, segmentation: str) -> str:
    """Day bins for up to four months of posts, weeks up to three years, then months."""
    span = ws.db.execute(
        "SELECT date_diff('day', min(created_at), max(created_at)) FROM post_topics WHERE segmentation = ?",
        [segmentation],
    ).fetchone()
    days = span[0] if span and span[0] is not None else 0
    return "day" if days <= 120 else "week" if days <= 3 * 365 else "month"


def _trend_streams(ws: Workspace) -> list[TrendStream]:
    """The most recently updated stream of each source, with the series of the terms worth drawing:
    every term that alerted and the most counted ones."""
    rows = ws.db.execute(
        "SELECT stream, source, bin_seconds, settings FROM trend_streams "
        "QUALIFY row_number() OVER (PARTITION BY source ORDER BY updated_at DESC, stream) = 1 ORDER BY source"
    ).fetchall()
    streams = []
    for stream, source, bin_seconds, settings in rows:
        alerts = _dicts(
            ws,
            "SELECT term, bin_start, count, expected, score FROM alerts WHERE stream = ? ORDER BY bin_start, term",
            [stream],
        )
        top = [
            r[0]
            for r in ws.db.execute(
                "SELECT term FROM trend_series WHERE stream = ? GROUP BY term ORDER BY sum(count) DESC, term LIMIT ?",
                [stream, TIMELINE_TERMS],
            ).fetchall()
        ]
        terms = sorted({a["term"] for a in alerts} | set(top))
        n_terms = ws.db.execute("SELECT count(DISTINCT term) FROM trend_series WHERE stream = ?", [stream]).fetchone()
        series = _dicts(
            ws,
            "SELECT bin_start, term, count, expected, score, state FROM trend_series "
            "WHERE stream = ? AND list_contains(?, term) AND bin_start >= (SELECT max(bin_start) "
            "FROM trend_series WHERE stream = ?) - to_seconds(? * ?) ORDER BY bin_start, term",
            [stream, terms, stream, int(bin_seconds), MAX_BINS],
        )
        try:
            parsed = json.loads(settings) if isinstance(settings, str) else dict(settings or {})
        except json.JSONDecodeError:
            parsed = {}
        streams.append(
            TrendStream(
                stream, source, int(bin_seconds), parsed, series, alerts, n_terms=int(n_terms[0]) if n_terms else 0
            )
        )
    return streams


def _dicts(ws: Workspace, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cursor = ws.db.execute(sql, params)
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row)) for row in cursor.fetchall()]


def _write_atomically(path: Path, text: str) -> Path:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)
    return path


def check_out_folder(out: str | Path) -> Path:
    """``out`` as a folder the report can be written into (created when missing), or a clear error."""
    folder = Path(out).expanduser()
    if folder.exists() and not folder.is_dir():
        raise ConfigError(
            f"--out {folder} is a file; name a folder (the report writes {REPORT_HTML} and {REPORT_JSON})"
        )
    return folder
