"""Rich output of ``postlens segments``: topics with words and typical posts, sizes over time, history."""

from __future__ import annotations

from collections import defaultdict

from rich.console import Console
from rich.table import Table

from postlens.pipeline.segments import SegmentsReport, SegmentsView
from postlens.serve.cells import terminal_safe

MAX_TEXT = 110


def print_segments_report(console: Console, report: SegmentsReport) -> None:
    console.print(
        f"[bold]{report.segmentation}[/] ({report.kind}): {report.posts:,} posts placed, "
        f"{report.outliers:,} without a segment; {len(report.topics)} active topics; {report.seconds:.1f} s"
    )
    events = [c for c in report.changes if c.event != "kept"]
    for change in events[:20]:
        others = f" -> {', '.join(map(str, change.others))}" if change.others else ""
        console.print(
            f"  {change.event} topic {change.topic_id}{others}: {change.posts:,} posts {terminal_safe(change.detail)}",
            highlight=False,
        )
    if len(events) > 20:
        console.print(f"  ... and {len(events) - 20} more changes (postlens segments show)")
    table = Table("id", "posts", "words", title=None, show_lines=False)
    for topic in sorted(report.topics, key=lambda t: -t.size):
        table.add_row(str(topic.topic_id), f"{topic.size:,}", terminal_safe(", ".join(w for w, _ in topic.words[:8])))
    console.print(table)


def print_segments_view(console: Console, view: SegmentsView) -> None:
    others = [f"{name} ({kind}, {topics} topics, {posts:,} posts)" for name, kind, topics, posts in view.segmentations]
    console.print("segmentations: " + "; ".join(others), highlight=False)
    console.print(f"[bold]{view.segmentation}[/]: {len(view.topics)} topics, {view.outliers:,} posts without a segment")
    table = Table("id", "status", "posts", "label", "typical posts", show_lines=True)
    for row in sorted(view.topics, key=lambda r: (r["status"] != "active", -r["size"])):
        examples = "\n".join(_short(t) for t in view.examples.get(row["topic_id"], []))
        label = row["name"] or ", ".join((row["words"] or [])[:6])
        table.add_row(str(row["topic_id"]), row["status"], f"{row['size']:,}", terminal_safe(label or ""), examples)
    console.print(table)
    if view.over_time:
        bins = sorted({b for b, _, _ in view.over_time})
        counts: dict[int, dict[object, int]] = defaultdict(dict)
        for b, topic, n in view.over_time:
            counts[topic][b] = n
        grid = Table(
            "id",
            *[b.strftime("%Y-%m-%d %H:%M")[:16] if hasattr(b, "strftime") else str(b) for b in bins[-12:]],
            title="posts per topic over time (latest bins)",
        )
        for topic in sorted(counts):
            grid.add_row(str(topic), *[str(counts[topic].get(b, "")) for b in bins[-12:]])
        console.print(grid)
    events = [h for h in view.history if h[1] != "kept"]
    if events:
        console.print("history:")
        for at, event, topic, others, posts, detail in events[-20:]:
            extra = f" -> {', '.join(map(str, others))}" if others else ""
            console.print(
                f"  {at:%Y-%m-%d %H:%M} {event} topic {topic}{extra} ({posts or 0:,} posts) {terminal_safe(detail or '')}",
                highlight=False,
            )


def _short(text: str) -> str:
    flat = " ".join((text or "").split())
    return terminal_safe(flat if len(flat) <= MAX_TEXT else flat[: MAX_TEXT - 1] + "…")
