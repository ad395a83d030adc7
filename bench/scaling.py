"""How cost grows with corpus size: ingest, featurize, segments fit + assign, and search at 3 sizes.

    PYTHONPATH=src python -m bench.scaling [--sizes 2000,8000,32000] [--quick] [--keep DIR]

Synthetic text posts (the sample corpus' text generator, postlens.demo.texts: topical sentences,
sentiment phrases, mentions, URLs, emoji, hashtags; no media) are imported into a fresh workspace
per size. Each stage runs in a child process (``bench/scaling.py --child STAGE``) so that its
peak RSS is its own: ``wait4`` rusage of the child (the largest of it and any worker it waited
for) and the whole process tree's summed RSS, sampled every 50 ms (bench/featurize_memory.py).
Seconds are the stage's own wall time measured inside the child (imports and model loading are
not counted; the child's peak RSS includes them).

Stages: ``ingest`` (run_ingest of the JSONL); ``featurize`` (MiniLM, the default text encoder
runtime: ONNX int8); ``segments`` (fit_segments: the default clustering of every post);
``assign`` (100 new posts imported, then assign_segments, which featurizes them: the cost of
placing new posts into an existing segmentation); ``search`` (an Agent over the workspace, load
time, then 20 text queries: p50 latency per query).

The slope is the least-squares fit of log(seconds) on log(posts) over the sizes: 1.0 is linear.
Memory growth is peak RSS at the largest size / at the smallest. Goals (issue 9/9): featurize and
search grow no worse than linearly (slope <= 1.1, a margin for noise on a shared machine);
featurize's peak memory flat in corpus size (ratio <= 1.25).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

SIZES_FULL = (2_000, 8_000, 32_000)
SIZES_QUICK = (500, 1_000, 2_000)
STAGES = ("ingest", "featurize", "segments", "assign", "search")
NEW_POSTS = 100
QUERIES = (
    "the match last night was amazing",
    "storm warning for the coast tonight",
    "new phone launch with a great battery",
    "slow cooked recipe for dinner",
    "the band played a live concert",
    "election results and the vote count",
    "traffic jam on the way to work",
    "what a beautiful sunset at the beach",
    "the team signed a new player",
    "rain and flooding in the city",
)
SLOPE_GOAL = 1.1
MEMORY_GOAL = 1.25


def synthetic_posts(path: Path, n: int, *, seed: int = 0, start: int = 0) -> Path:
    """``n`` postlens-JSONL text posts (ids ``s<start>``..), one a minute from 2026-01-01, round-robin topics."""
    from postlens.demo.texts import compose_text, post_rng
    from postlens.demo.topics import TOPICS

    sentiments = ("positive", "negative", "neutral")
    handles = [f"user{i}" for i in range(50)]
    origin = datetime(2026, 1, 1, tzinfo=UTC)
    with path.open("w", encoding="utf-8") as out:
        for i in range(start, start + n):
            rng = post_rng(seed, 0, i)
            topic = TOPICS[i % len(TOPICS)]
            text, _ = compose_text(
                rng, topic, sentiments[(i // len(TOPICS)) % 3], other_handles=handles, in_burst=i % 50 == 0
            )
            post = {
                "source": "bench",
                "platform": "bench",
                "native_id": f"s{i}",
                "text": text,
                "created_at": (origin + timedelta(minutes=i)).isoformat(),
            }
            out.write(json.dumps(post, ensure_ascii=False) + "\n")
    return path


# ---------------------------------------------------------------- child: one stage in its own process


def run_stage(stage: str, workspace: Path, data: Path) -> dict[str, Any]:
    """Run one stage on ``workspace`` and return its own timings (called in the child process)."""
    from postlens.pipeline.featurize import featurize
    from postlens.pipeline.ingest import run_ingest
    from postlens.pipeline.segments import assign_segments, fit_segments

    started = time.perf_counter()
    if stage == "ingest":
        run_ingest([data], importer_name="postlens", workspace=workspace)
    elif stage == "featurize":
        featurize(workspace, encoders=["minilm"])
    elif stage == "segments":
        fit_segments(workspace)
    elif stage == "assign":
        extra = synthetic_posts(data.parent / "new.jsonl", NEW_POSTS, seed=1, start=10_000_000)
        run_ingest([extra], importer_name="postlens", workspace=workspace)
        started = time.perf_counter()  # the import of 100 posts is not what this stage measures
        assign_segments(workspace)
    elif stage == "search":
        from postlens.agent import Agent

        with Agent(workspace, models=[], popularity=False) as agent:
            agent.search(QUERIES[0], k=10)  # loads the index and the text encoder
            loaded = time.perf_counter() - started
            latencies = []
            for query in QUERIES * 2:
                clock = time.perf_counter()
                agent.search(query, k=10)
                latencies.append(time.perf_counter() - clock)
        return {"seconds": statistics.median(latencies), "load_seconds": loaded}
    else:
        raise SystemExit(f"unknown stage {stage!r}; stages: {', '.join(STAGES)}")
    return {"seconds": time.perf_counter() - started}


# ---------------------------------------------------------------- parent: sizes, children, slopes


def measure(stage: str, workspace: Path, data: Path) -> dict[str, Any]:
    """One stage in a child process: its own timings plus the child's peak RSS."""
    from featurize_memory import run_measured

    result = workspace.parent / f"{stage}.json"
    command = [sys.executable, __file__, "--child", stage, str(workspace), str(data), str(result)]
    code, peak, tree_peak, wall = run_measured(command)
    if code != 0:
        raise RuntimeError(f"stage {stage} on {workspace} failed with exit code {code}")
    figures = json.loads(result.read_text())
    return {**figures, "peak_rss_mb": peak / 2**20, "tree_peak_mb": tree_peak / 2**20, "child_wall": wall}


