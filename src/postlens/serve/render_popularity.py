"""Popularity at a terminal: the fit report (learned vs baselines on one test period), predictions
with percentiles, and each post's drivers. Post text never reaches the terminal unescaped."""

from __future__ import annotations

import math
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from postlens.serve.cells import terminal_safe


def _figure(value: Any, digits: int = 3) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def _count(value: float) -> str:
    if value is None or math.isnan(value):
        return "-"
    return f"{value:,.0f}" if value < 1e6 else f"{value / 1e6:,.2f}M"


def print_fit_report(console: Console, report: dict[str, Any]) -> None:
    split = report.get("split", {})
    sizes = split.get("sizes", {})
    horizon = (
        "the latest snapshot"
        if report.get("horizon_hours") is None
        else f"the last snapshot within {report['horizon_hours']:g} h of publishing (or of the first snapshot)"
    )
    console.print(
        f"[bold]{report['name']}[/]: log1p({report['metric']}) at {horizon}; time split train "
        f"{sizes.get('train', 0):,} / val {sizes.get('val', 0):,} / test {sizes.get('test', 0):,}; "
        f"{split.get('residual') or str(split.get('trees', 0)) + ' trees on the residual'}",
        highlight=False,
    )
    for note, count in report.get("notes", {}).items():
        console.print(f"  {note}: {count:,}", highlight=False)
    table = Table(title="test period (the latest posts)", title_justify="left")
    for column in ("model", "Spearman", "MAE", "n"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for name, figures in report.get("publish_time", {}).items():
        table.add_row(name, _figure(figures.get("spearman")), _figure(figures.get("mae")), f"{figures.get('n', 0):,}")
    console.print(table)
    if report.get("modality_importance"):
        console.print(
            "mean |effect| on the log scale, by modality: "
            + ", ".join(f"{k} {v:.3f}" for k, v in report["modality_importance"].items()),
            highlight=False,
        )
    if report.get("importance"):
        console.print(
            "strongest drivers: " + ", ".join(f"{k} {v:.3f}" for k, v in list(report["importance"].items())[:10]),
            highlight=False,
        )
    curve = report.get("curve")
    if curve and "skipped" in curve:
        console.print(f"curve: skipped ({curve['skipped']})", highlight=False)
    elif curve:
        table = Table(
            title=f"curve: each test post's last snapshot from its first (median gap "
            f"{curve.get('median_gap_days', 0):.1f} days)",
            title_justify="left",
        )
        for column in ("model", "Spearman", "MAE", "n"):
            table.add_column(column, justify="left" if column == "model" else "right")
        for name, figures in curve["figures"].items():
            table.add_row(
                name, _figure(figures.get("spearman")), _figure(figures.get("mae")), f"{figures.get('n', 0):,}"
            )
        console.print(table)
        if not curve.get("trees_kept", True):
            console.print("  the curve's trees did not beat the growth line on validation: the line alone is used")
    console.print(f"model saved to {report['folder']}", highlight=False)


def print_predictions(console: Console, run: Any, *, limit: int = 20) -> None:
    frame = run.predictions.frame
    extra = [c for c in frame.columns if "_day_" in c]
    groups = sorted(set(frame["compared_with"]))
    one_group = len(groups) == 1
    table = Table(
        title=f"{len(frame):,} posts predicted" + (f" (first {limit})" if len(frame) > limit else ""),
        title_justify="left",
    )
    columns = [
        "post",
        "predicted",
        "x prior",
        "pct",
        *([] if one_group else ["compared with"]),
        "observed",
        *(c.replace("_day_", " day ") for c in extra),
    ]
    for column in columns:
        table.add_column(column, justify="left" if column in ("post", "compared with") else "right", overflow="fold")
    for row in frame.head(limit).itertuples(index=False):
        values = row._asdict()
        group = [] if one_group else [terminal_safe(values["compared_with"])]
        table.add_row(
            terminal_safe(str(values["post_id"])),
            _count(values["predicted"]),
            f"x{values['vs_followers']:.2f}",
            f"{values['percentile']:.0f}",
            *group,
            _count(values["observed"]),
            *(_count(values[c]) for c in extra),
        )
    console.print(table)
    console.print(
        "x prior: the prediction over what the author's followers alone predict; pct: percentile among "
        + (f"'{terminal_safe(groups[0])}'" if one_group else "the posts of the group shown")
        + (f"; {', '.join(extra)}: the curve from the first snapshot" if extra else ""),
        highlight=False,
    )
    p = run.predictions
    lacking = {k: v for k, v in p.lacking.items() if v}
    if lacking:
        console.print("predicted without: " + ", ".join(f"{k} ({v:,} posts lacked it)" for k, v in lacking.items()))
    if p.written:
        console.print(
            f"written to the predictions table (model = '{run.model_folder.name}', {p.written:,} rows)", highlight=False
        )
    if run.out is not None:
        console.print(f"written to {run.out}", highlight=False)


def print_explanations(console: Console, run: Any, *, top: int = 8) -> None:
    frame = run.predictions.frame
    explanation = run.predictions.explanation
    for i, row in enumerate(frame.itertuples(index=False)):
        values = row._asdict()
        console.print(
            Text.assemble(
                (terminal_safe(str(values["post_id"])), "bold"),
                f": predicted {_count(values['predicted'])} (log {values['predicted_log']:.2f} = base "
                f"{explanation.base:.2f} + drivers), x{values['vs_followers']:.2f} the follower prior, percentile "
                f"{values['percentile']:.0f} among {terminal_safe(values['compared_with'])}; observed {_count(values['observed'])}",
            )
        )
        names, summed = explanation.by_modality()
        console.print("  by modality: " + ", ".join(f"{n} {v:+.2f}" for n, v in zip(names, summed[i])), highlight=False)
        table = Table(show_header=True, box=None, padding=(0, 2))
        for column in ("driver", "modality", "effect (log)", "x count"):
            table.add_column(column, justify="left" if column in ("driver", "modality") else "right")
        for name, modality, effect in explanation.top(i, top):
            table.add_row(name, modality, f"{effect:+.3f}", f"x{math.exp(effect):.2f}")
        console.print(table)
