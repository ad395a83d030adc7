"""The evaluation report as one self-contained HTML file: inline CSS and SVG, no script, no link out.

``render_html(report)`` reads only the report dict (``evaluation.report.build_report``, or the
metrics JSON loaded back), so the HTML can always be rebuilt from the JSON. It lives beside the
builder rather than in ``serve/`` because the HTML file is an artifact of ``postlens evaluate``
(like a predictions file), written by ``postlens.pipeline.evaluate`` for a notebook user as for the
CLI; pipeline code may not import ``serve``. Nothing here touches a terminal or a server.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape
from typing import Any

from postlens.evaluation import svg

TITLES = {
    "macro_f1": "macro-F1",
    "balanced_accuracy": "balanced acc",
    "accuracy": "accuracy",
    "minority_recall": "minority recall",
    "positive_f1": "positive F1",
    "micro_f1": "micro-F1",
    "spearman": "Spearman",
    "mae": "MAE",
    "rmse": "RMSE",
}
CSS = """
body{font:14px/1.45 system-ui,sans-serif;color:#222;max-width:1180px;margin:0 auto;padding:16px 24px 60px}
h1{font-size:22px;margin:8px 0}h2{font-size:19px;border-bottom:2px solid #4e79a7;padding-bottom:3px;margin-top:36px}
h3{font-size:16px;margin:24px 0 6px}h4{font-size:14px;margin:16px 0 4px;color:#444}
table{border-collapse:collapse;margin:6px 0 10px}td,th{padding:3px 9px;border-bottom:1px solid #e3e3e3;text-align:right}
td:first-child,th:first-child{text-align:left}th{background:#f4f6f9;font-weight:600}
tr.chosen td{background:#eef6ea;font-weight:600}.absent{color:#777;font-style:italic;margin:4px 0}
.meta{color:#555}.warn{color:#a15c00}.grid{display:flex;flex-wrap:wrap;gap:18px;align-items:flex-start}
.card{border:1px solid #e3e3e3;border-radius:6px;padding:4px 14px 10px;margin:12px 0}
nav a{margin-right:14px}.legend{font-size:12px;color:#444;margin:2px 0 8px}.key{margin-right:12px}
.key i{display:inline-block;width:18px;margin-right:4px;vertical-align:middle}code{font-size:12px}
.small td,.small th{font-size:12px;padding:2px 6px}svg.chart{display:block;margin:4px 0}
td.text,th.text{text-align:left}.tl{width:550px}.caption{font-size:12px;color:#555;text-align:center}
"""


def render_html(report: dict[str, Any]) -> str:
    sections = [
        ("models", "Models", _models),
        ("topics", "Topics (segments)", _topics),
        ("trends", "Trends", _trends),
        ("popularity", "Popularity", _popularity),
    ]
    nav = " ".join(f'<a href="#{key}">{escape(title)}</a>' for key, title, _ in sections)
    body = [
        (
            f"<h1>postlens evaluation</h1><p class=meta>workspace <code>{escape(str(report.get('workspace')))}</code>"
            f" &middot; {_int(report.get('posts'))} posts &middot; generated {escape(_time(report.get('generated_at')))}"
            f"</p><nav>{nav}</nav>"
        )
    ]
    for problem in report.get("problems") or []:
        body.append(f"<p class=warn>problem: {escape(str(problem))}</p>")
    for key, title, draw in sections:
        section = report.get(key) or {"status": "absent", "reason": "not in this report"}
        body.append(f'<h2 id="{key}">{escape(title)}</h2>')
        body.append(_absent(section) if section.get("status") != "present" else draw(section))
    return (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>postlens evaluation</title>"
        f"<meta name=viewport content='width=device-width, initial-scale=1'><style>{CSS}</style></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )


# ---------------------------------------------------------------- helpers


def _absent(section: dict[str, Any]) -> str:
    return f"<p class=absent>{escape(str(section.get('reason') or 'absent'))}</p>"


def _num(value: Any, digits: int = 3) -> str:
    if value is None:
        return "&ndash;"
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return escape(str(value))


def _int(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else "&ndash;"


def _time(value: Any) -> str:
    if not value:
        return "?"
    try:
        return datetime.fromisoformat(str(value)).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return str(value)


def _day(value: Any, bin_seconds: int = 86400) -> str:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return moment.strftime("%m-%d" if bin_seconds >= 86400 else "%m-%d %H:%M")


def _table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    classes: Sequence[str] = (),
    small: bool = False,
    text: Sequence[int] = (),
) -> str:
    """Cells are HTML already (escaped by the caller); ``classes`` per row (e.g. 'chosen'); ``text``: columns
    of words, aligned left (numbers align right)."""

    def align(j: int) -> str:
        return " class=text" if j in text else ""

    head = "".join(f"<th{align(j)}>{escape(h)}</th>" for j, h in enumerate(headers))
    lines = []
    for i, row in enumerate(rows):
        css = f' class="{classes[i]}"' if i < len(classes) and classes[i] else ""
        lines.append(f"<tr{css}>" + "".join(f"<td{align(j)}>{cell}</td>" for j, cell in enumerate(row)) + "</tr>")
    return f"<table{' class=small' if small else ''}><tr>{head}</tr>{''.join(lines)}</table>"


def _sub(title: str, section: dict[str, Any], draw: Any) -> str:
    inner = draw(section) if section.get("status") == "present" else _absent(section)
    return f"<h4>{escape(title)}</h4>{inner}"


# ---------------------------------------------------------------- models


def _models(section: dict[str, Any]) -> str:
    return "".join(_model(m) for m in section["items"])


def _model(m: dict[str, Any]) -> str:
    sizes = m.get("sizes") or {}
    split = m.get("split") or {}
    facts = [
        (
            f"{escape(str(m.get('kind')))} &middot; {escape(str(m.get('task')))} of "
            f"<code>{escape(str(m.get('target')))}</code>"
        ),
        (
            f"split {escape(str(split.get('strategy', '?')))}: train {_int(sizes.get('train'))} / val "
            f"{_int(sizes.get('val'))} / held-out {_int(sizes.get('test'))}"
        ),
        f"trained in {_num(m.get('train_seconds'), 1)} s"
        + (f", {m['epochs_run']} epochs" if m.get("kind") in ("fusion", "finetune") and m.get("epochs_run") else ""),
        f"saved {escape(_time(m.get('saved_at')))}",
    ]
    if m.get("imbalance") not in (None, "none"):
        facts.append(f"imbalance {escape(str(m['imbalance']))}")
    inputs = ", ".join(f"{escape(k)} <code>{escape(str(v))}</code>" for k, v in (m.get("inputs") or {}).items())
    parts = [
        f'<div class=card id="model-{escape(m["name"])}"><h3>{escape(m["name"])}</h3>'
        f"<p class=meta>{' &middot; '.join(facts)}</p>" + (f"<p class=meta>inputs: {inputs}</p>" if inputs else "")
    ]
    parts += [f"<p class=warn>warning: {escape(str(w))}</p>" for w in m.get("warnings") or []]
    parts.append(_sub("figures", m["figures"], _figures))
    parts.append(
        "<div class=grid><div>"
        + _sub("per class (held-out)", m["per_class"], _per_class)
        + "</div><div>"
        + _sub("confusion matrix (held-out)", m["confusion"], _confusion)
        + "</div></div>"
    )
    parts.append(_sub("calibration", m["calibration"], _calibration))
    parts.append(_sub("modality ablation (held-out, one modality removed at a time)", m["ablation"], _ablation))
    parts.append(_sub("imbalance methods (chosen on validation)", m["imbalance_comparison"], _imbalance))
    parts.append(_sub("distillation (teacher vs student, held-out)", m["distillation"], _distillation))
    parts.append(_sub("cross-validation", m["cross_validation"], _cross_validation))
    return "".join(parts) + "</div>"


def _figures(s: dict[str, Any]) -> str:
    keys = s["keys"]
    rows = [
        [
            {"val": "validation (tuning)", "test": "held-out"}.get(r["side"], escape(r["side"])),
            _num(r.get("n")),
            *[_num(r.get(k)) for k in keys],
        ]
        for r in s["rows"]
    ]
    return _table(["side", "n", *[TITLES.get(k, k) for k in keys]], rows)


def _per_class(s: dict[str, Any]) -> str:
    rows = [
        [escape(str(r["class"])), _num(r["precision"]), _num(r["recall"]), _num(r["f1"]), _num(r["support"])]
        for r in s["rows"]
    ]
    chart = svg.bars([(str(r["class"]), r["f1"]) for r in s["rows"]], title="F1 per class", low=0.0, high=1.0)
    return _table(["class", "precision", "recall", "F1", "support"], rows) + chart


def _confusion(s: dict[str, Any]) -> str:
    return svg.heatmap(
        s["labels"], s["matrix"], s["row_shares"], title="confusion matrix, rows true, columns predicted"
    )


def _calibration(s: dict[str, Any]) -> str:
    charts, rows = [], []
    for side, c in s["sides"].items():
        name = "validation" if side == "val" else "held-out"
        charts.append(
            f"<div>{svg.reliability_diagram(c['bins'], title=f'reliability, {name}')}"
            f"<div class=caption>{escape(name)}, ECE {_num(c['ece'])}</div></div>"
        )
        rows.append(
            [
                name,
                _num(c["n"]),
                _num(c["ece"]),
                _num(c["mce"]),
                _num(c.get("brier")),
                _num(c["accuracy"]),
                _num(c["mean_confidence"]),
            ]
        )
    table = _table(["side", "n", "ECE", "MCE", "Brier", "accuracy", "mean confidence"], rows)
    return (
        f"{table}<div class=grid>{''.join(charts)}</div><p class=legend>Bars: accuracy of the posts in each "
        "confidence bin; dots: their mean confidence; dashes: perfect calibration; grey: posts per bin. ECE: the "
        "mean gap between accuracy and confidence, weighted by posts.</p>"
    )


def _ablation(s: dict[str, Any]) -> str:
    keys = [k for k in s["rows"][0] if k in TITLES]
    rows = [
        [escape(r["inputs"]), _num(r["n"]), *[_num(r.get(k)) for k in keys], _num(r.get("delta"))] for r in s["rows"]
    ]
    chart = svg.bars(
        [(r["inputs"], r.get("delta")) for r in s["rows"][1:]],
        title=f"change of {TITLES.get(s['figure'], s['figure'])} when a modality is removed",
    )
    return (
        _table(["inputs", "n", *[TITLES[k] for k in keys], f"change of {TITLES.get(s['figure'], s['figure'])}"], rows)
        + chart
    )


def _imbalance(s: dict[str, Any]) -> str:
    rows = [
        [
            escape(r["method"]),
            _num(r["macro_f1"]),
            _num(r["balanced_accuracy"]),
            f"{_num(r['minority_recall'])} ({escape(str(r.get('minority_class')))})",
            _num(r.get("train_seconds"), 1),
            "chosen" if r["chosen"] else "",
        ]
        for r in s["rows"]
    ]
    test = s.get("test_of_chosen") or {}
    note = (
        f"<p class=meta>held-out figures of the chosen method only ({escape(str(s.get('chosen')))}), scored once: "
        f"macro-F1 {_num(test.get('macro_f1'))}, balanced acc {_num(test.get('balanced_accuracy'))}, minority recall "
        f"{_num(test.get('minority_recall'))} on {_int(test.get('n'))} posts</p>"
    )
    return (
        _table(
            ["method", "val macro-F1", "val balanced acc", "val minority recall", "train s", ""],
            rows,
            classes=["chosen" if r["chosen"] else "" for r in s["rows"]],
        )
        + note
    )


def _distillation(s: dict[str, Any]) -> str:
    rows = [
        [
            escape(r["model"]),
            _num(r["macro_f1"]),
            _num(r["balanced_accuracy"]),
            _num(r["accuracy"]),
            _num(r["ms_per_post_single"], 2),
            _num(r["ms_per_post_batched"], 3),
        ]
        for r in s["rows"]
    ]
    return (
        _table(["model", "macro-F1", "balanced acc", "accuracy", "ms/post, one at a time", "ms/post, batched"], rows)
        + f"<p class=meta>speed-up one post at a time: x{_num(s.get('speedup_single'), 1)}</p>"
    )


def _cross_validation(s: dict[str, Any]) -> str:
    n = max((len(r["folds"]) for r in s["rows"]), default=0)
    rows = [
        [
            TITLES.get(r["figure"], escape(r["figure"])),
            f"{_num(r['mean'])} &plusmn; {_num(r['std'])}",
            *[_num(v) for v in r["folds"]],
        ]
        for r in s["rows"]
    ]
    return (
        f"<p class=meta>{_int(s.get('k'))} {escape(str(s.get('kind')))} folds over {escape(str(s.get('over')))}</p>"
        + _table(["figure", "mean \u00b1 std", *[f"fold {i + 1}" for i in range(n)]], rows)
    )


# ---------------------------------------------------------------- tasks


def _topics(section: dict[str, Any]) -> str:
    out = []
    for s in section["items"]:
        facts = _table(
            ["topics", "posts", "outliers", "outlier rate", "mean NPMI", "diversity"],
            [
                [
                    _num(s["topics"]),
                    _num(s["posts"]),
                    _num(s["outliers"]),
                    _num(s["outlier_rate"]),
                    _num(s["npmi_mean"]),
                    _num(s["diversity"]),
                ]
            ],
        )
        rows = [
            [_num(t["topic_id"]), escape(t["label"]), _num(t["size"]), _num(t["npmi"]), escape(", ".join(t["words"]))]
            for t in s["table"]
        ]
        sizes = svg.bars(
            [(f"{t['topic_id']}: {t['label']}", float(t["size"])) for t in s["table"][:20]],
            title="posts per topic",
            digits=0,
        )
        history = ", ".join(f"{escape(k)} {v:,}" for k, v in s["history"].items())
        out.append(
            f"<div class=card><h3>{escape(s['name'])} <span class=meta>({escape(s['kind'])})</span></h3>{facts}"
            f"<p class=meta>NPMI: mean pairwise coherence of each topic's top words over "
            f"{_int(s.get('npmi_posts'))} posts (-1 to 1); "
            f"diversity: share of distinct words among all topics' top 10.</p>"
            + (f"<p class=meta>history: {history}</p>" if history else "")
            + f"<div class=grid><div>{_table(['id', 'label', 'posts', 'NPMI', 'top words'], rows, small=True, text=(1, 4))}"
            f"</div><div>{sizes}</div></div>"
            + _sub("posts per topic over time", s["over_time"], _topics_over_time(s))
            + "</div>"
        )
    return "".join(out)


def _topics_over_time(s: dict[str, Any]) -> Any:
    labels = {t["topic_id"]: t["label"] for t in s["table"]}

    def draw(o: dict[str, Any]) -> str:
        names = [
            f"{t}: {labels.get(t, '')}" if t is not None else "other topics"
            for t in (x["topic_id"] for x in o["series"])
        ]
        lines = [{"name": name, "values": x["counts"]} for name, x in zip(names, o["series"])]
        ticks = [_day(b, 86400) for b in o["bins"]]
        return svg.timeline(ticks, lines, title=f"posts per topic per {o['bin']}", width=900, height=220) + svg.legend(
            names
        )

    return draw


def _trends(section: dict[str, Any]) -> str:
    out = []
    for s in section["items"]:
        width = s["bin_seconds"]
        ticks = [_day(b, width) for b in s["bins"]]
        charts = []
        for line in s["timelines"]:
            term = line["term"] + (f" ({line['label']})" if line.get("label") else "")
            lines = [
                {"name": f"{term} (posts)", "values": line["counts"]},
                {"name": "expected", "values": line["expected"], "dashed": True, "color": svg.MUTED},
            ]
            chart = svg.timeline(
                ticks, lines, title=f"{term} per bin", width=540, height=150, markers=[(0, i) for i in line["alerts"]]
            )
            charts.append(
                f"<div class=tl><b>{escape(term)}</b> <span class=meta>{line['total']:,} in all; "
                f"{len(line['alerts'])} burst(s); last state {escape(str(line['state'] or '-'))}</span>{chart}</div>"
            )
        alerts = [
            [
                escape(str(a["term"]) + (f" ({a['label']})" if a.get("label") else "")),
                escape(_time(a["bin_start"])),
                _num(a["count"]),
                _num(a["expected"], 1),
                _num(a["score"], 1),
            ]
            for a in s["alerts"]
        ]
        dropped = f"; the {s['bins_dropped']:,} oldest bins are not drawn" if s["bins_dropped"] else ""
        out.append(
            f"<div class=card><h3>{escape(s['source'])}</h3><p class=meta>{s['terms']:,} terms, "
            f"{len(s['bins']):,} bins of {_duration(width)}, detector {escape(str(s['detector']))}{dropped}. "
            "Lines: posts per bin; dashes: the count expected from the term's own history; red dots: bursts "
            "that raised an alert.</p><div class=grid>"
            + "".join(charts)
            + "</div><h4>alerts</h4>"
            + (
                _table(["term", "bin", "posts", "expected", "score"], alerts, small=True, text=(0, 1))
                if alerts
                else "<p class=absent>no alert fired</p>"
            )
            + "</div>"
        )
    return "".join(out)


def _duration(seconds: int) -> str:
    for unit, size in (("week", 604800), ("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            n = seconds // size
            return f"{n} {unit}" + ("s" if n > 1 else "")
    return f"{seconds} s"


def _popularity(section: dict[str, Any]) -> str:
    out = []
    for p in section["items"]:
        sizes = p.get("sizes") or {}
        horizon = "latest snapshot" if p.get("horizon_hours") is None else f"within {p['horizon_hours']:g} h"
        head = (
            f"<div class=card><h3>{escape(p['name'])}</h3><p class=meta>log1p({escape(str(p.get('metric')))}), "
            f"{escape(horizon)}; time split train {_int(sizes.get('train'))} / val {_int(sizes.get('val'))} / "
            f"test {_int(sizes.get('test'))}; saved {escape(_time(p.get('saved_at')))}</p>"
        )
        out.append(
            head
            + _sub("test period: the learned model and its baselines", p["figures"], _popularity_figures)
            + _sub("engagement curve", p["curve"], _popularity_curve)
            + "</div>"
        )
    return "".join(out)


def _popularity_figures(s: dict[str, Any]) -> str:
    rows = [
        [escape(r["model"]), _num(r["spearman"]), _num(r["mae"]), _num(r.get("rmse")), _num(r["n"])] for r in s["rows"]
    ]
    chart = svg.bars([(r["model"], r["spearman"]) for r in s["rows"]], title="Spearman on the test period")
    return (
        _table(
            ["model", "Spearman", "MAE", "RMSE", "n"],
            rows,
            classes=["chosen" if r["learned"] else "" for r in s["rows"]],
        )
        + chart
    )


def _popularity_curve(s: dict[str, Any]) -> str:
    return _table(
        ["model", "Spearman", "MAE", "n"],
        [[escape(r["model"]), _num(r["spearman"]), _num(r["mae"]), _num(r["n"])] for r in s["rows"]],
    )
