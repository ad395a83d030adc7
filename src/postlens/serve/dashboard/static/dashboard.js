// postlens dashboard: plain JS over /v1/ and /v1/dashboard/. The API key lives in sessionStorage only and goes
// out as an X-API-Key header (never in a URL). Every text from the server is put in with textContent.
"use strict";

// Every chart colour comes from dashboard.css (:root --palette, Okabe & Ito's palette for colour-blind readers;
// --ink for outlines, --neutral for outliers), read once the styles apply. Markers and bars get an ink outline so
// that light palette colours (yellow, sky blue) still stand out from the white page.
const PALETTE = [];
const COLOR = { ink: "", neutral: "" };
const up = () => PALETTE[0];    // blue: a driver raising a prediction
const down = () => PALETTE[5];  // vermillion: one lowering it (the pair stays apart for every colour blindness)
const SYMBOLS = ["circle", "square", "diamond", "triangle-up", "x", "cross", "triangle-down", "star"];
const DASHES = ["solid", "dot", "dash", "longdash", "dashdot", "longdashdot"];
const KEY_NAME = "postlens-api-key";
const PLOT_CONFIG = { responsive: true, displaylogo: false };
const loaded = {};
// Large maps (over GL_ABOVE points) draw with WebGL where the browser renders it on a GPU: pan / zoom / hover stay
// smooth where SVG redraws every point. Small ones, and every map where WebGL is software (SwiftShader: headless,
// VMs, remote desktops), draw with SVG: measured in headless chromium on a loaded 2-core box, software WebGL was no
// faster, and its GPU process gave up on a 15,000-point map, after which plotly covers the chart with "WebGL is not
// supported". draw() falls back to SVG if that happens anyway.
const GL_ABOVE = 10000;
let webgl = hasWebGL();
function scatterFor(points) { return webgl && points > GL_ABOVE ? "scattergl" : "scatter"; }
let mapPoints = [];
let mapSampled = false;
let mapGroups = [];        // the map's points per trace (curveNumber), in the trace's order (pointNumber)
let hoveredPost = null;    // the post under the pointer: an image that arrives late for another is not shown
const images = new Map();  // post id -> object URL of its stored image (null: it has none), the newest IMAGES_KEPT
const IMAGES_KEPT = 200;
let popularityPosts = [];
let popularityMetric = "count";
const MAP_POINTS = 5000;  // the server's even sample; the page's "Points" control asks for up to 50,000
const mapPath = limit => `/v1/dashboard/map?limit=${limit}`;
const early = new Map();  // path -> the answer's promise, asked for before plotly's bundle ran (see the end)

function readColors() {
  const style = getComputedStyle(document.documentElement);
  PALETTE.splice(0, PALETTE.length, ...style.getPropertyValue("--palette").split(",").map(c => c.trim()).filter(Boolean));
  COLOR.ink = style.getPropertyValue("--ink").trim();
  COLOR.neutral = style.getPropertyValue("--neutral").trim();
}

function outline(width) { return { color: COLOR.ink, width: width ?? 1 }; }

function hasWebGL() {
  try {  // failIfMajorPerformanceCaveat: no context when WebGL would be software-rendered
    return Boolean(document.createElement("canvas").getContext("webgl", { failIfMajorPerformanceCaveat: true }));
  } catch (error) {
    return false;
  }
}

async function draw(node, traces, chartLayout) {
  // data-drawn (the trace type) and data-points mark a drawn chart: the browser tests and bench/dashboard_load.py
  // wait for them
  delete node.dataset.drawn;
  await Plotly.react(node, traces, chartLayout, PLOT_CONFIG);
  if (traces.some(t => t.type === "scattergl") && node.querySelector(".no-webgl")) {
    webgl = false;  // the browser refused WebGL after all: this chart and every later one with SVG
    Plotly.purge(node);
    node.querySelectorAll(".no-webgl").forEach(message => message.remove());
    traces = traces.map(t => (t.type === "scattergl" ? Object.assign({}, t, { type: "scatter" }) : t));
    await Plotly.react(node, traces, chartLayout, PLOT_CONFIG);
  }
  node.dataset.points = String(traces.reduce((n, t) => n + (t.x ? t.x.length : 0), 0));
  node.dataset.drawn = traces.length && traces[0].type ? traces[0].type : "chart";
}

