"""The benchmark suite: every area's headline figures in ONE table, and a JSON of them.

    PYTHONPATH=src python -m bench [--quick] [--only ingest,encoders,...] [--json bench/results/latest.json]

Each area is a ``suite_rows(quick)`` function of a bench script (bench/ingest.py, encoders.py ...)
returning rows ``{area, metric, value, unit, goal, met}``; the suite runs each area in a child
process (``python -m bench.suite --child AREA``) so that one area's threads, models and memory do not
colour the next one's figures, and a crash or a timeout of one area becomes a row saying so while the
others go on. An area that cannot run here (no dataset, no Ray) gives a row "skipped: <reason>",
never a made-up figure. Each child's own output (the script's detailed tables) goes to a log file
beside the JSON. The machine's facts (cores, RAM, CPU, load average at start and end, versions) head
the table and the JSON: figures from a loaded machine are slower than the code.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench._rows import ROW_KEYS, row, skipped

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_JSON = HERE / "results" / "latest.json"


@dataclass(frozen=True)
class Area:
    name: str
    module: str  # bench.<module> has suite_rows(quick: bool) -> list[dict]
    what: str
    timeout_quick: int
    timeout_full: int


AREAS: tuple[Area, ...] = (
    Area("ingest", "ingest", "import posts/s of the real datasets", 900, 1800),
    Area("encoders", "encoders", "encoder throughput and its ratio to the bare model forward", 1200, 3600),
    Area("ray", "ray_scaling", "featurization local vs Ray at 1 and 2 workers", 1800, 3600),
    Area("agent", "agent", "agent warm latency per kind of post", 1800, 3600),
    Area("train", "train", "training time per epoch", 900, 2400),
    Area("train_stream", "train_stream", "streamed sgd training: time slope and peak memory vs corpus size", 900, 2400),
    Area("topics", "topics", "topic quality and fit time vs BERTopic", 1800, 5400),
    Area("trends", "trends", "trend detection delay and false alarms", 900, 2400),
    Area("scaling", "scaling", "cost growth with corpus size (time, peak memory, slope)", 2400, 7200),
)
AREA_NAMES = tuple(a.name for a in AREAS)


def check_rows(area: str, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows as the suite stores them: every key present, the area stamped, values JSON-safe."""
    checked = []
    for r in rows:
        missing = [k for k in ROW_KEYS if k not in r and k != "area"]
        if missing:
            raise ValueError(f"area {area}: row {r!r} lacks {', '.join(missing)} (rows need {', '.join(ROW_KEYS)})")
        value = r["value"]
        if value is not None and not isinstance(value, int | float | str):
            value = float(value)  # numpy scalars
        met = None if r["met"] is None or not r["goal"] else bool(r["met"])  # met only says something against a goal
        checked.append({**r, "area": area, "value": value, "met": met})
    return checked


# ---------------------------------------------------------------- machine facts


def machine_facts() -> dict[str, Any]:
    """What the figures ran on: cores this process may use, RAM, CPU model, load, Python and library versions."""
    facts: dict[str, Any] = {
        "cores": len(os.sched_getaffinity(0)),
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "ram_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_start": list(os.getloadavg()),
    }
    for package in ("torch", "onnxruntime", "duckdb", "numpy", "ray", "bertopic"):
        try:
            facts[f"{package}_version"] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            facts[f"{package}_version"] = None
    return facts


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


# ---------------------------------------------------------------- running areas


def run_area_here(area: Area, quick: bool) -> list[dict[str, Any]]:
    """Import bench.<module> and call its suite_rows; a missing module is a skipped row."""
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))  # the scripts import their siblings by plain name
    try:
        module = importlib.import_module(f"bench.{area.module}")
    except ModuleNotFoundError as exc:
        if exc.name == f"bench.{area.module}":
            return [skipped(area.name, area.what, f"bench/{area.module}.py is not there")]
        if exc.name is not None and exc.name.split(".")[0] == "ray":
            return [skipped(area.name, area.what, f"ray is not importable ({exc})")]
        raise
    return check_rows(area.name, module.suite_rows(quick))


