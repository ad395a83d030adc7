"""How ``postlens sentiment`` looks at a terminal: one row per topic or time bin, lexicon and model side by side."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from postlens.serve.cells import terminal_safe
from postlens.tasks.sentiment import LEXICON_LABELS, SentimentGroup, SentimentReport

_LEXICON_STYLE = {"negative": "red", "neutral": "dim", "positive": "green"}
MAX_CLASSES_SHOWN = 6
KEY_WIDTH = 40


def _compound(value: float | None) -> Text:
    if value is None:
        return Text("-", style="dim")
    style = "green" if value >= 0.05 else "red" if value <= -0.05 else ""
    return Text(f"{value:+.2f}", style=style)


def _shares(shares: dict[str, float], names: list[str]) -> str:
    return " ".join(f"{shares.get(n, 0.0):4.0%}" for n in names)


def _row(group: SentimentGroup, classes: list[str]) -> list[Text | str]:
    cells: list[Text | str] = [
        Text(terminal_safe(group.key)),
        f"{group.posts:,}",
        _compound(group.compound_mean),
        _shares(group.lexicon_shares, list(LEXICON_LABELS)) if group.scored else "-",
    ]
    if classes:
        cells += [
            _shares(group.label_shares, classes) if group.predicted else "-",
            Text(terminal_safe(group.top_label or "-"), style="bold"),
            f"{group.predicted:,}",
        ]
    return cells


def _key_width(console: Console, classes: list[str]) -> int:
    """What the terminal leaves for the topic / bin column once the figures have their room."""
    figures = 6 + 6 + 15 + (5 * len(classes) + 10 + 9 if classes else 0)
    columns = 4 + (3 if classes else 0)
    return max(12, min(KEY_WIDTH, console.width - figures - 3 * columns))


def print_sentiment(console: Console, report: SentimentReport, *, limit: int = 50) -> None:
    """``limit``: groups shown at most (topics by size, bins by time: the latest)."""
    classes = report.classes[:MAX_CLASSES_SHOWN]
    source = f"VADER lexicon and model {report.model}" if report.model else "VADER lexicon (no --model)"
    grouping = {"topic": f"per topic ({report.segmentation})", "none": "over all posts"}.get(
        report.by, f"per {report.by} (UTC)"
    )
    console.print(f"[bold]sentiment[/] {grouping}: {source}; {report.overall.posts:,} posts", highlight=False)
    extras = []
    if report.predicted_now:
        extras.append(f"{report.predicted_now:,} posts predicted now (table predictions)")
    if report.vader_computed:
        extras.append(f"{report.vader_computed:,} texts scored by VADER now (feature cache)")
    for line in [*extras, *report.notes]:
        console.print(Text(f"note: {line}", style="dim"), soft_wrap=True)
    if len(report.classes) > MAX_CLASSES_SHOWN:
        console.print(
            Text(
                f"note: the first {MAX_CLASSES_SHOWN} of {len(report.classes)} classes are shown; "
                "SentimentReport.frame() has them all",
                style="dim",
            )
        )
    table = Table(show_edge=False, pad_edge=False)
    table.add_column(
        "topic" if report.by == "topic" else report.by if report.by != "none" else "",
        overflow="ellipsis",
        no_wrap=True,
        max_width=_key_width(console, classes),
    )
    for header in ("posts", "VADER", " neg  neu  pos"):
        table.add_column(header, justify="right", no_wrap=True)
    if classes:
        table.add_column(" ".join(c[:4].rjust(4) for c in classes), justify="right", no_wrap=True)
        table.add_column("top label", no_wrap=True)
        table.add_column("pred.", justify="right", no_wrap=True)
    groups = report.groups if report.by == "topic" else report.groups[-limit:]
    for group in groups[:limit]:
        table.add_row(*_row(group, classes))
    if report.groups and report.by != "none":
        table.add_section()
    table.add_row(*_row(report.overall, classes))
    console.print(table)
    hidden = len(report.groups) - min(len(report.groups), limit)
    if hidden:
        console.print(Text(f"{hidden:,} more groups not shown (--limit)", style="dim"))
    console.print(
        "[dim]VADER: mean compound in -1..1 and the shares of posts it calls negative / neutral / positive"
        + (
            "; then the model's label shares (4-letter class names), its most frequent label and the posts it predicted"
            if classes
            else ""
        )
        + "[/]"
    )
