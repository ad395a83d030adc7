"""postlens dedupe on the real datasets, and what the duplicate-aware split changes for MediaEval.

    PYTHONPATH=src .venv/bin/python bench/dedupe.py --mediaeval-ws /tmp/h-dedupe-me --pheme-ws /tmp/h-dedupe-pheme
    (--combined-ws DIR also imports PHEME into a copy of the MediaEval workspace and dedupes both together;
     --fusion adds late fusion, the default fusion model, to the logistic regression; --skip-train)

The workspaces are WRITTEN (the duplicate_clusters table): pass copies, never a workspace you keep.
MediaEval must be featurized (minilm, efficientnet). Part 1 prints the dedupe report of each
workspace. Part 2 cross-validates MediaEval fake/real on text+image with the same code as
``postlens train --cv`` (``models.crossval.cross_validate``) over four kinds of 5 folds, printing
held-out macro-F1 and the share of held-out posts that have a copy (a member of their duplicate
cluster) on the training side: step 4's event-disjoint folds (``stratified_group_folds`` over
events), duplicate-aware folds (events joined by dedupe's clusters: ``split.strategy:
duplicates``), stratified folds that ignore both, and folds over clusters alone.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np
from rich.console import Console

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from postlens.evaluation.folds import Fold, make_folds
from postlens.evaluation.group_folds import stratified_group_folds
from postlens.evaluation.splits import duplicate_groups
from postlens.models.config import parse_config
from postlens.models.crossval import cross_validate
from postlens.models.data import TrainingSet, assemble
from postlens.pipeline.dedupe import run_dedupe
from postlens.serve.render_dedupe import print_dedupe_report
from postlens.store.workspace import Workspace

DATASETS = Path(os.environ.get("POSTLENS_SHARED_DATASETS", Path(__file__).resolve().parents[2] / "shared" / "datasets"))
SPLITS = (
    ("event-disjoint (group: event)", {"strategy": "group", "group_label": "event"}),
    ("duplicate-aware (duplicates: event + clusters)", {"strategy": "duplicates", "group_label": "event"}),
    ("stratified random", {"strategy": "stratified"}),
    ("clusters only (duplicates, no event)", {"strategy": "duplicates", "group_label": "no-such-label"}),
)


def report(console: Console, name: str, path: Path) -> bool:
    if not (path / "postlens.duckdb").exists():
        print(f"{name}: workspace {path} absent, skipped")
        return False
    print(f"\n=== {name}: postlens dedupe --report ({path})")
    result = run_dedupe(path, progress=lambda message: print(f"  [{message}]", flush=True))
    print_dedupe_report(console, result, full=True)
    return True


def combined(console: Console, mediaeval: Path, target: Path) -> None:
    """PHEME imported into a copy of the MediaEval workspace: links between the two datasets."""
    from postlens.pipeline.ingest import run_ingest

    pheme = DATASETS / "pheme"
    if not pheme.exists() or not (mediaeval / "postlens.duckdb").exists():
        print("combined: PHEME data or the MediaEval workspace is absent, skipped")
        return
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(mediaeval, target)
    started = time.perf_counter()
    summary = run_ingest([pheme], importer_name="pheme", workspace=target)
    print(
        f"\n=== combined: PHEME imported into a MediaEval copy: {summary.posts_written:,} posts in {time.perf_counter() - started:.0f} s"
    )
    report(console, "MediaEval + PHEME", target)
    with Workspace(target, read_only=True) as ws:
        both = ws.db.execute(
            "SELECT count(*) FROM (SELECT d.cluster_id FROM duplicate_clusters d JOIN posts p ON p.id = d.post_id "
            "GROUP BY d.cluster_id HAVING bool_or(p.labels['rumour'] IS NOT NULL) AND bool_or(p.labels['rumour'] IS NULL))"
        ).fetchall()[0][0]
    print(f"  clusters holding posts of both datasets (PHEME posts carry the rumour label): {both}")


def leak_share(clusters: np.ndarray, train: np.ndarray, test: np.ndarray) -> float:
    """Share of held-out posts whose duplicate cluster also has a post on the training side."""
    in_train = {str(c) for c in clusters[train] if c}
    return float(np.mean([bool(c) and str(c) in in_train for c in clusters[test]])) if len(test) else 0.0


def protocols(data: TrainingSet, k: int) -> list[tuple[str, list[Fold]]]:
    """The folds of each protocol; grouped ones by ``stratified_group_folds`` (step 4's event-disjoint folds)."""
    events, clusters = data.groups["group"], data.groups["clusters"]
    rows = np.arange(len(data.y))

    def grouped(groups: np.ndarray) -> list[Fold]:
        held = stratified_group_folds(groups, k, y=data.y, seed=0)
        return [Fold(np.setdiff1d(rows, h), np.array([], int), h) for h in held]

    return [
        ("event-disjoint (step 4: events)", grouped(events)),
        ("duplicate-aware (events + dedupe clusters)", grouped(duplicate_groups(events, clusters))),
        ("stratified, not grouped (leaks)", make_folds("stratified", len(rows), k, y=data.y, val_size=0.0)),
        ("clusters only (no events)", grouped(duplicate_groups(None, clusters))),
    ]


def mediaeval_splits(path: Path, folds: int, fusion: bool) -> None:
    base = {
        "target": "label",
        "features": {"modalities": {"text": "minilm", "image": "efficientnet"}, "metadata": False},
        "split": {"strategy": "duplicates", "group_label": "event"},
        "num_threads": 1,
        "seed": 0,
    }
    with Workspace(path, read_only=True) as ws:
        data = assemble(ws, parse_config(base))
    clusters, events = data.groups["clusters"], data.groups["group"]
    joined = duplicate_groups(events, clusters)
    spanning = sum(1 for c in set(clusters) if c and len(set(events[clusters == c])) > 1)
    print(
        f"\n=== MediaEval fake/real, text+image ({len(data.y):,} posts, features {data.feature_keys}; "
        f"{len(set(events))} events; {len({c for c in clusters if c}):,} duplicate clusters, {spanning} of them "
        f"span two or more events; events joined by clusters: {len(set(joined))} groups); {folds} folds"
    )
    models = [("logreg text+image", {"kind": "logreg"})]
    if fusion:
        models.append(("fusion text+image (late-mean, the default)", {"kind": "fusion"}))
    for label, model in models:
        config = parse_config({**base, "model": model})
        print(
            f" {label}: macro-F1 mean +- std over held-out folds; copy in train = held-out posts whose cluster has a training post"
        )
        for name, made in protocols(data, folds):
            started = time.perf_counter()
            result = cross_validate(config, data, made)
            scores = [f["metrics"]["macro_f1"] for f in result["folds"]]
            leak = np.mean([leak_share(clusters, f.train, f.test) for f in made])
            print(
                f"  {name:<44} macro-F1 {np.mean(scores):.3f} +- {np.std(scores):.3f} "
                f"({' '.join(f'{s:.3f}' for s in scores)}); copy in train {leak:.1%}; "
                f"{time.perf_counter() - started:.0f} s",
                flush=True,
            )


def scale(target: Path, n: int) -> None:
    """Time run_dedupe on ``n`` generated posts (10% near copies of others, 5% exact reposts, no media)."""
    from datetime import UTC, datetime, timedelta

    from postlens.store.ingest import IngestSession
    from postlens.types import Post

    if target.exists():
        shutil.rmtree(target)
    rng = np.random.default_rng(0)
    words = np.array([f"w{i}" for i in range(20_000)])
    start = datetime(2024, 1, 1, tzinfo=UTC)
    texts: list[str] = []
    started = time.perf_counter()
    with Workspace(target) as ws, IngestSession(ws, "scale", ["scale"]) as session:
        for first in range(0, n, 5_000):
            batch = []
            for i in range(first, min(n, first + 5_000)):
                roll = rng.random()
                if roll < 0.05 and texts:
                    text = texts[int(rng.integers(len(texts)))] + f" http://t.co/{i}"
                elif roll < 0.15 and texts:
                    parts = texts[int(rng.integers(len(texts)))].split()
                    parts[int(rng.integers(len(parts)))] = "edited"
                    text = " ".join(parts)
                else:
                    text = " ".join(rng.choice(words, int(rng.integers(8, 30))))
                texts.append(text)
                post = Post("scale", str(i), "generated", start + timedelta(seconds=i), text)
                post.origin_file = "scale"
                batch.append(post)
            session.commit(batch, "scale")
    print(f"\n=== scale: {n:,} generated posts written in {time.perf_counter() - started:.0f} s")
    result = run_dedupe(target)
    print(
        f"  postlens dedupe: {result.seconds:.1f} s; {result.clusters:,} clusters holding {result.posts_in_clusters:,} "
        f"posts; {result.text_pairs_compared:,} text pairs compared (all pairs: {n * (n - 1) // 2:,})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mediaeval-ws", type=Path, default=Path("/tmp/h-dedupe-me"))
    parser.add_argument("--pheme-ws", type=Path, default=Path("/tmp/h-dedupe-pheme"))
    parser.add_argument("--combined-ws", type=Path, default=None)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--fusion", action="store_true")
    parser.add_argument("--skip-train", action="store_true")
    parser.add_argument("--scale", type=int, default=0, help="also time dedupe on this many generated posts")
    parser.add_argument("--scale-ws", type=Path, default=Path("/tmp/h-dedupe-scale"))
    parser.add_argument("--skip-reports", action="store_true")
    args = parser.parse_args()
    console = Console(width=140)
    have_mediaeval = (args.mediaeval_ws / "postlens.duckdb").exists()
    if not args.skip_reports:
        have_mediaeval = report(console, "MediaEval 2016", args.mediaeval_ws)
        report(console, "PHEME", args.pheme_ws)
    if args.combined_ws is not None:
        combined(console, args.mediaeval_ws, args.combined_ws)
    if args.scale:
        scale(args.scale_ws, args.scale)
    if have_mediaeval and not args.skip_train:
        mediaeval_splits(args.mediaeval_ws, args.folds, args.fusion)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
