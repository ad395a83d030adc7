"""Import speed of the real datasets: posts/second end to end (parse + media + DuckDB writes).

    .venv/bin/python bench/ingest.py [--datasets ../shared/datasets]

Each dataset is imported into a fresh temporary workspace (first run), then again (re-run: the
idempotent path, nothing new to write). Goal: >= 5,000 text posts/s on 2 cores.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from postlens.pipeline import build_importer
from postlens.store.ingest import ingest
from postlens.store.workspace import Workspace

DEFAULT = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
CASES = [("pheme", "pheme"), ("mediaeval2016", "mediaeval2016"), ("youtube-trending", "youtube_trending_gb")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", type=Path, default=DEFAULT)
    args = parser.parse_args()
    if not args.datasets.exists():
        raise SystemExit(f"no datasets at {args.datasets}: nothing to measure")
    print(
        f"{'recipe':<18}{'posts':>8}{'quarantined':>13}{'first run s':>13}{'posts/s':>10}{'re-run s':>10}{'posts/s':>10}"
    )
    for recipe, folder in CASES:
        path = args.datasets / folder
        with tempfile.TemporaryDirectory() as tmp, Workspace(Path(tmp) / "ws") as ws:
            timings = []
            for _ in range(2):
                started = time.perf_counter()
                summary = ingest(ws, build_importer(recipe), [path])
                timings.append((time.perf_counter() - started, summary))
            (t1, s1), (t2, s2) = timings
            n = s1.posts_written
            print(
                f"{recipe:<18}{n:>8,}{s1.quarantined:>13,}{t1:>13.2f}{n / t1:>10,.0f}{t2:>10.2f}{s2.posts_written / t2:>10,.0f}"
            )


if __name__ == "__main__":
    main()
