"""Run sibling bench scripts in turn (each prints its own table), so one command gives one issue's figures."""

from __future__ import annotations

import runpy
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run_all(scripts: list[tuple[str, list[str]]]) -> None:
    for name, args in scripts:
        print(f"\n=== bench/{name} {' '.join(args)}", flush=True)
        started = time.perf_counter()
        saved = sys.argv
        sys.argv = [str(HERE / name), *args]
        try:
            runpy.run_path(str(HERE / name), run_name="__main__")
        finally:
            sys.argv = saved
        print(f"=== {name}: {time.perf_counter() - started:.1f} s", flush=True)
