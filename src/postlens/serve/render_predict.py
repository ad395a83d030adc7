"""What ``postlens predict`` did, at a terminal."""

from __future__ import annotations

from rich.console import Console

from postlens.pipeline.predict import PredictReport


def print_report(console: Console, report: PredictReport) -> None:
    p = report.predictions
    if report.imported is not None:
        i = report.imported
        console.print(f"{report.file_posts:,} posts in the files ({i.imported:,} new, {i.updated:,} updated, "
                      f"{i.unchanged:,} unchanged, {i.quarantined:,} quarantined)")
    console.print(f"[bold]{p.model}[/] predicted {len(p):,} posts ({p.featurized:,} feature items computed)")
    counts = p.label_counts()
    if counts:
        console.print("labels: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    elif p.task == "regression" and len(p):
        values = p.frame["value"]
        console.print(f"values: mean {values.mean():.3f}, min {values.min():.3f}, max {values.max():.3f}")
    lacking = {m: n for m, n in p.lacking.items() if n}
    if lacking:
        console.print("predicted without: " + ", ".join(f"{m} ({n:,} posts lacked it)" for m, n in lacking.items()))
    console.print(f"written to the predictions table (model = '{p.model}', {p.written:,} rows)"
                  + (f" and {report.out}" if report.out else ""))