function fetchData(path) {
  const sent = early.get(path);
  early.delete(path);
  return sent || api(path);
}

function health() {
  return fetch("/healthz", { cache: "no-store" }).then(response => response.json());
}

function $(id) { return document.getElementById(id); }

function el(tag, text, attrs) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
  return node;
}

function status(message, isError) {
  const box = $("status");
  box.textContent = message || "";
  box.classList.toggle("error", Boolean(isError));
}

function headers() {
  const key = sessionStorage.getItem(KEY_NAME);
  return key ? { "X-API-Key": key } : {};
}

async function api(path, options) {
  const response = await fetch(path, Object.assign({}, options, { headers: headers(), cache: "no-store" }));
  const type = response.headers.get("content-type") || "";
  const body = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) {
    const detail = body && body.detail ? body.detail : response.statusText;
    const error = new Error(response.status === 401 ? `${detail} (enter the server's API key above)` : detail);
    error.status = response.status;
    throw error;
  }
  return body;
}

async function apiBlob(path) {
  const response = await fetch(path, { headers: headers(), cache: "default" });
  if (!response.ok) {
    const error = new Error(`${path}: ${response.status} ${response.statusText}`);
    error.status = response.status;
    throw error;
  }
  return response.blob();
}

function fill(table, columns, rows) {
  table.replaceChildren();
  const head = el("tr");
  for (const c of columns) head.append(el("th", c.title, { scope: "col" }));
  table.append(el("thead"), el("tbody"));
  table.tHead.append(head);
  for (const row of rows) {
    const tr = el("tr");
    for (const c of columns) tr.append(el("td", c.get(row)));
    table.tBodies[0].append(tr);
  }
  if (!rows.length) {
    const tr = el("tr");
    tr.append(el("td", "none", { colspan: String(columns.length) }));
    table.tBodies[0].append(tr);
  }
}

function layout(title, extra) {
  return Object.assign({ title: { text: title, font: { size: 14 } }, margin: { l: 50, r: 10, t: 40, b: 60 },
                         font: { family: "system-ui, sans-serif" }, colorway: PALETTE }, extra || {});
}

function bar(id, title, pairs, color) {
  draw($(id), [{ type: "bar", x: pairs.map(p => p.name), y: pairs.map(p => p.count),
                          marker: { color: color || PALETTE[0], line: outline() } }], layout(title));
}

function postItem(post) {
  const li = el("li");
  li.append(el("span", post.text || "(no text)"));
  const meta = [post.post_id || post.id, post.similarity !== undefined ? `similarity ${post.similarity.toFixed(3)}` : null,
                (post.media_kinds || post.media || []).join(", ") || "text", post.topic_id ?? post.topic ?? null]
    .filter(v => v !== null && v !== undefined && v !== "");
  li.append(el("div", meta.join(" · "), { class: "meta" }));
  return li;
}

// ------------------------------------------------------------------ pages

async function showOverview() {
  const o = await fetchData("/v1/dashboard/overview");
  $("overview-total").textContent = `${o.posts.toLocaleString()} posts`;
  bar("chart-modality", "Posts by modality", o.modality, PALETTE[0]);
  bar("chart-source", "Posts by source / platform", o.platform.length > 1 ? o.platform : o.source, PALETTE[1]);
  bar("chart-language", "Posts by language", o.language, PALETTE[2]);
  draw($("chart-time"), [{ type: "bar", x: o.over_time.map(p => p.t), y: o.over_time.map(p => p.count),
                                   marker: { color: PALETTE[4], line: outline() } }], layout(`Posts per ${o.time_unit}`));
  fill($("table-runs"), [
    { title: "started", get: r => r.started_at }, { title: "status", get: r => r.status },
    { title: "importer", get: r => r.importer }, { title: "imported", get: r => r.imported },
    { title: "updated", get: r => r.updated }, { title: "unchanged", get: r => r.unchanged },
    { title: "quarantined", get: r => r.quarantined }, { title: "flagged", get: r => r.flagged },
    { title: "error", get: r => r.error || "" }], o.import_runs);
  fill($("table-quarantine"), [
    { title: "code", get: q => q.code }, { title: "post kept", get: q => (q.post_kept ? "yes (a part dropped)" : "no") },
    { title: "count", get: q => q.count }, { title: "example reason", get: q => q.example }], o.quarantine);
}

