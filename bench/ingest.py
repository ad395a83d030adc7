"""Import speed of the real datasets: posts/second end to end (parse + media + DuckDB writes).

    .venv/bin/python bench/ingest.py [--datasets ../shared/datasets]

Each dataset is imported into a fresh temporary workspace (first run), then again (re-run: the
idempotent path, nothing new to write). Goal: >= 5,000 text posts/s on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from postlens.pipeline import build_importer
from postlens.store.ingest import ingest
from postlens.store.workspace import Workspace

DEFAULT = Path(
    os.environ.get("POSTLENS_SHARED_DATASETS", Path(__file__).resolve().parents[1].parent / "shared" / "datasets")
)
TEXT_ONLY = ("pheme", "youtube-trending")  # the goal is for text posts; MediaEval copies images too
GOAL = 5_000
CASES = [("pheme", "pheme"), ("mediaeval2016", "mediaeval2016"), ("youtube-trending", "youtube_trending_gb")]


def measure(datasets: Path, cases: list[tuple[str, str]] = CASES, log=print) -> list[dict[str, Any]]:
    """Per dataset: posts, quarantined, first-run and re-run seconds and posts/s (``log`` prints each line)."""
    log(
        f"{'recipe':<18}{'posts':>8}{'quarantined':>13}{'first run s':>13}{'posts/s':>10}{'re-run s':>10}{'posts/s':>10}"
    )
    figures = []
    for recipe, folder in cases:
        path = datasets / folder
        with tempfile.TemporaryDirectory() as tmp, Workspace(Path(tmp) / "ws") as ws:
            timings = []
            for _ in range(2):
                started = time.perf_counter()
                summary = ingest(ws, build_importer(recipe), [path])
                timings.append((time.perf_counter() - started, summary))
            (t1, s1), (t2, s2) = timings
            n = s1.posts_written
            log(
                f"{recipe:<18}{n:>8,}{s1.quarantined:>13,}{t1:>13.2f}{n / t1:>10,.0f}{t2:>10.2f}{s2.posts_written / t2:>10,.0f}"
            )
        figures.append({"recipe": recipe, "posts": n, "first_s": t1, "rerun_s": t2, "rerun_posts": s2.posts_written})
    return figures


def suite_rows(quick: bool = False) -> list[dict[str, Any]]:
    """The suite's rows: first-run posts/s per dataset (goal on the text-only ones), re-run posts/s."""
    from _rows import row, skipped

    if not DEFAULT.exists():
        return [skipped("ingest", "import posts/s", f"no datasets at {DEFAULT}")]
    cases = [c for c in CASES if c[0] != "mediaeval2016"] if quick else CASES
    rows = []
    for f in measure(DEFAULT, cases):
        rate = f["posts"] / f["first_s"]
        text_only = f["recipe"] in TEXT_ONLY
        goal = f">= {GOAL:,}" if text_only else ""
        kind = "text" if text_only else "text + images"
        rows.append(
            row(
                "ingest",
                f"{f['recipe']} ({f['posts']:,} {kind} posts), first run",
                rate,
                "posts/s",
                goal,
                rate >= GOAL if text_only else None,
            )
        )
        rows.append(row("ingest", f"{f['recipe']} re-run (nothing new)", f["rerun_posts"] / f["rerun_s"], "posts/s"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", type=Path, default=DEFAULT)
    args = parser.parse_args()
    if not args.datasets.exists():
        raise SystemExit(f"no datasets at {args.datasets}: nothing to measure")
    measure(args.datasets)


if __name__ == "__main__":
    main()