def run_area_child(area: Area, quick: bool, log_dir: Path) -> list[dict[str, Any]]:
    """Run one area in a child process; its output goes to ``log_dir/AREA.log``, its rows come back as JSON."""
    log_dir.mkdir(parents=True, exist_ok=True)
    out = log_dir / f"{area.name}.rows.json"
    out.unlink(missing_ok=True)
    log = log_dir / f"{area.name}.log"
    command = [sys.executable, "-m", "bench.suite", "--child", area.name, "--rows-out", str(out)]
    command += ["--quick"] if quick else []
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    timeout = area.timeout_quick if quick else area.timeout_full
    with log.open("w") as handle:
        try:
            code = subprocess.run(
                command, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, timeout=timeout, check=False
            ).returncode
        except subprocess.TimeoutExpired:
            return [row(area.name, area.what, None, note=f"failed: no result in {timeout} s (see {log})")]
    if code != 0 or not out.exists():
        tail = log.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
        return [row(area.name, area.what, None, note=f"failed: exit {code}: {tail[0][:160]} (see {log})")]
    return check_rows(area.name, json.loads(out.read_text()))


def run_suite(
    areas: Sequence[Area],
    quick: bool,
    log_dir: Path,
    runner: Callable[[Area, bool, Path], list[dict[str, Any]]] = run_area_child,
    progress: Callable[[str], None] = lambda message: print(message, file=sys.stderr, flush=True),
) -> dict[str, Any]:
    """Every area in turn; the result is what the JSON holds: machine facts, mode, rows, seconds per area."""
    machine = machine_facts()
    started_at = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    seconds: dict[str, float] = {}
    for area in areas:
        progress(f"[{datetime.now(UTC):%H:%M:%S}] {area.name}: {area.what} ...")
        clock = time.perf_counter()
        rows.extend(runner(area, quick, log_dir))
        seconds[area.name] = round(time.perf_counter() - clock, 1)
        progress(f"[{datetime.now(UTC):%H:%M:%S}] {area.name}: {seconds[area.name]:.0f} s")
    machine["load_average_end"] = list(os.getloadavg())
    return {
        "started_at": started_at.isoformat(timespec="seconds"),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": "quick" if quick else "full",
        "machine": machine,
        "area_seconds": seconds,
        "rows": rows,
    }


# ---------------------------------------------------------------- the table


def format_value(r: dict[str, Any]) -> str:
    value = r["value"]
    if value is None:
        return str(r.get("note", "-"))
    if isinstance(value, str):
        return value
    if isinstance(value, int) or (abs(value) >= 100 and float(value).is_integer()):
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}" if abs(value) < 0.01 else f"{value:.2f}"


def header_lines(result: dict[str, Any]) -> list[str]:
    m = result["machine"]
    start, end = m["load_average_start"], m.get("load_average_end", [float("nan")] * 3)
    versions = ", ".join(
        f"{k.removesuffix('_version')} {v}" for k, v in m.items() if k.endswith("_version") and v is not None
    )
    return [
        f"postlens bench ({result['mode']}), {result['started_at']} -> {result['finished_at']}",
        f"machine: {m['cores']} cores usable ({m['cpu_count']} online), {m['ram_gb']} GB RAM, {m['cpu_model']}",
        f"load average (1/5/15 min): start {'/'.join(f'{x:.1f}' for x in start)}, "
        f"end {'/'.join(f'{x:.1f}' for x in end)}",
        f"python {m['python']}; {versions}",
    ]