function previewFiles(files) {
  const box = $("inspect-preview");
  box.replaceChildren();
  for (const file of files) {
    const url = URL.createObjectURL(file);
    let node;
    if (file.type.startsWith("image/")) node = el("img", null, { src: url, alt: `preview of ${file.name}` });
    else if (file.type.startsWith("video/")) node = el("video", null, { src: url, controls: "", "aria-label": file.name });
    else if (file.type.startsWith("audio/")) node = el("audio", null, { src: url, controls: "", "aria-label": file.name });
    else node = el("span", file.name);
    box.append(node);
  }
}

function fmt(value, digits) { return typeof value === "number" ? value.toFixed(digits ?? 3) : value; }

function showInsight(insight) {
  const out = $("inspect-result");
  out.replaceChildren();
  const dl = el("dl");
  const add = (name, value) => {
    if (value === null || value === undefined || value === "" || (Array.isArray(value) && !value.length)) return;
    dl.append(el("dt", name), el("dd", Array.isArray(value) ? value.join(", ") : value));
  };
  add("Modalities", insight.modalities);
  add("Language", insight.language);
  add("Media", (insight.media || []).map(m => `${m.name} (${m.mime}${m.width ? `, ${m.width}x${m.height}` : ""}` +
                                              `${m.duration_s ? `, ${fmt(m.duration_s, 1)} s` : ""})`));
  add("Visual labels", (insight.visual_labels || []).slice(0, 5).map(v => `${v.name} ${fmt(v.probability, 2)}`));
  add("Text in images (OCR)", insight.ocr_text);
  add("Text on video frames", insight.video_text);
  add("Transcript", insight.transcript);
  if (insight.topic) add("Segment", `${insight.topic.label ?? "outlier"} (topic ${insight.topic.topic_id ?? "none"}` +
                                    `${insight.topic.similarity != null ? `, similarity ${fmt(insight.topic.similarity)}` : ""})`);
  if (insight.sentiment) add("Sentiment", `${insight.sentiment.label} (${insight.sentiment.source})`);
  if (insight.emotion) add("Emotion", insight.emotion.label);
  for (const label of insight.labels || []) add(`Model ${label.model}`, `${label.label ?? label.value} ${label.probability != null ? fmt(label.probability, 2) : ""}`);
  if (insight.popularity) {
    const p = insight.popularity;
    add("Predicted popularity", `${fmt(p.predicted, 1)} ${p.metric}${p.percentile != null ? ` (percentile ${fmt(p.percentile, 0)})` : ""}`);
    add("Drivers", (p.drivers || []).slice(0, 6).map(d => `${d.name} (${d.modality}) ${d.effect >= 0 ? "+" : ""}${fmt(d.effect)}`));
  }
  add("Hashtags", insight.hashtags);
  out.append(dl);
  for (const problem of insight.problems || []) out.append(el("p", `${problem.code}: ${problem.message}`, { class: "problem" }));
  if ((insight.similar || []).length) {
    out.append(el("h3", "Similar posts"));
    const list = el("ol", null, { class: "posts", id: "inspect-similar" });
    for (const post of insight.similar) list.append(postItem(post));
    out.append(list);
  }
}

async function analyze(event) {
  event.preventDefault();
  const form = new FormData();
  const text = $("inspect-text").value;
  if (text.trim()) form.append("text", text);
  for (const file of $("inspect-files").files) form.append("files", file, file.name);
  status("Analyzing…");
  const ocr = $("inspect-ocr").checked ? "true" : "false";
  const insight = await api(`/v1/analyze?similar=5&ocr=${ocr}`, { method: "POST", body: form });
  showInsight(insight);
  status("Analyzed.");
}

async function search(event) {
  event.preventDefault();
  const q = $("search-q").value.trim();
  const image = $("search-image").files[0];
  const k = $("search-k").value || "10";
  status("Searching…");
  let found;
  if (image) {
    const form = new FormData();
    if (q) form.append("q", q);
    form.append("k", k);
    form.append("image", image, image.name);
    found = await api("/v1/search", { method: "POST", body: form });
  } else {
    if (!q) { status("Type words or pick an image.", true); return; }
    found = await api(`/v1/search?${new URLSearchParams({ q, k })}`);  // the words are the query, not the key
  }
  const list = $("search-results");
  list.replaceChildren(...found.hits.map(postItem));
  status(`${found.hits.length} posts (of ${found.indexed_posts} indexed, ${found.index} search).`);
}

