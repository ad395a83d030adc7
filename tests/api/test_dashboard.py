"""The dashboard in a real browser (Python playwright driving Debian's chromium) against the session's real
``postlens serve``: every page loads with no console error and no request leaving 127.0.0.1, the charts have
data, an uploaded image is analysed, a click on the segments map filters the post list. Screenshots go to a
temporary folder whose path is printed (``pytest -s`` shows it), or to $POSTLENS_TEST_ARTIFACTS/dashboard.
Each popularity prediction shows its drivers; every control is reached with Tab at both widths; rendered text
meets WCAG AA contrast and the charts draw with the stylesheet's colour-blind-safe palette."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote, urlsplit

import httpx
import orjson
import pytest
from _chromium import CHROMIUM, CHROMIUM_ARGS
from _server import ApiServer

from _agent_fixtures import AgentWorkspace

pytestmark = pytest.mark.slow
PAGES = ("overview", "inspect", "search", "segments", "trends", "popularity", "models")
WIDTHS = {"desktop": (1366, 900), "phone": (390, 844)}


def test_the_dashboard_page_and_scripts_are_public_but_its_data_needs_the_key(
    api_server: ApiServer, api_key: str
) -> None:
    page = httpx.get(f"{api_server.url}/ui")
    assert page.status_code == 200 and "postlens dashboard" in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert httpx.get(f"{api_server.url}/", follow_redirects=False).headers["location"] == "/ui"
    bundle = httpx.get(f"{api_server.url}/ui/static/plotly.min.js")
    assert bundle.status_code == 200 and b"plotly.js" in bundle.content[:200]
    for name in ("../app.py", "..%2Fapp.py", "index.html", "nothing.js"):
        assert httpx.get(f"{api_server.url}/ui/static/{name}").status_code in (401, 404)
    for path in ("overview", "map", "trends", "popularity", "models", "report"):
        assert httpx.get(f"{api_server.url}/v1/dashboard/{path}").status_code == 401
    overview = httpx.get(f"{api_server.url}/v1/dashboard/overview", headers={"X-API-Key": api_key}).json()
    assert overview["posts"] > 0 and {m["name"] for m in overview["modality"]} >= {"text", "image"}
    assert overview["import_runs"] and overview["import_runs"][0]["imported"] == overview["posts"]
    space = httpx.get(f"{api_server.url}/v1/dashboard/map", params={"limit": 40}, headers={"X-API-Key": api_key}).json()
    assert 0 < len(space["points"]) <= 40 and space["sampled"] and space["live"] == overview["posts"]
    assert len({(p["x"], p["y"]) for p in space["points"]}) > 1 and space["topics"]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium): the dashboard's browser tests skip")
    playwright_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (pip install playwright)"
    )
    with playwright_api.sync_playwright() as play:
        launched = play.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the screenshots go: $POSTLENS_TEST_ARTIFACTS/dashboard when set (CI keeps that folder), else a
    temporary folder; the path is printed either way (``pytest -s`` shows it)."""
    chosen = os.environ.get("POSTLENS_TEST_ARTIFACTS")
    folder = Path(chosen) / "dashboard" if chosen else tmp_path_factory.mktemp("dashboard-screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\ndashboard screenshots: {folder}")
    return folder


