"""Terminal output of ``postlens scrape``: one line per page, then the import counts."""

from __future__ import annotations

from rich.console import Console

from postlens.pipeline.scrape import PageOutcome, ScrapeSummary


def page_line(outcome: PageOutcome) -> str:
    if outcome.refused:
        return f"refused {outcome.url} [{outcome.refused}]: {outcome.reason}"
    return f"read {outcome.url}: {outcome.posts} post(s)"


def print_scrape_summary(console: Console, summary: ScrapeSummary) -> None:
    read = sum(1 for p in summary.pages if not p.refused)
    console.print(
        f"scrape run {summary.run_id}: {read} of {len(summary.pages)} page(s) read, "
        f"{summary.requests} request(s) ({summary.robots_fetched} for robots.txt)",
        highlight=False,
    )
    console.print(
        f"posts: {summary.imported} new, {summary.updated} updated, {summary.unchanged} unchanged; "
        f"{summary.quarantined} quarantined, {summary.flagged} flagged",
        highlight=False,
    )
    for code, count in sorted(summary.reasons.items()):
        console.print(f"  {code}: {count}", highlight=False)