function filterMap(topic) {
  const shown = topic === "" ? mapPoints : mapPoints.filter(p => String(p.topic) === String(topic));
  $("segments-topic").value = topic === null ? "" : String(topic);
  $("segments-filter").textContent = topic === "" ? `${mapPoints.length} posts${mapSampled ? " (a sample)" : ""}`
    : `${shown.length} posts in topic ${topic}`;
  $("segments-posts").replaceChildren(...shown.slice(0, 50).map(p => postItem(p)));
}

async function showSegments() {
  const m = await fetchData(mapPath($("segments-size").value || MAP_POINTS));
  mapPoints = m.points;
  mapSampled = Boolean(m.sampled);
  $("segments-note").textContent = m.note || `${m.points.length.toLocaleString()} of ${m.live.toLocaleString()} posts` +
    `${m.sampled ? " (an even sample)" : ""}, segmentation ${m.segmentation}; PCA of the shared space.`;
  const names = new Map(m.topics.map(t => [String(t.topic_id), t.label]));
  const groups = new Map();
  for (const p of m.points) {
    const key = p.topic === null ? "outlier" : String(p.topic);
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(p);
  }
  const type = scatterFor(m.points.length);
  const traces = [...groups.entries()].map(([key, points], i) => ({
    type, mode: "markers", name: key === "outlier" ? "outliers" : `${key}: ${names.get(key) || ""}`,
    x: points.map(p => p.x), y: points.map(p => p.y), customdata: points.map(p => p.topic === null ? "" : String(p.topic)),
    text: points.map(p => p.text), hovertemplate: "%{text}<extra>%{fullData.name}</extra>",
    marker: { size: 7, color: key === "outlier" ? COLOR.neutral : PALETTE[i % PALETTE.length], line: outline(0.5),
              symbol: SYMBOLS[Math.floor(i / PALETTE.length) % SYMBOLS.length], opacity: 0.85 } }));
  const select = $("segments-topic");
  select.replaceChildren(el("option", "every topic", { value: "" }),
    ...m.topics.map(t => el("option", `${t.topic_id}: ${t.label}`, { value: String(t.topic_id) })));
  mapGroups = [...groups.values()];
  hideHoverCard();
  const chart = $("chart-map");
  await draw(chart, traces, layout("Shared space by topic", { hovermode: "closest",
    legend: { orientation: "h", y: -0.15 }, xaxis: { zeroline: false }, yaxis: { zeroline: false } }));
  chart.removeAllListeners && chart.removeAllListeners("plotly_click");
  chart.on("plotly_click", event => {
    const point = event.points && event.points[0];
    if (point) filterMap(point.customdata);
  });
  chart.removeAllListeners && chart.removeAllListeners("plotly_hover");
  chart.removeAllListeners && chart.removeAllListeners("plotly_unhover");
  chart.on("plotly_hover", event => { showHoverCard(chart, event).catch(() => hideHoverCard()); });
  chart.on("plotly_unhover", hideHoverCard);
  filterMap("");
}

function hideHoverCard() {
  hoveredPost = null;
  $("segments-hover").hidden = true;
}

async function postImage(id) {
  // the post's stored image (the import's copy, GET /v1/dashboard/image): fetched with the key header, which an
  // <img src> cannot send, and kept as an object URL so that hovering the point again costs nothing
  if (images.has(id)) return images.get(id);
  let url = null;
  try {
    url = URL.createObjectURL(await apiBlob(`/v1/dashboard/image?${new URLSearchParams({ post: id })}`));
  } catch (error) {
    if (error.status !== 404) throw error;  // 404: no stored image (a remote URL, a rejected file)
  }
  images.set(id, url);
  while (images.size > IMAGES_KEPT) {
    const [oldest, old] = images.entries().next().value;
    if (old) URL.revokeObjectURL(old);
    images.delete(oldest);
  }
  return url;
}