class Watched:
    """A page with its console errors, page errors and every request's host recorded."""

    def __init__(self, browser: object, url: str, size: tuple[int, int]) -> None:
        self.context = browser.new_context(viewport={"width": size[0], "height": size[1]})  # type: ignore[attr-defined]
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.hosts: set[str] = set()
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.hosts.add(urlsplit(r.url).hostname or r.url.split(":")[0]))
        self.url = url

    def enter(self, key: str) -> None:
        self.page.goto(f"{self.url}/ui")
        self.page.fill("#api-key", key)
        self.page.click("#key-form button[type=submit]")
        self.page.wait_for_selector("#chart-modality .barlayer .point path", timeout=120_000)

    def open(self, name: str) -> None:
        self.page.click(f"button.tab[data-page={name}]")
        self.page.wait_for_selector(f"body[data-page={name}]", timeout=300_000)

    def close(self) -> None:
        self.context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_loads_offline_with_data_and_no_console_error(
    browser: object, api_server: ApiServer, api_key: str, shots: Path, width: str
) -> None:
    watched = Watched(browser, api_server.url, WIDTHS[width])
    try:
        watched.enter(api_key)
        assert watched.page.locator("#overview-total").inner_text().endswith("posts")
        assert watched.page.locator("#table-runs tbody tr").count() >= 1
        for name in PAGES:
            watched.open(name)
            watched.page.screenshot(path=str(shots / f"{width}-{name}.png"), full_page=True)
            wide = watched.page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            assert wide[0] <= wide[1], f"{name} is {wide[0]} px wide in a {wide[1]} px window"
        assert (
            watched.page.evaluate("document.querySelectorAll('#chart-map .scatterlayer, #chart-map canvas').length") > 0
        )
        points = watched.page.evaluate("document.getElementById('chart-map').data.reduce((n, t) => n + t.x.length, 0)")
        assert points > 0
        lines = watched.page.evaluate(
            "document.getElementById('chart-trends').data.filter(t => t.mode === 'lines+markers').length"
        )
        assert lines > 0 and watched.page.locator("#table-alerts thead th").count() == 7
        assert watched.page.locator("#models-list li").count() >= 2
        assert watched.errors == [], watched.errors
        assert watched.hosts <= {"127.0.0.1", "blob", "data"}, watched.hosts
    finally:
        watched.close()


def test_a_wrong_key_is_said_plainly(browser: object, api_server: ApiServer, api_key: str) -> None:
    watched = Watched(browser, api_server.url, WIDTHS["desktop"])
    try:
        watched.page.goto(f"{api_server.url}/ui")
        watched.page.fill("#api-key", api_key + "x")
        watched.page.press("#api-key", "Enter")
        watched.page.wait_for_selector("#status.error", timeout=60_000)
        assert "not valid" in watched.page.locator("#status").inner_text()
        assert api_key not in watched.page.url
    finally:
        watched.close()


def test_upload_an_image_and_see_the_insight(
    browser: object, api_server: ApiServer, api_key: str, agent_workspace: AgentWorkspace, shots: Path
) -> None:
    watched = Watched(browser, api_server.url, WIDTHS["desktop"])
    try:
        watched.enter(api_key)
        watched.open("inspect")
        watched.page.fill("#inspect-text", "Dinner at the night market #streetfood")
        watched.page.set_input_files("#inspect-files", str(agent_workspace.media(".png")[0]))
        assert watched.page.locator("#inspect-preview img").count() == 1
        watched.page.click("#inspect-form button[type=submit]")
        watched.page.wait_for_selector("#inspect-result dl dt", timeout=600_000)
        shown = watched.page.locator("#inspect-result").inner_text()
        for heading in ("Modalities", "Visual labels", "Segment", "Sentiment", "Similar posts"):
            assert heading in shown, shown
        assert "text, image" in shown and watched.page.locator("#inspect-similar li").count() == 5
        watched.page.screenshot(path=str(shots / "desktop-inspect-result.png"), full_page=True)
        watched.open("search")
        watched.page.fill("#search-q", "street food night market")
        watched.page.click("#search-form button[type=submit]")
        watched.page.wait_for_selector("#search-results li", timeout=300_000)
        assert watched.page.locator("#search-results li").count() == 10
        watched.page.fill("#search-q", "")
        watched.page.set_input_files("#search-image", str(agent_workspace.media(".png")[1]))
        watched.page.click("#search-form button[type=submit]")
        watched.page.wait_for_selector("#status:has-text('indexed')", timeout=300_000)
        assert watched.page.locator("#search-results li").count() == 10
        assert watched.errors == [], watched.errors
        assert watched.hosts <= {"127.0.0.1", "blob", "data"}, watched.hosts
    finally:
        watched.close()


