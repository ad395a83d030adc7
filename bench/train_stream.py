"""Peak memory of ``postlens train`` with the streamed linear model (``model: {kind: sgd}``) against
in-memory logreg, at several corpus sizes. Goal: the streamed run's memory stays flat as the corpus grows.

    .venv/bin/python bench/train_stream.py [--posts 20000,80000] [--dim 384] [--batch 4096] [--keep DIR]

Builds one real workspace per size (DuckDB posts with a 3-class label, synthetic text vectors written
to the feature cache in parts of 5,000 rows, as featurize writes them), then runs ``run_train`` in a
child process per (size, kind) and prints its peak RSS (``run_measured``: wait4 rusage and the
sampled tree peak), seconds and held-out macro-F1. Both kinds see the same split and features.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from bench._rows import row
from bench.featurize_memory import run_measured
from bench.scaling import slope

PART_ROWS = 5000
AREA = "train_stream"


def build_workspace(root: Path, n: int, dim: int, seed: int = 0) -> str:
    """``n`` text posts with label ``topic`` (3 classes) and ``dim``-wide cached text vectors; the cache key."""
    from postlens.encoders.base import Features
    from postlens.encoders.identity import text_key
    from postlens.store.features import FeatureCache
    from postlens.store.workspace import Workspace

    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(99).normal(size=(3, dim)) * 0.08  # overlapping classes: F1 well below 1
    y = rng.integers(0, 3, n)
    texts = [f"synthetic post {i} of the streaming bench" for i in range(n)]
    start, now = datetime(2024, 1, 1, tzinfo=UTC), datetime.now(UTC)
    ws = Workspace(root)
    table = pa.table(
        {
            "id": [f"b:{i:07d}" for i in range(n)],
            "native_id": [str(i) for i in range(n)],
            "created_at": [start + timedelta(minutes=i) for i in range(n)],
            "text": texts,
            "author_id": [f"a{i % 500}" for i in range(n)],
            "label": [["red", "green", "blue"][c] for c in y],
        }
    )
    ws.db.register("bench_posts", table)
    ws.db.execute(
        "INSERT INTO posts (id, source, native_id, platform, created_at, text, author_id, author_followers, hashtags, "
        "labels, media_kinds, content_hash, run_id, first_seen, updated_at) "
        "SELECT id, 'bench', native_id, 'x', created_at, text, author_id, 100, [], MAP(['topic'], [label]), [], 'h', "
        "'r', ?, ? FROM bench_posts",
        [now, now],
    )
    ws.db.unregister("bench_posts")
    key = "text-bench@1"
    cache = FeatureCache(ws.features_dir)
    for begin in range(0, n, PART_ROWS):
        rows = range(begin, min(n, begin + PART_ROWS))
        vectors = centres[y[begin : rows.stop]] + rng.normal(size=(len(rows), dim))
        cache.write(key, [text_key(texts[i]) for i in rows], [Features(vector=v.astype(np.float32)) for v in vectors])
    ws.close()
    return key


def child(workspace: Path, key: str, kind: str, batch: int, out: Path) -> None:
    """One training run (the measured process); writes its report's figures to ``out``."""
    from postlens.models.config import parse_config
    from postlens.pipeline.train import run_train

    model = {"kind": kind, "tune": False} if kind == "logreg" else {"kind": kind, "stream_batch_size": batch}
    config = parse_config(
        {
            "features": {"modalities": {"text": key}, "metadata": True},
            "target": "topic",
            "split": {"strategy": "stratified"},
            "model": model,
            "num_threads": 1,
            "output": str(out.parent / f"model-{kind}"),
        }
    )
    report = run_train(config, workspace=workspace)
    out.write_text(json.dumps({"macro_f1": report["test"]["macro_f1"], "train_seconds": report["train_seconds"]}))


SIZES_FULL, SIZES_QUICK = (20_000, 80_000), (5_000, 20_000)
SLOPE_GOAL, MEMORY_GOAL = 1.1, 1.25
"""sgd between the sizes: time grows about linearly, peak memory barely (one cache pass per fit, batches from disk)."""