async function showHoverCard(chart, event) {
  const hovered = event.points && event.points[0];
  const post = hovered && (mapGroups[hovered.curveNumber] || [])[hovered.pointNumber];
  if (!post || !post.media.some(kind => kind === "image" || kind === "gif")) { hideHoverCard(); return; }
  hoveredPost = post.id;
  const url = await postImage(post.id);
  if (hoveredPost !== post.id) return;  // the pointer moved on while the image came
  if (!url) { hideHoverCard(); return; }
  const card = $("segments-hover");
  const img = $("segments-hover-img");
  img.dataset.post = post.id;
  img.alt = `image of post ${post.id}`;
  img.src = url;
  $("segments-hover-text").textContent = post.id;
  // beside the point, inside the chart (left of it when the point is in the right half)
  const xa = chart._fullLayout.xaxis, ya = chart._fullLayout.yaxis;
  const x = xa._offset + xa.l2p(hovered.x), y = ya._offset + ya.l2p(hovered.y);
  card.hidden = false;
  const width = card.offsetWidth, height = card.offsetHeight;
  card.style.left = `${Math.max(0, x > chart.clientWidth / 2 ? x - width - 12 : x + 12)}px`;
  card.style.top = `${Math.max(0, Math.min(y + 12, chart.clientHeight - height))}px`;
}

async function showTrends(source) {
  const asked = {};
  if (source) asked.source = source;
  const since = $("trends-since").value;  // back from the newest post, as 'postlens trends --since'
  if (since) asked.since = since;
  const query = Object.keys(asked).length ? `?${new URLSearchParams(asked)}` : "";
  const t = await fetchData(`/v1/dashboard/trends${query}`);
  const range = $("trends-since");
  $("trends-range").textContent = t.from ? `Bins and alerts from ${t.from} (${range.options[range.selectedIndex].text},` +
    " counted back from the newest post)." : "Every bin and alert.";
  const select = $("trends-source");
  if (!select.options.length || source === undefined) {
    select.replaceChildren(...t.sources.map(s => el("option", s, { value: s })));
  }
  select.value = t.source || "";
  const traces = [];
  t.series.forEach((line, i) => {
    const color = PALETTE[i % PALETTE.length];
    // colour and dash and marker shape together: a line is told apart without telling its colour
    traces.push({ type: "scatter", mode: "lines+markers", name: line.term, x: line.t, y: line.count, legendgroup: line.term,
                  line: { color, width: 2, dash: DASHES[i % DASHES.length] },
                  marker: { color, size: 6, symbol: SYMBOLS[i % SYMBOLS.length], line: outline(0.5) } });
    const burst = line.state.map(s => s === "emerging" || s === "peaking");
    traces.push({ type: "scatter", mode: "markers", name: `${line.term} burst`, legendgroup: line.term, showlegend: false,
                  x: line.t.filter((_, j) => burst[j]), y: line.count.filter((_, j) => burst[j]),
                  text: line.state.filter((_, j) => burst[j]), hovertemplate: "%{text}: %{y}<extra>" + line.term.replace(/[<>]/g, "") + "</extra>",
                  marker: { color, size: 11, symbol: "star", line: outline() } });
  });
  const chart = $("chart-trends");
  await draw(chart, traces, layout(`Counts per bin (${t.source || "no trends yet"}); stars: bursts`,
    { legend: { orientation: "h", y: -0.2 } }));
  fill($("table-alerts"), [
    { title: "fired", get: a => a.fired_at }, { title: "source", get: a => a.source }, { title: "term", get: a => a.term },
    { title: "count", get: a => a.count }, { title: "expected", get: a => fmt(a.expected, 1) },
    { title: "score", get: a => fmt(a.score, 2) }, { title: "provisional", get: a => (a.provisional ? "yes" : "no") }], t.alerts);
  chart.dataset.since = t.since || "";  // the range drawn and listed: the browser tests wait for it
}