def test_a_click_on_the_segments_map_filters_the_post_list(
    browser: object, api_server: ApiServer, api_key: str, shots: Path
) -> None:
    watched = Watched(browser, api_server.url, WIDTHS["desktop"])
    try:
        watched.enter(api_key)
        watched.open("segments")
        everything = watched.page.locator("#segments-filter").inner_text()
        topic, x, y = watched.page.evaluate(
            "(() => { const gd = document.getElementById('chart-map');"
            " const t = gd.data.find(d => d.customdata[0] !== '');"
            " const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, box = gd.getBoundingClientRect();"
            " return [t.customdata[0], box.left + xa._offset + xa.l2p(t.x[0]), box.top + ya._offset + ya.l2p(t.y[0])]; })()"
        )
        watched.page.mouse.click(x, y)
        watched.page.wait_for_selector("#segments-filter:has-text('in topic')", timeout=60_000)
        shown_topic = watched.page.locator("#segments-topic").input_value()
        assert shown_topic != "" and everything != watched.page.locator("#segments-filter").inner_text()
        metas = watched.page.locator("#segments-posts li .meta").all_inner_texts()
        assert metas and all(m.endswith(f"· {shown_topic}") for m in metas), (topic, shown_topic, metas[:3])
        watched.page.screenshot(path=str(shots / "desktop-segments-clicked.png"), full_page=True)
        assert watched.errors == [], watched.errors
    finally:
        watched.close()


def test_upload_a_video_and_see_it_previewed_and_understood(
    browser: object, api_server: ApiServer, api_key: str, agent_workspace: AgentWorkspace, shots: Path
) -> None:
    watched = Watched(browser, api_server.url, WIDTHS["phone"])
    try:
        watched.enter(api_key)
        watched.open("inspect")
        watched.page.set_input_files("#inspect-files", str(agent_workspace.media(".mp4")[0]))
        assert watched.page.locator("#inspect-preview video").count() == 1
        watched.page.click("#inspect-form button[type=submit]")
        watched.page.wait_for_selector("#inspect-result dl dt", timeout=600_000)
        shown = watched.page.locator("#inspect-result").inner_text()
        assert "video" in shown and "Segment" in shown and "video/mp4" in shown, shown
        watched.page.screenshot(path=str(shots / "phone-inspect-video.png"), full_page=True)
        assert watched.errors == [], watched.errors
    finally:
        watched.close()


def test_the_pages_are_reached_with_the_keyboard(browser: object, api_server: ApiServer, api_key: str) -> None:
    watched = Watched(browser, api_server.url, WIDTHS["desktop"])
    try:
        watched.enter(api_key)
        watched.page.focus("button.tab[data-page=overview]")
        for _ in range(4):  # Tab along the tabs to Trends, then Enter
            watched.page.keyboard.press("Tab")
        assert watched.page.locator("button.tab[data-page=trends]:focus").count() == 1
        watched.page.keyboard.press("Enter")
        watched.page.wait_for_selector("body[data-page=trends]", timeout=120_000)
        assert watched.page.locator("button.tab[data-page=trends]").get_attribute("aria-current") == "page"
        assert (
            watched.page.locator("#page-trends").is_visible()
            and not watched.page.locator("#page-overview").is_visible()
        )
    finally:
        watched.close()


