"""Terminal output of ``postlens collect``: a line per page while it runs, a summary at the end."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from postlens.pipeline.collect import CollectSummary
from postlens.serve.cells import terminal_safe


def page_line(summary: CollectSummary) -> str:
    """'page 3: 120 posts so far (80 new, 40 seen before), 2 quarantined, media 14 fetched / 1 refused'."""
    return (
        f"page {summary.pages}: {summary.posts_seen:,} posts so far ({summary.imported:,} new, "
        f"{summary.updated + summary.unchanged:,} seen before), {summary.quarantined:,} quarantined, "
        f"media {summary.media_fetched:,} fetched / {summary.media_refused:,} refused"
    )


def print_collect_summary(console: Console, summary: CollectSummary) -> None:
    where = terminal_safe(f"{summary.source} {summary.query!r} at {summary.endpoint}")
    state = "caught up" if summary.caught_up else "not caught up"
    console.print(
        Text(
            f"collect {summary.run_id} ({where}): {summary.pages:,} pages, {summary.posts_seen:,} posts "
            f"({summary.imported:,} new, {summary.updated:,} updated, {summary.unchanged:,} unchanged), "
            f"{summary.snapshots_added:,} engagement snapshots, {summary.quarantined:,} quarantined, "
            f"{summary.flagged:,} flagged; media {summary.media_fetched:,} fetched, {summary.media_refused:,} refused; "
            f"{state}" + (" (resumed an unfinished walk)" if summary.resumed else "")
        ),
        soft_wrap=True,
    )
    window = summary.floor.isoformat(timespec="seconds") if summary.floor else "?"
    newest = summary.high_water.isoformat(timespec="seconds") if summary.high_water else "none yet"
    console.print(
        Text(
            f"  window from {window}; newest post fully collected: {newest}; "
            f"{summary.older_than_window:,} posts older than the window skipped"
        ),
        style="dim",
        soft_wrap=True,
    )
    if summary.requests:
        console.print(
            Text(
                f"  {summary.requests:,} requests, {summary.retries:,} retries, "
                f"{summary.rate_limit_waits:,} rate-limit waits ({summary.waited_seconds:,.0f} s)"
            ),
            style="dim",
        )
    if summary.reasons:
        reasons = ", ".join(f"{code} {n:,}" for code, n in sorted(summary.reasons.items(), key=lambda kv: -kv[1]))
        console.print(f"  quarantine reasons: {reasons}  (see 'postlens quarantine')")
    if summary.error:
        console.print(Text.assemble(("stopped: ", "bold red"), terminal_safe(summary.error)), soft_wrap=True)
        console.print("  what was collected before is saved; the next run resumes from the last stored page")
    elif summary.stopped:
        console.print(Text(f"  stopped at the {summary.stopped}"))