async function showPopularity() {
  const p = await fetchData("/v1/dashboard/popularity");
  popularityMetric = p.metric;
  $("popularity-note").textContent = !p.model ? "No popularity model in this workspace: run 'postlens popularity fit'."
    : !p.posts.length ? `Model ${p.model}: no stored predictions yet; run 'postlens popularity predict --model ${p.model}'.`
    : `Model ${p.model}, ${p.posts.length} posts by predicted ${p.metric}.`;
  const withActual = p.posts.filter(r => r.actual !== null);
  draw($("chart-popularity"), [{ type: scatterFor(p.posts.length), mode: "markers", name: "posts",
    x: withActual.map(r => Math.log1p(r.actual)), y: withActual.map(r => r.predicted_log1p), text: withActual.map(r => r.text),
    hovertemplate: "%{text}<extra></extra>", marker: { color: PALETTE[0], size: 7, line: outline(0.5) } }],
    layout(`Predicted vs observed log1p ${p.metric}`, { xaxis: { title: { text: "observed" } }, yaxis: { title: { text: "predicted" } } }),
    );
  const figures = Object.entries((p.figures && p.figures.publish_time) || {});
  fill($("table-popularity-figures"), [
    { title: "predictor", get: f => f[0] }, { title: "Spearman", get: f => fmt(f[1].spearman) },
    { title: "MAE (log1p)", get: f => fmt(f[1].mae) }, { title: "RMSE (log1p)", get: f => fmt(f[1].rmse) },
    { title: "test posts", get: f => f[1].n }], figures);
  fill($("table-popularity"), [
    { title: "rank", get: r => p.posts.indexOf(r) + 1 }, { title: "predicted", get: r => fmt(Math.expm1(r.predicted_log1p), 1) },
    { title: "observed", get: r => r.actual ?? "?" }, { title: "media", get: r => r.media_kinds.join(", ") || "text" },
    { title: "strongest drivers", get: r => (r.explained ? r.explained.drivers.slice(0, 3).map(driverText).join("; ") : "") },
    { title: "post", get: r => r.text }], p.posts);
  popularityPosts = p.posts.filter(r => r.explained);
  $("popularity-post").replaceChildren(...popularityPosts.map(r => el("option",
    `${p.posts.indexOf(r) + 1}. ${(r.text || r.post_id).slice(0, 80)}`, { value: r.post_id })));
  $("popularity-drivers-note").textContent = p.drivers_note || (popularityPosts.length ? ""
    : "No drivers to show: no stored prediction has its model loaded here.");
  if (popularityPosts.length) await showDrivers(popularityPosts[0].post_id);
}

function driverText(d) {
  // the sign in words as well as in colour: "up" / "down" reads without telling blue from orange
  return `${d.name} (${d.modality}) ${d.effect >= 0 ? "up" : "down"} ${d.effect >= 0 ? "+" : ""}${fmt(d.effect, 2)}`;
}

async function showDrivers(postId) {
  const post = popularityPosts.find(r => r.post_id === postId);
  if (!post) return;
  $("popularity-post").value = postId;
  const e = post.explained;
  const drivers = [...e.drivers].reverse();  // plotly draws the first bar at the bottom: strongest on top
  const modalities = Object.entries(e.by_modality).map(([k, v]) => `${k} ${v >= 0 ? "+" : ""}${fmt(v, 2)}`).join(", ");
  $("popularity-drivers-note").textContent = `${post.post_id}: base ${fmt(e.base, 2)} + drivers = ${fmt(e.predicted_log1p, 2)}` +
    ` (log1p ${popularityMetric}; about ${fmt(Math.expm1(e.predicted_log1p), 1)}). By modality: ${modalities}.`;
  // the value sits in the driver's label, "up" / "down" in words: no bar text to collide with labels on a phone
  await draw($("chart-drivers"), [{ type: "bar", orientation: "h", name: "effect",
    x: drivers.map(d => d.effect), y: drivers.map(driverText),
    hovertemplate: "%{y}<extra></extra>",
    marker: { color: drivers.map(d => (d.effect >= 0 ? up() : down())), line: outline() } }],
    layout("Effect on the predicted log1p count",
      { margin: { l: 10, r: 10, t: 40, b: 40 }, yaxis: { automargin: true },
        xaxis: { zeroline: true, zerolinecolor: COLOR.ink } }));
}

async function showModels() {
  const m = await fetchData("/v1/dashboard/models");
  const list = $("models-list");
  list.replaceChildren(...m.models.map(x => el("li", `${x.name}: ${x.target} (${x.role})`)));
  if (m.popularity) list.append(el("li", `${m.popularity}: popularity`));
  if (m.segmentation) list.append(el("li", `segmentation: ${m.segmentation}`));
  $("report-open").disabled = !m.report;
  $("report-note").textContent = m.report ? "" : "No evaluation report yet: run 'postlens evaluate'.";
}

