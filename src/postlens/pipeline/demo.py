"""The main job on the sample corpus: generate -> ingest -> featurize -> segments -> train -> popularity
-> trends -> evaluate, each stage reusing what an earlier run already did.

A second run recomputes nothing: the corpus is reused when its seed and size match, the import
finds every post unchanged, featurize finds every vector in the cache, segments only place posts
that have no topic yet, a model is retrained only when its config or the data it reads changed
(a digest of the posts, engagement, media, text fields and feature cache), trends fold only new
bins; the report is rebuilt (it is cheap and says when it was made).

Nothing here prints: each stage reports through the callbacks of ``DemoHooks`` and the run returns
a ``DemoReport`` with every stage's result. The CLI (``serve/demo.py``) draws bars from the callbacks
and prints each stage's result when ``on_stage`` says it is done; a notebook can pass nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from postlens.store.workspace import Workspace, resolve_workspace_path

DEMO_POSTS = 3000
DEMO_TOPIC: dict[str, Any] = {
    "name": "demo-topic",
    "target": "topic",
    "features": {
        "modalities": {"text": "minilm", "image": "efficientnet", "video": "video", "audio": "audio"},
        "text_fields": ["text", "ocr"],
    },
    "split": {"strategy": "time"},
    "model": {"kind": "fusion", "epochs": 20},
    "distill": {"enabled": True},
    "seed": 0,
}
"""Every modality into one fusion model (with its modality ablation) and a distilled text student."""
DEMO_SENTIMENT: dict[str, Any] = {
    "name": "demo-sentiment",
    "target": "sentiment",
    "features": {"modalities": {"text": "minilm"}, "text_fields": ["text", "ocr"]},
    "split": {"strategy": "time"},
    "model": {"kind": "logreg", "grid": {"C": [0.01, 0.1, 0.3, 1.0, 3.0]}},
    "seed": 0,
}
"""A fast text model on the imbalanced sentiment labels, trained with the imbalance methods compared.

Its C grid is the middle of the default one: each of the five imbalance methods tunes C again, and
C above 3 (the slowest fits) never won on the sample corpus (3,000 posts: C=1 chosen; C>=10 lost 9+ points)."""
DEMO_TRENDS_SINCE, DEMO_TRENDS_BIN = "60d", "1d"
"""The sample corpus spans about two months: daily bins over all of it."""
STATE_FILE = "demo-state.json"
"""In the workspace: per model, the digest of what it was trained from (to reuse it on a re-run)."""


@dataclass
class StageResult:
    """What one stage did: ``reused`` is True when it computed nothing new."""

    name: str
    seconds: float
    reused: bool
    summary: str
    detail: Any = None  # the stage's own result (ImportSummary, FeaturizeSummary, SegmentsReport, report dict...)
    cpu_seconds: float = 0.0  # CPU time of this process and its finished workers (e.g. featurize's OCR process)


@dataclass
class DemoReport:
    """What ``run_demo`` did: every stage's result in order, and where the report is."""

    corpus: Path
    workspace: Path
    stages: list[StageResult] = field(default_factory=list)
    report_html: Path | None = None
    report_json: Path | None = None

    @property
    def recomputed(self) -> list[str]:
        """Stages that computed something (the report, rebuilt every time, is not counted)."""
        return [s.name for s in self.stages if not s.reused and s.name != "evaluate"]

    def stage(self, name: str) -> StageResult | None:
        """The (first) result of stage ``name``, or None when it did not run."""
        return next((s for s in self.stages if s.name == name), None)


@dataclass
class DemoHooks:
    """What the caller hears while the demo runs; every callback is optional.

    ``on_start(name, what)`` before a stage runs, ``on_stage(name, result)`` with its ``StageResult``
    when it ends, ``on_failed(name, error, seconds)`` when it raises (or is interrupted); the other
    callbacks are the stages' own progress.
    """

    generating: Callable[[int, int], None] | None = None  # (posts written, total)
    importing: Callable[[int, int], None] | None = None  # (records seen, quarantined)
    featurizing: Callable[[str, int, int], None] | None = None  # (encoder, done, total)
    training: Callable[[str], None] | None = None  # progress messages
    on_start: Callable[[str, str], None] | None = None
    on_stage: Callable[[str, StageResult], None] | None = None
    on_failed: Callable[[str, BaseException, float], None] | None = None