def stream_figures(
    sizes: Sequence[int],
    *,
    dim: int,
    batch: int,
    kinds: Sequence[str],
    base: Path,
    log: Callable[[str], None] = print,
    keep: bool = False,
) -> dict[str, dict[int, dict[str, float]]]:
    """kind -> size -> peak RSS / tree MB, wall and fit seconds and macro-F1 of one measured ``run_train``."""
    figures: dict[str, dict[int, dict[str, float]]] = {kind: {} for kind in kinds}
    log(f"{'posts':>8} {'kind':>7} {'peak RSS MB':>12} {'tree MB':>8} {'seconds':>8} {'train s':>8} {'macro-F1':>9}")
    for n in sizes:
        root = base / f"ws-{n}"
        key = build_workspace(root, n, dim)
        for kind in kinds:
            out = base / f"out-{n}-{kind}.json"
            command = [sys.executable, "-m", "bench.train_stream", "--batch", str(batch)]
            code, peak, tree, seconds = run_measured([*command, "--child", str(root), key, kind, str(out)])
            result = (
                json.loads(out.read_text()) if code == 0 else {"macro_f1": float("nan"), "train_seconds": float("nan")}
            )
            f = {
                "peak_rss_mb": peak / 2**20,
                "tree_mb": tree / 2**20,
                "seconds": seconds,
                "train_seconds": result["train_seconds"],
                "macro_f1": result["macro_f1"],
            }
            figures[kind][n] = f
            log(
                f"{n:>8} {kind:>7} {f['peak_rss_mb']:>12.0f} {f['tree_mb']:>8.0f} {seconds:>8.1f} "
                f"{f['train_seconds']:>8.1f} {f['macro_f1']:>9.3f}"
            )
        if not keep:
            shutil.rmtree(root, ignore_errors=True)
    return figures


def stream_rows(figures: dict[str, dict[int, dict[str, float]]]) -> list[dict[str, Any]]:
    """The suite's rows: per kind and size, time, peak RSS and F1; for sgd, time slope and memory growth."""
    rows: list[dict[str, Any]] = []
    for kind, by_size in figures.items():
        sizes = sorted(by_size)
        for n in sizes:
            f = by_size[n]
            rows.append(row(AREA, f"{kind} {n:,} posts: run_train wall time", f["seconds"], "s"))
            rows.append(row(AREA, f"{kind} {n:,} posts: fit time (report train_seconds)", f["train_seconds"], "s"))
            rows.append(row(AREA, f"{kind} {n:,} posts: peak RSS", f["peak_rss_mb"], "MB"))
            rows.append(row(AREA, f"{kind} {n:,} posts: test macro-F1", f["macro_f1"]))
        if len(sizes) < 2:
            continue
        judged = kind == "sgd"
        time_slope = slope(list(sizes), [by_size[n]["train_seconds"] for n in sizes])  # no start-up cost in it
        ratio = by_size[sizes[-1]]["peak_rss_mb"] / by_size[sizes[0]]["peak_rss_mb"]
        rows.append(
            row(
                AREA,
                f"{kind}: fit time slope (log-log, {len(sizes)} sizes)",
                time_slope,
                "",
                f"<= {SLOPE_GOAL}" if judged else "",
                time_slope <= SLOPE_GOAL if judged else None,
            )
        )
        rows.append(
            row(
                AREA,
                f"{kind}: peak RSS {sizes[-1]:,} / {sizes[0]:,} posts",
                ratio,
                "x",
                f"<= {MEMORY_GOAL}" if judged else "",
                ratio <= MEMORY_GOAL if judged else None,
            )
        )
    return rows


def suite_rows(quick: bool = False) -> list[dict[str, Any]]:
    """sgd (and, in the full run, logreg for comparison) at two corpus sizes."""
    kinds = ("sgd",) if quick else ("sgd", "logreg")
    with tempfile.TemporaryDirectory(prefix="postlens-trainstream-") as tmp:
        figures = stream_figures(
            SIZES_QUICK if quick else SIZES_FULL, dim=384, batch=4096, kinds=kinds, base=Path(tmp), log=_stderr
        )
    return stream_rows(figures)


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", default="20000,80000", help="comma-separated corpus sizes")
    parser.add_argument("--dim", type=int, default=384, help="vector width (MiniLM: 384)")
    parser.add_argument("--batch", type=int, default=4096, help="model.stream_batch_size of the sgd runs")
    parser.add_argument("--kinds", default="sgd,logreg")
    parser.add_argument("--keep", type=Path, default=None, help="build the workspaces here and keep them")
    parser.add_argument("--child", nargs=4, metavar=("WORKSPACE", "KEY", "KIND", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        workspace, key, kind, out = args.child
        child(Path(workspace), key, kind, args.batch, Path(out))
        return
    with tempfile.TemporaryDirectory(prefix="postlens-trainstream-") as tmp:
        sizes = [int(v) for v in args.posts.split(",")]
        kinds = args.kinds.split(",")
        figures = stream_figures(
            sizes, dim=args.dim, batch=args.batch, kinds=kinds, base=args.keep or Path(tmp), keep=args.keep is not None
        )
        for r in stream_rows(figures):
            if r["goal"]:
                print(f"{r['metric']}: {r['value']:.2f} (goal {r['goal']}: {'met' if r['met'] else 'NOT met'})")


if __name__ == "__main__":
    main()
