"""Page load of the dashboard's overview and segments map in a real browser: time from navigation to the first
chart drawn, against a real ``postlens serve`` (uvicorn, 127.0.0.1) over a workspace, in headless chromium
driven by Python playwright (as tests/api/test_dashboard.py launches it). Prints a table; asserts nothing.

    PYTHONPATH=src .venv/bin/python bench/dashboard_load.py --workspace /path/to/mediaeval-workspace [--runs 3]

Goal (issue 7/9): <= 2 s to the first chart on the MediaEval workspace (15,629 posts).

- cold: the first load after the server started, in a fresh browser profile (the server's first database
  reads; its default map is built at start-up, with the models);
- warm server: a fresh browser profile (plotly.min.js fetched and parsed again), the server warm;
- warm browser: a reload in the same profile (plotly.min.js from the browser's cache).

"First chart": overview, "Posts by modality" is drawn; segments map (``/ui#segments``), the map is drawn (the
table says with what). The figure is
``performance.now()`` at that moment in the page (0 = navigation start), so playwright's own polling does not
count. The map's point count and the JSON sizes are printed with it.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "api"))
from _chromium import CHROMIUM, CHROMIUM_ARGS
from _server import ApiServer

from agent import load_average

KEY_NAME = "postlens-api-key"
FIRST_CHART = {"overview": "#chart-modality[data-drawn]", "segments": "#chart-map[data-drawn]"}
"""The page marks a chart ``data-drawn`` once plotly has drawn it (its value: scattergl or scatter)."""

MARK = """(selector) => new Promise(resolve => {
  const seen = () => document.querySelector(selector);
  if (seen()) { resolve(performance.now()); return; }
  new MutationObserver((_, observer) => {
    if (seen()) { observer.disconnect(); resolve(performance.now()); }
  }).observe(document, { childList: true, subtree: true, attributeFilter: ["data-drawn"] });
})"""
"""Resolves with the page clock when the selector first matches (watched from inside the page)."""

MAX_POINTS = 50_000
EVERY_POINT = """async (limit) => {
  const chart = document.getElementById("chart-map"), size = document.getElementById("segments-size");
  const drawn = () => new Promise(resolve => {
    if (chart.dataset.drawn) { resolve(); return; }
    new MutationObserver((_, observer) => {
      if (chart.dataset.drawn) { observer.disconnect(); resolve(); }
    }).observe(chart, { attributeFilter: ["data-drawn"] });
  });
  delete chart.dataset.drawn;
  const asked = performance.now();
  size.value = String(limit);
  size.dispatchEvent(new Event("change"));
  await drawn();
  const shown = performance.now();
  const range = chart._fullLayout.xaxis.range, yrange = chart._fullLayout.yaxis.range;
  const quarter = r => [r[0] + (r[1] - r[0]) / 4, r[1] - (r[1] - r[0]) / 4];
  await Plotly.relayout(chart, { "xaxis.range": quarter(range), "yaxis.range": quarter(yrange) });
  const zoomed = performance.now();
  return [shown - asked, zoomed - shown, Number(chart.dataset.points), chart.dataset.drawn];
}"""
"""Choose 50,000 points on the map, time until it is drawn, then time a zoom (page clock, milliseconds)."""
NO_WEBGL = """(() => {
  const real = HTMLCanvasElement.prototype.getContext;
  HTMLCanvasElement.prototype.getContext = function (kind, ...rest) {
    return /webgl/.test(String(kind)) ? null : real.call(this, kind, ...rest);
  };
})();"""
"""A browser without WebGL, as some locked-down or remote desktops are: the page draws with SVG."""
SOFTWARE_WEBGL = """(() => {
  const real = HTMLCanvasElement.prototype.getContext;
  HTMLCanvasElement.prototype.getContext = function (kind, options, ...rest) {
    const asked = /webgl/.test(String(kind)) ? Object.assign({}, options, { failIfMajorPerformanceCaveat: false }) : options;
    return real.call(this, kind, asked, ...rest);
  };
})();"""
"""WebGL even when software-rendered (the page asks for a hardware context only): what scattergl does here."""
BROWSERS = {"as the page picks": None, "software WebGL": SOFTWARE_WEBGL, "no WebGL": NO_WEBGL}


def time_page(context: Any, url: str, page_name: str, reuse: Any = None) -> tuple[float, Any, str]:
    """Seconds from navigation start to the page's first chart; the page (kept open for a reload); what drew it."""
    page = reuse or context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    target = f"{url}/ui#{page_name}"
    if reuse is None:
        page.goto(target, wait_until="commit")
    else:
        page.reload(wait_until="commit")
    drawn = page.evaluate(MARK, FIRST_CHART[page_name])
    if errors:
        raise RuntimeError(f"{page_name}: page errors {errors}")
    return float(drawn) / 1000.0, page, str(page.get_attribute(FIRST_CHART[page_name], "data-drawn"))


def new_context(browser: Any, key: str, script: str | None = None) -> Any:
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    # the key as the page keeps it once entered (the top page only: the report's frame is sandboxed)
    context.add_init_script(f"if (window === window.top) sessionStorage.setItem({KEY_NAME!r}, {key!r});")
    if script is not None:
        context.add_init_script(script)
    return context