def run_demo_data(
    out: Path, *, seed: int = 0, n_posts: int = DEMO_POSTS, progress: Callable[[int, int], None] | None = None
) -> Any:
    """Write the sample corpus into ``out``; returns its ``CorpusSummary`` (truth in ``out/truth.json``)."""
    from postlens.demo import generate_corpus

    return generate_corpus(out, seed=seed, n_posts=n_posts, progress=progress)


def run_demo(
    out: str | Path = "demo-corpus",
    *,
    seed: int = 0,
    n_posts: int = DEMO_POSTS,
    workspace: str | Path | None = None,
    featurize: bool = True,
    train: bool = True,
    hooks: DemoHooks | None = None,
) -> DemoReport:
    """Run every stage on the sample corpus in ``out`` and the workspace; returns what each stage did.

    ``featurize=False`` skips every stage that needs features (segments, models): the import, trends
    and the report still run; ``train=False`` skips the models only.
    """
    hooks = hooks or DemoHooks()
    out = Path(out)
    root = resolve_workspace_path(workspace)
    result = DemoReport(corpus=out, workspace=root)

    def stage(name: str, what: str, work: Callable[[], StageResult]) -> StageResult:
        if hooks.on_start is not None:
            hooks.on_start(name, what)
        started, cpu = time.perf_counter(), _cpu_seconds()
        try:
            done = work()
        except BaseException as exc:
            if hooks.on_failed is not None:
                hooks.on_failed(name, exc, time.perf_counter() - started)
            raise
        done.seconds, done.cpu_seconds = time.perf_counter() - started, _cpu_seconds() - cpu
        result.stages.append(done)
        if hooks.on_stage is not None:
            hooks.on_stage(name, done)
        return done

    stage("generate", "the sample corpus", lambda: _generate(out, seed, n_posts, hooks.generating))
    stage("ingest", "posts, media and engagement into the workspace", lambda: _ingest(out, root, hooks.importing))
    if featurize:
        stage("featurize", "every modality through its encoders", lambda: _featurize(root, hooks.featurizing))
        stage("segments", "topics over the fused space", lambda: _segments(root))
        if train:
            for config, compare in ((DEMO_TOPIC, False), (DEMO_SENTIMENT, True)):
                stage(
                    "train",
                    f"{config['name']} ({config['model']['kind']})",
                    _bind(_train, root, config, compare, hooks.training),
                )
            stage("popularity", "engagement at publish time vs its baselines", lambda: _popularity(root))
    stage("trends", "hashtags, entities and topics per day, with bursts", lambda: _trends(root))
    report = stage("evaluate", "the evaluation report", lambda: _evaluate(root))
    result.report_html, result.report_json = report.detail.html, report.detail.json
    return result


def _cpu_seconds() -> float:
    """CPU time of this process and of the child processes it has waited for (a load-independent cost)."""
    used = os.times()
    return used.user + used.system + used.children_user + used.children_system


def _bind(work: Callable[..., StageResult], *args: Any) -> Callable[[], StageResult]:
    return lambda: work(*args)


def corpus_matches(out: Path, seed: int, n_posts: int) -> bool:
    """True when ``out`` holds the sample corpus of this seed and size (its truth.json says so)."""
    truth = out / "truth.json"
    if not truth.is_file() or not (out / "posts.jsonl").is_file():
        return False
    try:
        meta = json.loads(truth.read_bytes())
    except (OSError, ValueError):
        return False
    params = meta.get("params", {}) if isinstance(meta, dict) else {}
    return meta.get("seed") == seed and params.get("n_posts", n_posts) == n_posts


def _generate(out: Path, seed: int, n_posts: int, progress: Callable[[int, int], None] | None) -> StageResult:
    if corpus_matches(out, seed, n_posts):
        return StageResult("generate", 0, True, f"reused {out} ({n_posts:,} posts, seed {seed})")
    summary = run_demo_data(out, seed=seed, n_posts=n_posts, progress=progress)
    return StageResult(
        "generate",
        0,
        False,
        f"wrote {n_posts:,} posts with their media to {out} (seed {seed}); truth in {out / 'truth.json'}",
        summary,
    )