def table_lines(result: dict[str, Any], markdown: bool = False) -> list[str]:
    rows = result["rows"]
    cells = [
        (
            r["area"],
            r["metric"],
            format_value(r),
            r["unit"] if r["value"] is not None else "",
            r["goal"],
            "" if r["met"] is None else ("yes" if r["met"] else "NO"),
        )
        for r in rows
    ]
    titles = ("area", "metric", "value", "unit", "goal", "met")
    if markdown:
        lines = ["| " + " | ".join(titles) + " |", "|" + "---|" * len(titles)]
        lines += ["| " + " | ".join(c.replace("|", "/") for c in cell) + " |" for cell in cells]
        return lines
    widths = [max(len(t), *(len(c[i]) for c in cells)) if cells else len(t) for i, t in enumerate(titles)]
    widths[1] = min(widths[1], 70)
    fmt = "  ".join(f"{{:<{w}}}" if i != 2 else f"{{:>{w}}}" for i, w in enumerate(widths))
    lines = [fmt.format(*titles), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*cell) for cell in cells]
    return lines


def doc_markers(section: str) -> tuple[str, str]:
    """The markers around a section of the doc: ``<!-- bench:start -->`` or ``<!-- bench:NAME:start -->``."""
    name = "bench" if section == "main" else f"bench:{section}"
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def write_doc(result: dict[str, Any], doc: Path, json_path: Path, section: str = "main") -> None:
    """Replace the part of ``doc`` between the section's markers with this result's header and table."""
    start, end = doc_markers(section)
    body = [
        start,
        "",
        *(f"- {line}" for line in header_lines(result)),
        f"- seconds per area: {', '.join(f'{k} {v:,.0f}' for k, v in result['area_seconds'].items())}",
        f"- JSON: `{json_path.relative_to(ROOT) if json_path.is_relative_to(ROOT) else json_path}`",
        "",
        *table_lines(result, markdown=True),
        "",
        end,
    ]
    text = doc.read_text() if doc.exists() else f"# Benchmarks\n\n{start}\n{end}\n"
    if start not in text or end not in text:
        raise SystemExit(f"{doc} has no {start} ... {end} section to replace")
    head, rest = text.split(start, 1)
    tail = rest.split(end, 1)[1]
    doc.write_text(head + "\n".join(body) + tail)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes: minutes, not hours")
    parser.add_argument("--only", default=None, help=f"comma-separated areas: {', '.join(AREA_NAMES)}")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help=f"where to write the results ({DEFAULT_JSON})")
    parser.add_argument("--logs", type=Path, default=None, help="the areas' own output (default: beside the JSON)")
    parser.add_argument(
        "--doc", type=Path, default=None, help="also write the table into this Markdown file's bench section"
    )
    parser.add_argument("--section", default="main", help="which marked section of --doc to rewrite (default: main)")
    parser.add_argument("--from-json", type=Path, default=None, help="print (and --doc) a saved result; run nothing")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--rows-out", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    by_name = {a.name: a for a in AREAS}
    if args.child:
        rows = run_area_here(by_name[args.child], args.quick)
        args.rows_out.write_text(json.dumps(rows, indent=1))
        return
    if args.from_json:
        result = json.loads(args.from_json.read_text())
        result["rows"] = [check_rows(r["area"], [r])[0] for r in result["rows"]]
        print("\n".join(header_lines(result)) + "\n\n" + "\n".join(table_lines(result)))
        if args.doc:
            write_doc(result, args.doc, args.from_json, args.section)
        return
    names = AREA_NAMES if not args.only else tuple(n.strip() for n in args.only.split(",") if n.strip())
    unknown = [n for n in names if n not in by_name]
    if unknown:
        parser.error(f"unknown area(s) {', '.join(unknown)}; areas: {', '.join(AREA_NAMES)}")
    log_dir = args.logs or args.json.parent / "logs"
    result = run_suite([by_name[n] for n in names], args.quick, log_dir)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    print("\n".join(header_lines(result)))
    print()
    print("\n".join(table_lines(result)))
    if args.doc:
        write_doc(result, args.doc, args.json, args.section)
    print(f"\nwritten: {args.json}; each area's own output: {log_dir}/AREA.log")


if __name__ == "__main__":
    main()
