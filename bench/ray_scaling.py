"""Featurization in-process vs on Ray with 1 and 2 workers, measured in one run on the same corpus.

    .venv/bin/python bench/ray_scaling.py [--posts 2000] [--encoders efficientnet,ocr] [--quick]

Goal (issue 9/9): 2 Ray workers >= 1.7x one worker on featurization-heavy work. The corpus is the
sample corpus (``postlens demo-data``): its photos, GIF frames and captions go through EfficientNet and
OCR, the heaviest image encoders. It is imported once; each engine featurizes its own copy with an
empty feature cache. One local Ray serves both Ray runs (started before the clock: 2-3 s). Two rates per
run: wall (items / seconds of the whole ``featurize``, including starting each encoder's actor pool and
loading its models, as a user pays it) and steady (items per second between each encoder's first and
last returned batch: the models at work). The goal is judged on the steady rate; both are printed.
Every actor is single-threaded (torch, ONNX Runtime, BLAS), so N workers use N cores. The local run
is ``featurize``'s default (OCR in its worker process beside the in-process encoders).

The machine may be shared: the load average is printed before and after, and each run's "idle CPU" (the
machine's idle share while it ran, from /proc/stat). Two workers can only beat one when a second core
is free: with the idle share near 0 during the one-worker run, other work held the core it would use.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from postlens.demo import generate_corpus
from postlens.engine import RayEngine
from postlens.machine import available_cores
from postlens.pipeline.featurize import FeaturizeSummary, featurize
from postlens.pipeline.ingest import run_ingest

GOAL_SPEEDUP = 1.7
ENCODERS = ("efficientnet", "ocr")
POSTS, QUICK_POSTS = 2000, 120
BATCH = 8
"""Media per model call (OCR: a quarter of it): small batches give the steady rate many points."""


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def cpu_ticks() -> tuple[int, int]:
    """(idle, total) jiffies of the whole machine so far (Linux ``/proc/stat``; zeros elsewhere)."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    return fields[3] + (fields[4] if len(fields) > 4 else 0), sum(fields)


def build_corpus(workdir: Path, posts: int) -> Path:
    """The sample corpus imported once into ``workdir/base`` (features are computed per engine, on copies)."""
    corpus = workdir / "corpus"
    generate_corpus(corpus, seed=0, n_posts=posts)
    base = workdir / "base"
    run_ingest([corpus / "posts.jsonl"], importer_name="postlens", media_root=corpus, workspace=base)
    return base


def timed(base: Path, label: str, encoders: list[str], engine: RayEngine | None, batch_size: int) -> dict[str, Any]:
    """Wall time of one featurize, and its steady rate: items per second between each encoder's first and
    last returned batch (what the models do once loaded; the wall time adds starting pools and loading)."""
    workspace = base.parent / label
    shutil.copytree(base, workspace)
    steps: list[tuple[float, str, int]] = []
    idle_before, total_before = cpu_ticks()
    cpu_before = time.process_time()
    started = time.perf_counter()
    summary: FeaturizeSummary = featurize(
        workspace,
        encoders=encoders,
        engine=engine,
        batch_size=batch_size,
        progress=lambda name, done, _: steps.append((time.perf_counter(), name, done)),
    )
    seconds = time.perf_counter() - started
    idle_after, total_after = cpu_ticks()
    driver_cpu = time.process_time() - cpu_before
    shutil.rmtree(workspace, ignore_errors=True)
    items = sum(run.computed for run in summary.runs)
    steady_items, steady_seconds = 0, 0.0
    for name in encoders:
        done = [(t, n) for t, e, n in steps if e == name and n > 0]
        if len(done) >= 2:
            steady_items += done[-1][1] - done[0][1]
            steady_seconds += done[-1][0] - done[0][0]
    return {
        "label": label,
        "items": items,
        "seconds": seconds,
        "rate": items / seconds,
        "steady": steady_items / steady_seconds if steady_seconds else float("nan"),
        "encoders": {run.encoder: round(run.seconds, 1) for run in summary.runs},
        # the machine's idle share during the run: near 0, other work took every core a second worker could use
        "idle": (idle_after - idle_before) / max(1, total_after - total_before),
        "driver_cpu": driver_cpu,  # this process's CPU seconds: the encoders themselves when local
    }