async function openReport() {
  const html = await api("/v1/dashboard/report");
  const frame = $("report-frame");
  frame.srcdoc = html;  // sandbox="": the report runs no script and reaches nothing
  frame.hidden = false;
}

const PAGES = { overview: showOverview, inspect: null, search: null, segments: showSegments, trends: () => showTrends(),
                popularity: showPopularity, models: showModels };

async function showPage(page) {
  for (const tab of document.querySelectorAll(".tab")) {
    if (tab.dataset.page === page) tab.setAttribute("aria-current", "page"); else tab.removeAttribute("aria-current");
  }
  for (const section of document.querySelectorAll(".page")) section.hidden = section.id !== `page-${page}`;
  if (PAGES[page] && !loaded[page]) {
    status("Loading…");
    await PAGES[page]();
    loaded[page] = true;
    status("");
  }
  document.body.dataset.page = page;
  if (location.hash.slice(1) !== page) history.replaceState(null, "", `#${page}`);
}

async function start() {
  const state = await (early.get("/healthz") || health());
  early.delete("/healthz");
  document.body.dataset.auth = state.auth ? "key" : "open";
  if (state.auth && !sessionStorage.getItem(KEY_NAME)) {
    document.body.dataset.page = pageFromHash();
    status("This server needs its API key: enter it above (kept in this tab only).");
    $("api-key").focus();
    return;
  }
  await showPage(pageFromHash());
}

function pageFromHash() {
  // /ui#segments opens that page (a link to share, a bookmark); anything else opens the overview
  const wanted = location.hash.slice(1);
  return Object.prototype.hasOwnProperty.call(PAGES, wanted) ? wanted : "overview";
}

function guard(work) {
  return (...args) => Promise.resolve(work(...args)).catch(error => status(error.message, true));
}

document.addEventListener("DOMContentLoaded", () => {
  readColors();
  for (const tab of document.querySelectorAll(".tab")) tab.addEventListener("click", guard(() => showPage(tab.dataset.page)));
  $("key-form").addEventListener("submit", guard(event => {
    event.preventDefault();
    sessionStorage.setItem(KEY_NAME, $("api-key").value);
    $("api-key").value = "";
    for (const name of Object.keys(loaded)) delete loaded[name];
    return showPage(document.body.dataset.page || "overview");
  }));
  $("forget-key").addEventListener("click", () => { sessionStorage.removeItem(KEY_NAME); status("Key forgotten."); });
  $("inspect-files").addEventListener("change", () => previewFiles($("inspect-files").files));
  $("inspect-form").addEventListener("submit", guard(analyze));
  $("search-form").addEventListener("submit", guard(search));
  $("segments-topic").addEventListener("change", () => filterMap($("segments-topic").value));
  $("segments-clear").addEventListener("click", () => filterMap(""));
  $("popularity-post").addEventListener("change", guard(() => showDrivers($("popularity-post").value)));
  $("segments-size").addEventListener("change", guard(async () => {
    status("Loading…");
    await showSegments();
    status("");
  }));
  $("trends-source").addEventListener("change", guard(() => showTrends($("trends-source").value)));
  $("trends-since").addEventListener("change", guard(() => showTrends($("trends-source").value || null)));
  $("report-open").addEventListener("click", guard(openReport));
  window.addEventListener("hashchange", guard(() => showPage(pageFromHash())));
  guard(start)();
});

// This file runs before plotly's bundle (both deferred, in that order): the first page's data is asked for now
// and arrives while the browser parses the bundle (most of a cold load on a slow machine), not after it.
(function prefetch() {
  const first = { overview: "/v1/dashboard/overview", segments: mapPath(MAP_POINTS), trends: "/v1/dashboard/trends",
                  popularity: "/v1/dashboard/popularity", models: "/v1/dashboard/models" }[pageFromHash()];
  const alive = health();
  alive.catch(() => {});
  early.set("/healthz", alive);
  if (first && sessionStorage.getItem(KEY_NAME)) {
    const sent = api(first);
    sent.catch(() => {});  // a failure is shown when the page takes the answer
    early.set(first, sent);
  }
})();