def test_each_popularity_prediction_shows_its_drivers(
    browser: object, api_server: ApiServer, api_key: str, shots: Path
) -> None:
    answer = httpx.get(f"{api_server.url}/v1/dashboard/popularity", headers={"X-API-Key": api_key}, timeout=600).json()
    posts = answer["posts"]
    assert posts and all(p["explained"] for p in posts), answer.get("drivers_note")
    for post in posts:
        explained = post["explained"]
        effects = [abs(d["effect"]) for d in explained["drivers"]]
        assert effects == sorted(effects, reverse=True) and len({d["name"] for d in explained["drivers"]}) > 1
        # the model's own identity: base + every driver == prediction, and it is the stored prediction
        assert explained["base"] + sum(explained["by_modality"].values()) == pytest.approx(
            explained["predicted_log1p"], abs=1e-3
        )
        assert explained["predicted_log1p"] == pytest.approx(post["predicted_log1p"], abs=1e-3)
    watched = Watched(browser, api_server.url, WIDTHS["desktop"])
    try:
        watched.enter(api_key)
        watched.open("popularity")
        first_row = watched.page.locator("#table-popularity tbody tr").first.inner_text()
        top = posts[0]["explained"]["drivers"][0]
        assert top["name"] in first_row and ("up" in first_row or "down" in first_row), first_row
        bars = watched.page.evaluate(
            "(() => { const t = document.getElementById('chart-drivers').data[0]; return [t.x, t.y]; })()"
        )
        assert bars[0] == [d["effect"] for d in reversed(posts[0]["explained"]["drivers"])]
        assert all((" up " in label) == (x >= 0) for x, label in zip(*bars)), bars  # the sign in words too
        assert posts[0]["post_id"] in watched.page.locator("#popularity-drivers-note").inner_text()
        watched.page.select_option("#popularity-post", posts[1]["post_id"])
        watched.page.wait_for_selector(f"#popularity-drivers-note:has-text('{posts[1]['post_id']}')", timeout=60_000)
        shown = watched.page.evaluate("document.getElementById('chart-drivers').data[0].x")
        assert shown == [d["effect"] for d in reversed(posts[1]["explained"]["drivers"])]
        watched.page.locator("#chart-drivers").screenshot(path=str(shots / "desktop-popularity-drivers.png"))
        assert watched.errors == [], watched.errors
    finally:
        watched.close()


FOCUSABLE = """() => {
  const selector = "a[href], button, input, select, textarea, iframe, [tabindex]:not([tabindex='-1'])";
  const shown = e => !e.disabled && e.getClientRects().length > 0 && getComputedStyle(e).visibility !== "hidden";
  const controls = [...document.querySelectorAll(selector)].filter(shown);
  controls.forEach((e, i) => { e.dataset.kbd = String(i); });
  return controls.map(e => e.id || e.textContent.trim().slice(0, 30) || e.tagName);
}"""
FOCUSED = """() => {
  const e = document.activeElement;
  return [e && e.dataset ? e.dataset.kbd ?? null : null, e ? getComputedStyle(e).outlineStyle : "none"];
}"""


@pytest.mark.parametrize("width", WIDTHS)
def test_every_control_is_reached_with_tab_in_order_with_a_visible_focus(
    browser: object, api_server: ApiServer, api_key: str, width: str
) -> None:
    watched = Watched(browser, api_server.url, WIDTHS[width])
    try:
        watched.enter(api_key)
        for name in PAGES:
            watched.open(name)
            controls = watched.page.evaluate(FOCUSABLE)
            assert len(controls) >= 10, controls  # the 7 tabs and the key form at least
            watched.page.focus("[data-kbd='0']")
            reached = []
            for _ in range(len(controls) + 2):
                watched.page.keyboard.press("Tab")
                index, outline = watched.page.evaluate(FOCUSED)
                if index is not None:
                    reached.append(int(index))
                    assert outline != "none", f"{name}: {controls[int(index)]} shows no focus outline"
            following = reached[: len(controls) - 1]
            assert following == list(range(1, len(controls))), (name, [controls[i] for i in following], controls)
        assert watched.errors == [], watched.errors
    finally:
        watched.close()