def measure(posts: int, encoders: list[str], workdir: Path, batch_size: int = BATCH) -> dict[str, Any]:
    """Local, Ray 1 worker and Ray 2 workers on copies of one imported corpus; the rows and the speedup."""
    base = build_corpus(workdir, posts)
    loads = [load_average()]
    one, two = RayEngine(workers=1), RayEngine(workers=2)
    started = time.perf_counter()
    one.start()  # starts the local Ray both engines use; ``one.close()`` shuts it down
    ray_start = time.perf_counter() - started
    try:
        runs = [
            timed(base, "local", encoders, None, batch_size),
            timed(base, "ray-1-worker", encoders, one, batch_size),
            timed(base, "ray-2-workers", encoders, two, batch_size),
        ]
        cpus = (one.actor_cpus(), two.actor_cpus())
    finally:
        one.close()
    loads.append(load_average())
    return {
        "runs": runs,
        "speedup": runs[2]["steady"] / runs[1]["steady"],
        "wall_speedup": runs[2]["rate"] / runs[1]["rate"],
        "ray_start": ray_start,
        "loads": loads,
        "actor_cpus": cpus,
    }


def print_figures(result: dict[str, Any], posts: int, encoders: list[str]) -> None:
    print(f"sample corpus: {posts} posts; encoders {', '.join(encoders)}; cores {available_cores()}")
    print(f"local Ray started in {result['ray_start']:.1f} s (not in the figures); actor CPUs {result['actor_cpus']}")
    print(
        f"{'engine':<16}{'items':>7}{'wall s':>9}{'items/s wall':>14}{'items/s steady':>16}{'idle CPU':>10}"
        f"{'driver CPU s':>14}  per encoder (s)"
    )
    for run in result["runs"]:
        print(
            f"{run['label']:<16}{run['items']:>7}{run['seconds']:>9.1f}{run['rate']:>14.2f}{run['steady']:>16.2f}"
            f"{run['idle']:>10.0%}{run['driver_cpu']:>14.1f}  {run['encoders']}"
        )
    met = "met" if result["speedup"] >= GOAL_SPEEDUP else "NOT met"
    print(
        f"speedup 2 Ray workers / 1 Ray worker: steady {result['speedup']:.2f}x (goal >= {GOAL_SPEEDUP}x: {met}); "
        f"wall, with pool start-up and model loading: {result['wall_speedup']:.2f}x"
    )
    print(f"load average (1, 5, 15 min) before: {result['loads'][0]}; after: {result['loads'][1]}")


def suite_rows(quick: bool = False) -> list[dict[str, object]]:
    """The figures as rows for ``python -m bench`` (area, metric, value, unit, goal, met)."""
    posts = QUICK_POSTS if quick else POSTS
    with tempfile.TemporaryDirectory(prefix="postlens-bench-ray-") as tmp:
        result = measure(posts, list(ENCODERS), Path(tmp))

    def row(metric: str, value: float, unit: str, goal: str = "", met: bool | None = None) -> dict[str, object]:
        return {"area": "ray", "metric": metric, "value": round(value, 2), "unit": unit, "goal": goal, "met": met}

    corpus = f"{posts} posts, {'+'.join(ENCODERS)}"
    rows = [row(f"featurize {run['label']} ({corpus})", run["rate"], "items/s") for run in result["runs"]]
    rows += [
        row(
            "featurize speedup, 2 vs 1 Ray workers (steady)",
            result["speedup"],
            "x",
            f">= {GOAL_SPEEDUP}x",
            result["speedup"] >= GOAL_SPEEDUP,
        ),
        row("featurize speedup, 2 vs 1 Ray workers (wall, with pool start-up)", result["wall_speedup"], "x"),
        row(
            "machine idle CPU during the Ray runs (lowest of the two)",
            100 * min(run["idle"] for run in result["runs"][1:]),
            "%",
        ),
    ]
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=None, help=f"sample corpus size (default {POSTS})")
    parser.add_argument("--encoders", default=",".join(ENCODERS))
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_POSTS} posts")
    parser.add_argument("--batch-size", type=int, default=BATCH)
    parser.add_argument("--workdir", type=Path, default=None, help="keep the corpus here (default: a temp folder)")
    args = parser.parse_args(argv)
    posts = args.posts or (QUICK_POSTS if args.quick else POSTS)
    encoders = [e.strip() for e in args.encoders.split(",") if e.strip()]
    if args.workdir is not None:
        shutil.rmtree(args.workdir, ignore_errors=True)
        args.workdir.mkdir(parents=True)
        print_figures(measure(posts, encoders, args.workdir, args.batch_size), posts, encoders)
        return
    with tempfile.TemporaryDirectory(prefix="postlens-bench-ray-") as tmp:
        print_figures(measure(posts, encoders, Path(tmp), args.batch_size), posts, encoders)


if __name__ == "__main__":
    sys.exit(main())
