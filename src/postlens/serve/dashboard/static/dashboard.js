// postlens dashboard: plain JS over /v1/ and /v1/dashboard/. The API key lives in sessionStorage only and goes
// out as an X-API-Key header (never in a URL). Every text from the server is put in with textContent.
"use strict";

const OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"];
const SYMBOLS = ["circle", "square", "diamond", "triangle-up", "x", "cross", "triangle-down", "star"];
const KEY_NAME = "postlens-api-key";
const PLOT_CONFIG = { responsive: true, displaylogo: false };
const loaded = {};
// SVG, not WebGL: plotly's scattergl shows "WebGL is not supported" over the page in software-rendered browsers
// (and headless ones), and the server sends a sample of at most a few thousand points anyway.
const SCATTER = "scatter";
let mapPoints = [];

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
                         font: { family: "system-ui, sans-serif" }, colorway: OKABE_ITO }, extra || {});
}

function bar(id, title, pairs, color) {
  Plotly.react($(id), [{ type: "bar", x: pairs.map(p => p.name), y: pairs.map(p => p.count),
                          marker: { color: color || OKABE_ITO[0] } }], layout(title), PLOT_CONFIG);
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
  const o = await api("/v1/dashboard/overview");
  $("overview-total").textContent = `${o.posts.toLocaleString()} posts`;
  bar("chart-modality", "Posts by modality", o.modality, OKABE_ITO[0]);
  bar("chart-source", "Posts by source / platform", o.platform.length > 1 ? o.platform : o.source, OKABE_ITO[1]);
  bar("chart-language", "Posts by language", o.language, OKABE_ITO[2]);
  Plotly.react($("chart-time"), [{ type: "bar", x: o.over_time.map(p => p.t), y: o.over_time.map(p => p.count),
                                   marker: { color: OKABE_ITO[4] } }], layout(`Posts per ${o.time_unit}`), PLOT_CONFIG);
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
  $("segments-filter").textContent = topic === "" ? `${mapPoints.length} posts (a sample)`
    : `${shown.length} posts in topic ${topic}`;
  $("segments-posts").replaceChildren(...shown.slice(0, 50).map(p => postItem(p)));
}

async function showSegments() {
  const m = await api("/v1/dashboard/map?limit=5000");
  mapPoints = m.points;
  $("segments-note").textContent = m.note || `${m.points.length.toLocaleString()} of ${m.live.toLocaleString()} posts` +
    `${m.sampled ? " (an even sample)" : ""}, segmentation ${m.segmentation}; PCA of the shared space.`;
  const names = new Map(m.topics.map(t => [String(t.topic_id), t.label]));
  const groups = new Map();
  for (const p of m.points) {
    const key = p.topic === null ? "outlier" : String(p.topic);
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(p);
  }
  const traces = [...groups.entries()].map(([key, points], i) => ({
    type: SCATTER, mode: "markers", name: key === "outlier" ? "outliers" : `${key}: ${names.get(key) || ""}`,
    x: points.map(p => p.x), y: points.map(p => p.y), customdata: points.map(p => p.topic === null ? "" : String(p.topic)),
    text: points.map(p => p.text), hovertemplate: "%{text}<extra>%{fullData.name}</extra>",
    marker: { size: 7, color: key === "outlier" ? "#999999" : OKABE_ITO[i % OKABE_ITO.length],
              symbol: SYMBOLS[Math.floor(i / OKABE_ITO.length) % SYMBOLS.length], opacity: 0.8 } }));
  const select = $("segments-topic");
  select.replaceChildren(el("option", "every topic", { value: "" }),
    ...m.topics.map(t => el("option", `${t.topic_id}: ${t.label}`, { value: String(t.topic_id) })));
  const chart = $("chart-map");
  await Plotly.react(chart, traces, layout("Shared space by topic", { hovermode: "closest",
    legend: { orientation: "h", y: -0.15 }, xaxis: { zeroline: false }, yaxis: { zeroline: false } }), PLOT_CONFIG);
  chart.removeAllListeners && chart.removeAllListeners("plotly_click");
  chart.on("plotly_click", event => {
    const point = event.points && event.points[0];
    if (point) filterMap(point.customdata);
  });
  filterMap("");
}