LOW_CONTRAST = """() => {
  const parse = c => {
    const parts = c.match(/rgba?\\(([^)]+)\\)/)[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return { r: parts[0], g: parts[1], b: parts[2], a: parts.length > 3 ? parts[3] : 1 };
  };
  const lum = c => {
    const f = v => { v /= 255; return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  };
  const ratio = (x, y) => { const [a, b] = [lum(x), lum(y)].sort((p, q) => q - p); return (a + 0.05) / (b + 0.05); };
  const behind = e => {
    for (let n = e; n; n = n.parentElement) {
      const c = parse(getComputedStyle(n).backgroundColor);
      if (c.a > 0) return c;
    }
    return { r: 255, g: 255, b: 255, a: 1 };
  };
  const low = [];
  let checked = 0;
  for (const e of document.querySelectorAll("body *")) {
    if (e.closest("svg, .plot-container, iframe") || e.disabled || !e.getClientRects().length) continue;
    if (![...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue;
    const style = getComputedStyle(e);
    const size = parseFloat(style.fontSize), bold = Number(style.fontWeight) >= 700;
    const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    const r = ratio(parse(style.color), behind(e));
    checked += 1;
    if (r < need) low.push(`${e.tagName}#${e.id} "${e.textContent.trim().slice(0, 30)}" ${r.toFixed(2)}:1`);
  }
  return [checked, low];
}"""
CHART_COLOURS = """() => {
  const style = getComputedStyle(document.documentElement);
  const palette = style.getPropertyValue("--palette").split(",").map(c => c.trim().toLowerCase());
  const used = [];
  for (const chart of document.querySelectorAll(".js-plotly-plot")) {
    for (const trace of chart.data || []) {
      const colour = (trace.marker && trace.marker.color) || (trace.line && trace.line.color);
      for (const c of [].concat(colour || [])) used.push(String(c).toLowerCase());
    }
  }
  return [palette, style.getPropertyValue("--neutral").trim().toLowerCase(), used];
}"""


def test_rendered_text_is_readable_and_charts_use_the_colour_blind_safe_palette(
    browser: object, api_server: ApiServer, api_key: str
) -> None:
    watched = Watched(browser, api_server.url, WIDTHS["desktop"])
    try:
        watched.enter(api_key)
        for name in PAGES:
            watched.open(name)
            checked, low = watched.page.evaluate(LOW_CONTRAST)
            assert checked > 5 and low == [], (name, low)
        palette, neutral, used = watched.page.evaluate(CHART_COLOURS)
        assert len(palette) == 8 and len(set(used)) >= 3, (palette, used)
        assert set(used) <= {*palette, neutral}, set(used) - {*palette, neutral}
        watched.page.fill("#api-key", api_key + "x")  # a wrong key: the error line, drawn in --warn
        watched.page.press("#api-key", "Enter")
        watched.page.wait_for_selector("#status.error", timeout=60_000)
        checked, low = watched.page.evaluate(LOW_CONTRAST)
        assert low == [], ("error line", low)
    finally:
        watched.close()


NO_WEBGL = """(() => {
  const real = HTMLCanvasElement.prototype.getContext;
  HTMLCanvasElement.prototype.getContext = function (kind, ...rest) {
    return /webgl/.test(String(kind)) ? null : real.call(this, kind, ...rest);
  };
})();"""
"""A browser that refuses WebGL (switched off, blocked after a GPU crash, a software renderer under load)."""


def test_a_webgl_chart_is_drawn_again_with_svg_when_the_browser_refuses_webgl(
    browser: object, api_server: ApiServer, api_key: str
) -> None:
    watched = Watched(browser, api_server.url, WIDTHS["desktop"])
    watched.context.add_init_script(NO_WEBGL)
    try:
        watched.enter(api_key)
        drawn = watched.page.evaluate(
            """async () => {
              const node = document.createElement("div");
              node.style.width = "400px"; node.style.height = "300px";
              document.body.append(node);
              await draw(node, [{ type: "scattergl", mode: "markers", x: [1, 2, 3], y: [3, 1, 2] }], {});
              return [node.dataset.drawn, Boolean(document.querySelector(".no-webgl")),
                      node.querySelectorAll(".scatterlayer .point").length, scatterFor(50000)];
            }"""
        )
        # drawn with SVG, plotly's "WebGL is not supported" cover gone, every point there, later maps SVG too
        assert drawn == ["scatter", False, 3, "scatter"], drawn
        assert watched.errors == [], watched.errors
    finally:
        watched.close()


def newest_post_time(agent_workspace: AgentWorkspace) -> datetime:
    """The corpus's own newest post (read from the generated file, not through postlens nor the wall clock)."""
    return max(datetime.fromisoformat(orjson.loads(line)["created_at"]) for line in agent_workspace.lines().values())