def run(workspace: Path, runs: int, chromium: str, ready_seconds: float) -> list[dict[str, Any]]:
    """Per page, ``runs`` server starts, each: a cold load, a warm-server load, a reload (warm browser)."""
    from playwright.sync_api import sync_playwright

    key = secrets.token_urlsafe(18)
    rows: list[dict[str, Any]] = []
    with sync_playwright() as play:
        browser = play.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            for page_name in FIRST_CHART:
                row: dict[str, Any] = {"page": page_name, "cold": [], "warm server": [], "warm browser": []}
                for _ in range(runs):
                    with started(workspace, key, ready_seconds) as server:
                        for phase in ("cold", "warm server"):
                            context = new_context(browser, key)
                            try:
                                seconds, page, row["drawn with"] = time_page(context, server.url, page_name)
                                row[phase].append(seconds)
                                if phase == "warm server":
                                    row["warm browser"].append(time_page(context, server.url, page_name, page)[0])
                            finally:
                                context.close()
                        row.update(payload_sizes(server.url, key))
                rows.append(row)
        finally:
            browser.close()
    return rows


def run_every_point(workspace: Path, runs: int, chromium: str, ready_seconds: float) -> list[dict[str, Any]]:
    """The map with every post (the "Points" control at 50,000): seconds from the choice to the map drawn, and
    for a zoom (a relayout to the middle quarter), in each of ``BROWSERS``; "drawn with" says what the page used
    (scatter: SVG; scattergl: WebGL; the page falls back to SVG when plotly finds WebGL failing)."""
    from playwright.sync_api import sync_playwright

    key = secrets.token_urlsafe(18)
    rows: list[dict[str, Any]] = []
    with sync_playwright() as play, started(workspace, key, ready_seconds) as server:
        browser = play.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            for name, script in BROWSERS.items():
                row: dict[str, Any] = {"browser": name, "draw": [], "zoom": []}
                for _ in range(runs):
                    context = new_context(browser, key, script)
                    try:
                        _, page, _ = time_page(context, server.url, "segments")
                        draw_ms, zoom_ms, points, kind = page.evaluate(EVERY_POINT, MAX_POINTS)
                        row["draw"].append(draw_ms / 1000)
                        row["zoom"].append(zoom_ms / 1000)
                        row.update(points=points, kind=kind)
                    finally:
                        context.close()
                rows.append(row)
        finally:
            browser.close()
    return rows


@contextmanager
def started(workspace: Path, key: str, ready_seconds: float) -> Iterator[ApiServer]:
    log = Path(tempfile.gettempdir()) / f"postlens-bench-dashboard-{secrets.token_hex(4)}.log"
    server = ApiServer(workspace, key=key, log=log, ready_seconds=ready_seconds)
    try:
        yield server
    finally:
        server.stop()
        log.unlink(missing_ok=True)


def payload_sizes(url: str, key: str) -> dict[str, Any]:
    headers = {"X-API-Key": key}
    overview = httpx.get(f"{url}/v1/dashboard/overview", headers=headers, timeout=120)
    space = httpx.get(f"{url}/v1/dashboard/map", params={"limit": 5000}, headers=headers, timeout=300)
    body = space.json()
    return {
        "posts": overview.json()["posts"],
        "map points": len(body["points"]),
        "overview KB": len(overview.content) / 1024,
        "map KB": len(space.content) / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workspace", type=Path, required=True, help="a workspace with segments fitted")
    parser.add_argument("--runs", type=int, default=3, help="server starts per page (each: cold + warm)")
    parser.add_argument("--chromium", default=CHROMIUM)
    parser.add_argument("--ready-seconds", type=float, default=900, help="longest wait for the server to start")
    args = parser.parse_args()
    if not args.chromium:
        raise SystemExit("no chromium on PATH (apt-get install -y chromium) and no --chromium given")
    if not (args.workspace / "postlens.duckdb").is_file():
        raise SystemExit(f"{args.workspace}: no postlens.duckdb there (give a workspace folder)")
    rows = run(args.workspace, args.runs, args.chromium, args.ready_seconds)
    every = run_every_point(args.workspace, args.runs, args.chromium, args.ready_seconds)
    print(f"\ndashboard page load, {args.workspace} ({rows[0]['posts']:,} posts), {load_average()}")
    print("seconds from navigation to the first chart: median (min-max) of", args.runs, "runs; goal <= 2 s\n")
    print(
        f"{'page':<10} {'cold':>18} {'warm server':>18} {'warm browser':>18} {'points':>7} {'JSON KB':>8}  drawn with"
    )
    for row in rows:
        figures = [spread(row[k]) for k in ("cold", "warm server", "warm browser")]
        size = row["overview KB"] if row["page"] == "overview" else row["map KB"]
        points = "" if row["page"] == "overview" else str(row["map points"])
        print(
            f"{row['page']:<10} {figures[0]:>18} {figures[1]:>18} {figures[2]:>18} {points:>7} {size:>8.0f}  {row['drawn with']}"
        )
    print(f"\nthe map with every post ('Points' set to {MAX_POINTS:,}): seconds, median (min-max)\n")
    print(f"{'browser':<18} {'points':>7} {'choose -> drawn':>18} {'zoom redraw':>18}  drawn with")
    for row in every:
        print(
            f"{row['browser']:<18} {row['points']:>7} {spread(row['draw']):>18} {spread(row['zoom']):>18}  {row['kind']}"
        )


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


if __name__ == "__main__":
    main()