def _ingest(out: Path, root: Path, progress: Callable[[int, int], None] | None) -> StageResult:
    from postlens.pipeline.ingest import run_ingest

    summary = run_ingest([out], importer_name="postlens", workspace=root, progress=progress)
    changed = summary.imported + summary.updated + summary.snapshots_added
    return StageResult(
        "ingest",
        0,
        changed == 0 and summary.quarantined == 0,
        f"{summary.imported:,} imported, {summary.updated:,} updated, {summary.unchanged:,} unchanged, "
        f"{summary.quarantined:,} quarantined; {summary.snapshots_added:,} engagement snapshots added",
        summary,
    )


def _featurize(root: Path, progress: Callable[[str, int, int], None] | None) -> StageResult:
    from postlens.pipeline.featurize import featurize

    summary = featurize(root, progress=progress)
    items = sum(r.items for r in summary.runs)
    return StageResult(
        "featurize",
        0,
        summary.computed == 0,
        f"{summary.computed:,} items computed, {items - summary.computed:,} read from the cache "
        f"({', '.join(r.encoder for r in summary.runs)})",
        summary,
    )


def _segments(root: Path) -> StageResult:
    from postlens.pipeline.segments import DEFAULT_NAME, assign_segments, fit_segments
    from postlens.tasks.segments import tables

    with Workspace(root, read_only=True) as ws:
        fitted = any(row[0] == DEFAULT_NAME for row in tables.segmentations(ws))
        row = ws.db.execute(
            "SELECT count(*) FROM posts p WHERE NOT EXISTS (SELECT 1 FROM post_topics t "
            "WHERE t.segmentation = ? AND t.post_id = p.id)",
            [DEFAULT_NAME],
        ).fetchone()
        unplaced = int(row[0]) if row else 0
    if fitted and not unplaced:
        return StageResult(
            "segments", 0, True, f"every post already has its place in '{DEFAULT_NAME}'; nothing to assign"
        )
    if fitted:
        report = assign_segments(root, name=DEFAULT_NAME, featurize_new=False)
        return StageResult(
            "segments", 0, False, f"{report.posts:,} new posts placed; {len(report.topics)} topics", report
        )
    report = fit_segments(root, name=DEFAULT_NAME)
    return StageResult(
        "segments",
        0,
        False,
        f"{len(report.topics)} topics found over {report.posts:,} posts ({report.outliers:,} outliers)",
        report,
    )


def _train(
    root: Path, config_dict: dict[str, Any], compare: bool, progress: Callable[[str], None] | None
) -> StageResult:
    from postlens.models.config import parse_config
    from postlens.pipeline.train import run_train

    config = parse_config(config_dict)
    folder = root / "models" / config.name
    stamp = _stamp(root, {"config": config.model_dump(mode="json"), "compare_imbalance": compare})
    saved = _saved_model(folder)
    if saved is not None and _state(root).get(config.name) == {"inputs": stamp, "saved_at": saved["saved_at"]}:
        metrics = json.loads((folder / "metrics.json").read_text())
        report = {**metrics, "classes": saved.get("classes", []), "output": str(folder)}
        return StageResult(
            "train",
            0,
            True,
            f"{config.name}: reused (config and data unchanged since it was trained at {saved['saved_at']})",
            report,
        )
    report = run_train(config, workspace=root, compare_imbalance=compare, progress=progress)
    saved = _saved_model(folder)
    if saved is not None:
        _remember(root, config.name, {"inputs": stamp, "saved_at": saved["saved_at"]})
    main = (report.get("test") or {}).get("macro_f1")
    return StageResult(
        "train",
        0,
        False,
        f"{config.name}: trained in {report['train_seconds']:.1f}s"
        + (f", held-out macro-F1 {main:.3f}" if main is not None else ""),
        report,
    )