def slope(sizes: list[int], seconds: list[float]) -> float:
    """Least-squares slope of log(seconds) on log(size): 1.0 is linear growth."""
    xs = [math.log(s) for s in sizes]
    ys = [math.log(max(t, 1e-9)) for t in seconds]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


def scaling_figures(
    sizes: tuple[int, ...], *, keep: Path | None = None, log=print
) -> dict[str, dict[int, dict[str, Any]]]:
    """stage -> size -> figures, each size in a fresh workspace under ``keep`` (or a temporary folder)."""
    scratch = keep or Path(tempfile.mkdtemp(prefix="postlens-bench-scaling-"))
    figures: dict[str, dict[int, dict[str, Any]]] = {stage: {} for stage in STAGES}
    try:
        for n in sizes:
            root = scratch / f"n{n}"
            shutil.rmtree(root, ignore_errors=True)
            root.mkdir(parents=True)
            data = synthetic_posts(root / "posts.jsonl", n)
            for stage in STAGES:
                figures[stage][n] = measure(stage, root / "ws", data)
                f = figures[stage][n]
                log(f"  {n:>9,} posts  {stage:<10} {f['seconds']:9.2f} s  peak RSS {f['peak_rss_mb']:7,.0f} MB")
    finally:
        if keep is None:
            shutil.rmtree(scratch, ignore_errors=True)
    return figures


def scaling_rows(figures: dict[str, dict[int, dict[str, Any]]]) -> list[dict[str, Any]]:
    """The suite's rows: time and peak memory per stage and size, then slope and memory growth per stage."""
    rows: list[dict[str, Any]] = []
    for stage, by_size in figures.items():
        sizes = sorted(by_size)
        what = "per query (p50)" if stage == "search" else "wall"
        for n in sizes:
            f = by_size[n]
            rows.append(_row(f"{stage} {n:,} posts: time {what}", f["seconds"], "s"))
            if stage == "search":
                rows.append(_row(f"search {n:,} posts: agent load + first query", f["load_seconds"], "s"))
            rows.append(_row(f"{stage} {n:,} posts: peak RSS", f["peak_rss_mb"], "MB"))
        if len(sizes) < 2:
            continue
        time_slope = slope(sizes, [by_size[n]["seconds"] for n in sizes])
        memory_ratio = by_size[sizes[-1]]["peak_rss_mb"] / by_size[sizes[0]]["peak_rss_mb"]
        time_goal = f"<= {SLOPE_GOAL}" if stage in ("featurize", "search") else ""
        rows.append(
            _row(
                f"{stage}: time slope (log-log, {len(sizes)} sizes)",
                time_slope,
                "",
                time_goal,
                time_slope <= SLOPE_GOAL,
            )
        )
        memory_goal = f"<= {MEMORY_GOAL}" if stage == "featurize" else ""
        rows.append(
            _row(
                f"{stage}: peak RSS {sizes[-1]:,} / {sizes[0]:,} posts",
                memory_ratio,
                "x",
                memory_goal,
                memory_ratio <= MEMORY_GOAL,
            )
        )
    return rows


def _row(metric: str, value: float, unit: str, goal: str = "", met: bool | None = None) -> dict[str, Any]:
    from _rows import row

    return row("scaling", metric, value, unit, goal, met if goal else None)


def suite_rows(quick: bool = False) -> list[dict[str, Any]]:
    return scaling_rows(scaling_figures(SIZES_QUICK if quick else SIZES_FULL, log=_stderr))


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def print_table(figures: dict[str, dict[int, dict[str, Any]]]) -> None:
    sizes = sorted({n for by_size in figures.values() for n in by_size})
    head = "".join(f"{f'{n:,} s':>12}{f'{n:,} MB':>12}" for n in sizes)
    print(f"\n{'stage':<12}{head}{'slope':>8}{'memory':>8}")
    for stage, by_size in figures.items():
        cells = "".join(f"{by_size[n]['seconds']:>12.3f}{by_size[n]['peak_rss_mb']:>12,.0f}" for n in sizes)
        growth = by_size[sizes[-1]]["peak_rss_mb"] / by_size[sizes[0]]["peak_rss_mb"]
        print(f"{stage:<12}{cells}{slope(sizes, [by_size[n]['seconds'] for n in sizes]):>8.2f}{growth:>7.2f}x")
    print(
        "  search: seconds per query (p50 of 20); its agent load: "
        + ", ".join(f"{n:,} {figures['search'][n]['load_seconds']:.1f} s" for n in sizes)
    )
    print(f"  load average {os.getloadavg()[0]:.1f} on {len(os.sched_getaffinity(0))} cores")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        stage, workspace, data, result = sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]), Path(sys.argv[5])
        Path(result).write_text(json.dumps(run_stage(stage, workspace, data)))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default=",".join(map(str, SIZES_FULL)), help="comma-separated post counts")
    parser.add_argument("--quick", action="store_true", help=f"sizes {SIZES_QUICK}")
    parser.add_argument("--keep", type=Path, default=None, help="build the workspaces here and keep them")
    args = parser.parse_args()
    sizes = SIZES_QUICK if args.quick else tuple(int(s) for s in args.sizes.split(","))
    print(f"sizes {sizes}; load average {os.getloadavg()[0]:.1f} on {len(os.sched_getaffinity(0))} cores", flush=True)
    print_table(scaling_figures(sizes, keep=args.keep))


if __name__ == "__main__":
    main()
