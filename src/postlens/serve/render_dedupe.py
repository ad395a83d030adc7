"""Rich output of ``postlens dedupe``: clusters per reason, shared images, cross-source links, the largest."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from postlens.pipeline.dedupe import DedupeReport
from postlens.serve.cells import terminal_safe


def print_dedupe_report(console: Console, report: DedupeReport, *, full: bool = False) -> None:
    console.print(
        f"[bold]dedupe[/] {report.run_id} ({report.finished_at}): {report.posts:,} posts, "
        f"{report.clusters:,} clusters holding {report.posts_in_clusters:,} posts; nothing deleted; "
        f"{report.seconds:.1f} s",
        highlight=False,
    )
    reasons = Table("reason", "groups", "posts", "links kept", title="groups each reason makes on its own")
    for reason, facts in report.by_reason.items():
        reasons.add_row(reason, f"{facts['groups']:,}", f"{facts['posts']:,}", f"{facts['links']:,}")
    console.print(reasons)
    if not full:
        console.print("[dim]postlens dedupe --last shows the full report; table duplicate_clusters has every link[/]")
        return
    images = report.shared_images
    console.print(
        f"shared images: {images.get('groups', 0):,} groups of 2+ posts holding {images.get('posts_in_groups', 0):,} "
        f"posts (largest {images.get('largest_group', 0):,}); {images.get('posts_with_images', 0):,} posts have images "
        f"({images.get('stored_images', 0):,} stored, {images.get('hashed_now', 0):,} hashed now, "
        f"{images.get('remote_images', 0):,} known by address only)",
        highlight=False,
    )
    cross = report.cross_source
    pairs = "; ".join(f"{pair}: {count:,}" for pair, count in cross.get("pairs", {}).items()) or "none"
    console.print(
        f"cross-source: {cross.get('clusters', 0):,} clusters span two or more sources, "
        f"{cross.get('links', 0):,} links join posts of different sources ({terminal_safe(pairs)})",
        highlight=False,
    )
    largest = Table(show_lines=True, title="largest clusters")
    largest.add_column("cluster (first post)", no_wrap=True)
    for name in ("posts", "reasons", "sources", "first post's text"):
        largest.add_column(name)
    for cluster in report.largest:
        largest.add_row(
            terminal_safe(cluster["cluster_id"]),
            f"{cluster['size']:,}",
            ", ".join(f"{k}: {v:,}" for k, v in cluster["reasons"].items()),
            terminal_safe(", ".join(f"{k}: {v:,}" for k, v in cluster["sources"].items())),
            terminal_safe(" ".join(str(cluster["text"]).split())[:100]),
        )
    console.print(largest)
    skipped = "; ".join(f"{reason}: {count:,}" for reason, count in report.skipped.items()) or "nothing"
    console.print(f"not compared: {terminal_safe(skipped)}", highlight=False)
    for post_id, reason in report.examples[:5]:
        console.print(f"  {terminal_safe(post_id)}: {terminal_safe(reason)}", highlight=False)
    console.print(
        f"[dim]settings: text threshold {report.settings.get('text_threshold')}, image distance "
        f"{report.settings.get('image_max_distance')} bits; {report.text_pairs_compared:,} text pairs compared[/]"
    )
