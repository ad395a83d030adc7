"""Feature cache read time: every encoder folder of a workspace, before and after compaction.

    PYTHONPATH=src .venv/bin/python bench/feature_cache.py WORKSPACE [--compact] [--repeats 3]

For each ``features/<encoder>@<version>`` folder: its part count and size, then the best of
``--repeats`` timings of ``known_keys`` (key column only), ``read`` (every row as Features) and
``vectors`` (one aligned matrix for every key). ``--compact`` merges the parts first (this changes
the workspace: point it at a copy) and prints the timings again.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from postlens.store.features import FeatureCache


def best(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return min(times), result


def measure(cache: FeatureCache, repeats: int) -> None:
    print(f"{'encoder folder':<30}{'parts':>6}{'MB':>8}{'rows':>8}{'known_keys s':>14}{'read s':>9}{'vectors s':>11}")
    for folder in sorted(p for p in cache.root.iterdir() if p.is_dir()):
        key = folder.name
        parts = cache.parts(key)
        size = sum(p.stat().st_size for p in parts) / 2**20
        t_keys, keys = best(lambda: cache.known_keys(key), repeats)
        ordered = sorted(keys)
        t_read, rows = best(lambda: cache.read(key, ordered), repeats)
        has_vectors = any(f.vector is not None for f in rows.values())
        t_vec = best(lambda: cache.vectors(key, ordered), repeats)[0] if has_vectors else float("nan")
        print(f"{key:<30}{len(parts):>6}{size:>8.1f}{len(rows):>8,}{t_keys:>14.3f}{t_read:>9.3f}{t_vec:>11.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workspace", type=Path)
    parser.add_argument("--compact", action="store_true", help="compact the parts (changes the workspace!) and measure again")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    cache = FeatureCache(args.workspace / "features")
    measure(cache, args.repeats)
    if args.compact:
        started = time.perf_counter()
        results = cache.compact_all()
        print(f"compacted in {time.perf_counter() - started:.2f} s: "
              + "; ".join(f"{r.encoder_key} {r.parts_before} -> {r.parts_after} parts" for r in results))
        measure(cache, args.repeats)


if __name__ == "__main__":
    main()