def test_the_trends_time_range_keeps_the_bins_and_alerts_of_that_span_back_from_the_newest_post(
    api_server: ApiServer, api_key: str, agent_workspace: AgentWorkspace
) -> None:
    newest = newest_post_time(agent_workspace)
    headers = {"X-API-Key": api_key}
    every = httpx.get(f"{api_server.url}/v1/dashboard/trends", headers=headers, timeout=600).json()
    # the shared workspace fires few or no alerts: tests/serve/test_dashboard_data.py plants some to check their cut
    assert every["from"] is None and every["series"]
    for since, span in (("30d", timedelta(days=30)), ("7d", timedelta(days=7)), ("24h", timedelta(hours=24))):
        kept = httpx.get(
            f"{api_server.url}/v1/dashboard/trends", params={"since": since}, headers=headers, timeout=600
        ).json()
        bound = newest - span
        assert datetime.fromisoformat(kept["from"]) == bound
        bins = [datetime.fromisoformat(t) for line in kept["series"] for t in line["t"]]
        assert all(b >= bound for b in bins), (since, min(bins))
        assert all(datetime.fromisoformat(a["bin_start"]) >= bound for a in kept["alerts"])
        # exactly the alerts of the full list that start in the span (both lists are cut at 200)
        expected = [a for a in every["alerts"] if datetime.fromisoformat(a["bin_start"]) >= bound]
        assert len(every["alerts"]) < 200 and kept["alerts"] == expected
        every_bins = sum(len(line["t"]) for line in every["series"])
        assert len(bins) < every_bins
    wrong = httpx.get(f"{api_server.url}/v1/dashboard/trends", params={"since": "soon"}, headers=headers)
    assert wrong.status_code == 400 and "soon" in wrong.text and "7d" in wrong.text


def test_changing_the_trends_time_range_redraws_the_chart_and_the_alert_list(
    browser: object, api_server: ApiServer, api_key: str, agent_workspace: AgentWorkspace, shots: Path
) -> None:
    newest = newest_post_time(agent_workspace)
    watched = Watched(browser, api_server.url, WIDTHS["phone"])
    drawn_bins = (
        "document.getElementById('chart-trends').data.filter(t => t.mode === 'lines+markers').flatMap(t => t.x)"
    )
    try:
        watched.enter(api_key)
        watched.open("trends")
        watched.page.wait_for_selector("#chart-trends[data-since='']", timeout=120_000)
        every_bins = watched.page.evaluate(drawn_bins)
        every_alerts = watched.page.locator("#table-alerts tbody tr").count()
        # with the keyboard: focus the labelled control and step to the next option ("last 30 days")
        assert watched.page.locator("label[for=trends-since]").inner_text() == "Time range"
        watched.page.focus("#trends-since")
        for since, span in (("30d", timedelta(days=30)), ("7d", timedelta(days=7))):
            watched.page.keyboard.press("ArrowDown")
            watched.page.wait_for_selector(f"#chart-trends[data-since='{since}']", timeout=120_000)
            bins = [datetime.fromisoformat(t) for t in watched.page.evaluate(drawn_bins)]
            assert bins and all(b >= newest - span for b in bins), (since, min(bins))
            assert len(bins) < len(every_bins)
            listed = watched.page.locator("#table-alerts tbody tr").all_inner_texts()
            answer = httpx.get(
                f"{api_server.url}/v1/dashboard/trends",
                params={"since": since},
                headers={"X-API-Key": api_key},
                timeout=600,
            ).json()
            assert len(listed) == max(len(answer["alerts"]), 1) and len(answer["alerts"]) <= every_alerts
            assert since[:-1] in watched.page.locator("#trends-range").inner_text()
        wide = watched.page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert wide[0] <= wide[1], wide
        watched.page.screenshot(path=str(shots / "phone-trends-7d.png"), full_page=True)
        watched.page.select_option("#trends-since", "")
        watched.page.wait_for_selector("#chart-trends[data-since='']", timeout=120_000)
        assert len(watched.page.evaluate(drawn_bins)) == len(every_bins)
        assert watched.errors == [], watched.errors
    finally:
        watched.close()