def _saved_model(folder: Path) -> dict[str, Any] | None:
    """model.json of a complete model folder (metrics and predictions written), else None."""
    needed = ["model.json", "metrics.json", "config.json", "predictions_test.parquet"]
    if not all((folder / name).is_file() for name in needed):
        return None
    try:
        description = json.loads((folder / "model.json").read_text())
        json.loads((folder / "metrics.json").read_text())
    except (OSError, ValueError):
        return None
    return description if isinstance(description, dict) and description.get("saved_at") else None


def _popularity(root: Path) -> StageResult:
    from postlens.pipeline.popularity import run_popularity_fit
    from postlens.tasks.popularity import parse_popularity_config
    from postlens.tasks.popularity.artifact import DESCRIPTION

    config = parse_popularity_config(None)
    folder = root / "models" / config.name
    stamp = _stamp(root, {"popularity": config.model_dump(mode="json")}, labels=False)  # it learns from engagement
    try:
        saved_at = json.loads((folder / DESCRIPTION).read_text()).get("saved_at")
    except (OSError, ValueError):
        saved_at = None
    if saved_at and _state(root).get(config.name) == {"inputs": stamp, "saved_at": saved_at}:
        return StageResult("popularity", 0, True, f"{config.name}: reused (data unchanged since {saved_at})")
    report = run_popularity_fit(config, workspace=root)
    saved_at = json.loads((folder / DESCRIPTION).read_text()).get("saved_at")
    _remember(root, config.name, {"inputs": stamp, "saved_at": saved_at})
    learned: dict[str, Any] = next(iter((report.get("publish_time") or {}).values()), {})
    return StageResult(
        "popularity", 0, False, f"{config.name}: fitted; test Spearman {learned.get('spearman', 0):.3f}", report
    )


def _trends(root: Path) -> StageResult:
    from postlens.pipeline.trends import run_trends

    def folded() -> int:
        with Workspace(root, read_only=True) as ws:
            row = ws.db.execute("SELECT count(*) FROM trend_bins").fetchone()
            return int(row[0]) if row else 0

    before = folded()
    report = run_trends(workspace=root, since=DEMO_TRENDS_SINCE, bin=DEMO_TRENDS_BIN)
    new = folded() - before
    return StageResult(
        "trends",
        0,
        new == 0,
        f"{new:,} new complete bins folded; {len(report.alerts)} alerts in the last {DEMO_TRENDS_SINCE}",
        report,
    )


def _evaluate(root: Path) -> StageResult:
    from postlens.pipeline.evaluate import run_evaluate

    report = run_evaluate(root)
    return StageResult("evaluate", 0, False, f"report {report.html}", report)


# ---------------------------------------------------------------- reuse


def _stamp(root: Path, settings: dict[str, Any], *, labels: bool = True) -> str:
    """A digest of ``settings``, this postlens's version and everything a model reads from the workspace:
    posts (content, times, followers and, unless ``labels`` is False, labels), engagement snapshots, media,
    text fields, feature files."""
    from postlens import __version__

    digest = hashlib.sha256(
        json.dumps({"settings": settings, "postlens": __version__}, sort_keys=True, default=str).encode()
    )
    with Workspace(root, read_only=True) as ws:
        label_column = "labels" if labels else "NULL"
        for sql in (
            (
                f"SELECT count(*), bit_xor(hash(id, content_hash, {label_column}, created_at, author_followers, "
                "media_kinds, language)) FROM posts"
            ),
            "SELECT count(*), bit_xor(hash(e)) FROM engagement e",
            "SELECT count(*), bit_xor(hash(post_id, position, status, sha256)) FROM media",
            "SELECT count(*), bit_xor(hash(post_id, field, key)) FROM text_fields",
        ):
            digest.update(repr(ws.db.execute(sql).fetchone()).encode())
        features = ws.features_dir
    if features.is_dir():
        for path in sorted(features.rglob("*")):
            if path.is_file():
                digest.update(f"{path.relative_to(features)}:{path.stat().st_size}\n".encode())
    return digest.hexdigest()


def _state(root: Path) -> dict[str, Any]:
    try:
        value = json.loads((root / STATE_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _remember(root: Path, name: str, entry: dict[str, Any]) -> None:
    state = {**_state(root), name: entry}
    partial = root / f".{STATE_FILE}.partial"
    partial.write_text(json.dumps(state, indent=1))
    partial.replace(root / STATE_FILE)
