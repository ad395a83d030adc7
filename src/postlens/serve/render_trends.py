"""How ``postlens trends`` looks at a terminal: the window, the terms with a sparkline, and the alerts."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from postlens.serve.cells import terminal_safe
from postlens.tasks.trends import TrendsReport, format_duration

_BLOCKS = " ▁▂▃▄▅▆▇█"
_STYLE = {"emerging": "bold red", "peaking": "yellow", "declining": "cyan", "steady": "dim"}


def sparkline(counts: list[int], width: int = 48) -> str:
    """The last ``width`` bins as block characters, scaled to the largest count shown."""
    shown = counts[-width:]
    top = max(shown, default=0)
    if top == 0:
        return " " * len(shown)
    return "".join(_BLOCKS[0 if c == 0 else max(1, round(c / top * (len(_BLOCKS) - 1)))] for c in shown)


def _time(value: object) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if hasattr(value, "strftime") else "-"


def print_trends(console: Console, report: TrendsReport, *, width: int | None = None) -> None:
    """``width``: bins in each sparkline (default: what the terminal has room for, 8 to 48)."""
    width = width or max(8, min(48, console.width - 80))
    console.print(
        f"[bold]trends[/] {_time(report.since)} .. {_time(report.until)} UTC, bins of "
        f"{format_duration(report.bin_seconds)} ({len(report.bins):,}), detector {report.detector}: "
        f"{report.posts_in_window:,} posts in the window"
    )
    for note in report.notes:
        console.print(Text(f"note: {note}", style="dim"), soft_wrap=True)
    if report.terms:
        shown = min(width, len(report.bins))
        table = Table(
            title=f"terms (counts per bin, last {shown} bins)", title_justify="left", show_edge=False, pad_edge=False
        )
        longest = max(len(t.term) for t in report.terms)
        for header in ("source", "term", "count", "per bin", "state", "growth/bin", "last alert"):
            table.add_column(
                header,
                justify="right" if header in ("count", "growth/bin") else "left",
                overflow="fold",
                no_wrap=header == "per bin",
                min_width=min(longest, 24) if header == "term" else None,
            )
        for t in report.terms:
            growth = "-" if t.growth is None else f"{t.growth:+.0%}"
            table.add_row(
                t.source,
                Text(terminal_safe(t.term)),
                f"{t.total:,}",
                sparkline(t.counts, width),
                Text(t.state, style=_STYLE.get(t.state, "")),
                growth,
                _time(t.last_alert),
            )
        console.print(table)
    else:
        console.print("no term was counted in this window")
    if not report.alerts:
        console.print("no alert fired in this window")
        return
    _print_stories(console, report)
    table = Table(
        title=f"alerts ({len(report.alerts):,}): fired at the end of the alerting bin; * = at the newest post, "
        "the bin is not complete yet",
        title_justify="left",
        show_edge=False,
        pad_edge=False,
    )
    longest = max(len(a.term) for a in report.alerts)
    for header in ("fired at (UTC)", "source", "term", "count", "expected", "score"):
        table.add_column(
            header,
            justify="right" if header in ("count", "expected", "score") else "left",
            overflow="fold",
            min_width=min(longest, 24) if header == "term" else None,
        )
    for a in report.alerts:
        table.add_row(
            _time(a.fired_at) + ("*" if a.provisional else ""),
            a.source,
            Text(terminal_safe(a.term)),
            f"{a.count:,}",
            f"{a.expected:.2f}",
            f"{a.score:.1f}",
        )
    console.print(table)
    console.print('[dim]every alert since the first post: postlens sql "select * from alerts order by fired_at"[/]')


def _print_stories(console: Console, report: TrendsReport) -> None:
    """One row per story: the time its first bin fired and the terms grouped into it since."""
    table = Table(
        title=f"stories ({len(report.stories):,}): one alert per story; later alerts of the same posts join it",
        title_justify="left",
        show_edge=False,
        pad_edge=False,
    )
    for header in ("fired at (UTC)", "story", "alerts", "terms"):
        table.add_column(header, justify="right" if header == "alerts" else "left", overflow="fold")
    for story in report.stories:
        terms = list(dict.fromkeys(f"{m.source}:{m.term}" for m in story.members))
        shown = ", ".join(terms[:6]) + (f" (+{len(terms) - 6})" if len(terms) > 6 else "")
        table.add_row(
            _time(story.fired_at) + ("*" if story.provisional else ""),
            Text(terminal_safe(story.lead)),
            f"{len(story.members):,}",
            Text(terminal_safe(shown)),
        )
    console.print(table)