async function showTrends(source) {
  const query = source ? `?${new URLSearchParams({ source })}` : "";
  const t = await api(`/v1/dashboard/trends${query}`);
  const select = $("trends-source");
  if (!select.options.length || source === undefined) {
    select.replaceChildren(...t.sources.map(s => el("option", s, { value: s })));
  }
  select.value = t.source || "";
  const traces = [];
  t.series.forEach((line, i) => {
    const color = OKABE_ITO[i % OKABE_ITO.length];
    traces.push({ type: "scatter", mode: "lines+markers", name: line.term, x: line.t, y: line.count, line: { color },
                  legendgroup: line.term });
    const burst = line.state.map(s => s === "emerging" || s === "peaking");
    traces.push({ type: "scatter", mode: "markers", name: `${line.term} burst`, legendgroup: line.term, showlegend: false,
                  x: line.t.filter((_, j) => burst[j]), y: line.count.filter((_, j) => burst[j]),
                  text: line.state.filter((_, j) => burst[j]), hovertemplate: "%{text}: %{y}<extra>" + line.term.replace(/[<>]/g, "") + "</extra>",
                  marker: { color, size: 11, symbol: "star", line: { color: "#000", width: 1 } } });
  });
  Plotly.react($("chart-trends"), traces, layout(`Counts per bin (${t.source || "no trends yet"}); stars: bursts`,
    { legend: { orientation: "h", y: -0.2 } }), PLOT_CONFIG);
  fill($("table-alerts"), [
    { title: "fired", get: a => a.fired_at }, { title: "source", get: a => a.source }, { title: "term", get: a => a.term },
    { title: "count", get: a => a.count }, { title: "expected", get: a => fmt(a.expected, 1) },
    { title: "score", get: a => fmt(a.score, 2) }, { title: "provisional", get: a => (a.provisional ? "yes" : "no") }], t.alerts);
}

async function showPopularity() {
  const p = await api("/v1/dashboard/popularity");
  $("popularity-note").textContent = !p.model ? "No popularity model in this workspace: run 'postlens popularity fit'."
    : !p.posts.length ? `Model ${p.model}: no stored predictions yet; run 'postlens popularity predict --model ${p.model}'.`
    : `Model ${p.model}, ${p.posts.length} posts by predicted ${p.metric}.`;
  const withActual = p.posts.filter(r => r.actual !== null);
  Plotly.react($("chart-popularity"), [{ type: SCATTER, mode: "markers", name: "posts",
    x: withActual.map(r => Math.log1p(r.actual)), y: withActual.map(r => r.predicted_log1p), text: withActual.map(r => r.text),
    hovertemplate: "%{text}<extra></extra>", marker: { color: OKABE_ITO[0], size: 7 } }],
    layout(`Predicted vs observed log1p ${p.metric}`, { xaxis: { title: { text: "observed" } }, yaxis: { title: { text: "predicted" } } }),
    PLOT_CONFIG);
  const figures = Object.entries((p.figures && p.figures.publish_time) || {});
  fill($("table-popularity-figures"), [
    { title: "predictor", get: f => f[0] }, { title: "Spearman", get: f => fmt(f[1].spearman) },
    { title: "MAE (log1p)", get: f => fmt(f[1].mae) }, { title: "RMSE (log1p)", get: f => fmt(f[1].rmse) },
    { title: "test posts", get: f => f[1].n }], figures);
  fill($("table-popularity"), [
    { title: "rank", get: r => p.posts.indexOf(r) + 1 }, { title: "predicted", get: r => fmt(Math.expm1(r.predicted_log1p), 1) },
    { title: "observed", get: r => r.actual ?? "?" }, { title: "media", get: r => r.media_kinds.join(", ") || "text" },
    { title: "post", get: r => r.text }], p.posts);
}

async function showModels() {
  const m = await api("/v1/dashboard/models");
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
}

async function start() {
  const health = await (await fetch("/healthz", { cache: "no-store" })).json();
  document.body.dataset.auth = health.auth ? "key" : "open";
  if (health.auth && !sessionStorage.getItem(KEY_NAME)) {
    document.body.dataset.page = "overview";
    status("This server needs its API key: enter it above (kept in this tab only).");
    $("api-key").focus();
    return;
  }
  await showPage("overview");
}

function guard(work) {
  return (...args) => Promise.resolve(work(...args)).catch(error => status(error.message, true));
}

document.addEventListener("DOMContentLoaded", () => {
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
  $("trends-source").addEventListener("change", guard(() => showTrends($("trends-source").value)));
  $("report-open").addEventListener("click", guard(openReport));
  guard(start)();
});