IMAGE_POINT = """() => {
  // a point of a post with an image, at least 12 px from every other point (the hover picks it, not a neighbour)
  const gd = document.getElementById('chart-map');
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, box = gd.getBoundingClientRect();
  const at = [];
  mapGroups.forEach(group => group.forEach(p => at.push([p, xa._offset + xa.l2p(p.x), ya._offset + ya.l2p(p.y)])));
  for (const [p, x, y] of at) {
    if (!p.media.includes('image')) continue;
    if (at.every(([q, qx, qy]) => q === p || Math.hypot(qx - x, qy - y) >= 12)) return [p.id, box.left + x, box.top + y];
  }
  return null;
}"""


def test_hovering_a_map_point_shows_the_posts_image(
    browser: object, api_server: ApiServer, api_key: str, shots: Path
) -> None:
    watched = Watched(browser, api_server.url, WIDTHS["desktop"])
    asked: list[str] = []
    watched.page.on("request", lambda r: asked.append(r.url) if "/v1/dashboard/image" in r.url else None)
    try:
        watched.enter(api_key)
        watched.open("segments")
        found = watched.page.evaluate(IMAGE_POINT)
        assert found, "no post with an image stands apart on the map"
        post_id, x, y = found
        watched.page.mouse.move(x, y)
        watched.page.wait_for_selector("#segments-hover:not([hidden]) img[src^='blob:']", timeout=60_000)
        img = watched.page.locator("#segments-hover-img")
        assert img.get_attribute("data-post") == post_id
        watched.page.wait_for_function(
            "document.getElementById('segments-hover-img').complete"
            " && document.getElementById('segments-hover-img').naturalWidth > 0",
            timeout=60_000,
        )
        natural = watched.page.evaluate(
            "[document.getElementById('segments-hover-img').naturalWidth,"
            " document.getElementById('segments-hover-img').naturalHeight]"
        )
        stored = httpx.get(f"{api_server.url}/v1/posts/{post_id}", headers={"X-API-Key": api_key}).json()
        first = next(m for m in stored["media"] if m["kind"] == "image" and m["status"] == "stored")
        assert natural == [first["width"], first["height"]], (natural, first)
        assert asked and all(f"post={quote(post_id, safe='')}" in url for url in asked), asked
        watched.page.screenshot(path=str(shots / "desktop-segments-hover.png"))
        watched.page.mouse.move(5, 5)  # off the chart: the card goes
        watched.page.wait_for_selector("#segments-hover[hidden]", state="attached", timeout=60_000)
        assert watched.errors == [], watched.errors
    finally:
        watched.close()


def test_the_image_route_serves_the_stored_copy_and_nothing_else(
    api_server: ApiServer, api_key: str, agent_workspace: AgentWorkspace
) -> None:
    headers = {"X-API-Key": api_key}
    posts = {pid: orjson.loads(line) for pid, line in agent_workspace.lines().items()}
    with_image = next(pid for pid, p in posts.items() if any(m["kind"] == "image" for m in p["media"]))
    stored = httpx.get(f"{api_server.url}/v1/posts/{with_image}", headers=headers).json()
    first = next(m for m in stored["media"] if m["kind"] == "image" and m["status"] == "stored")
    got = httpx.get(f"{api_server.url}/v1/dashboard/image", params={"post": with_image}, headers=headers)
    assert got.status_code == 200 and got.headers["content-type"] == first["mime"]
    assert hashlib.sha256(got.content).hexdigest() == first["sha256"]
    assert got.headers["x-content-type-options"] == "nosniff" and "sandbox" in got.headers["content-security-policy"]
    assert httpx.get(f"{api_server.url}/v1/dashboard/image", params={"post": with_image}).status_code == 401
    text_only = next(pid for pid, p in posts.items() if not p["media"])
    for post in (text_only, "no:such-post", "../../ws.duckdb"):
        missing = httpx.get(f"{api_server.url}/v1/dashboard/image", params={"post": post}, headers=headers)
        assert missing.status_code == 404 and missing.json()["code"] == "no_image", (post, missing.text)
