"""The agent at a terminal: a readable summary of an Insight, and search hits. Post text (the caller's
and the workspace's) is escaped before it reaches the terminal."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from postlens.agent.insight import Failure, Insight, SearchResult, SimilarPost
from postlens.serve.cells import terminal_safe

TEXT_CHARS = 160


def _short(text: str | None, limit: int = TEXT_CHARS) -> str:
    flat = " ".join((text or "").split())
    return terminal_safe(flat if len(flat) <= limit else flat[: limit - 1] + "…")


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def print_insight(console: Console, insight: Insight | Failure, *, title: str | None = None) -> None:
    if isinstance(insight, Failure):
        console.print(
            f"[bold red]input {insight.index + 1}[/]: {insight.code}: {terminal_safe(insight.message)}", highlight=False
        )
        return
    head = title or insight.post_id or "post"
    language = (
        f"{insight.language} ({insight.language_confidence:.2f})"
        if insight.language_confidence
        else insight.language or "-"
    )
    console.print(
        f"[bold]{terminal_safe(head)}[/]  modalities: {', '.join(insight.modalities) or 'none'}"
        f"  missing: {', '.join(insight.missing_modalities) or 'none'}  language: {language}",
        highlight=False,
    )
    if insight.text.strip():
        console.print(f"  text: {_short(insight.cleaned_text or insight.text)}", highlight=False)
    for name, value in (("OCR", insight.ocr_text), ("on screen", insight.video_text), ("heard", insight.transcript)):
        if value:
            console.print(f"  {name}: {_short(value)}", highlight=False)
    for media in insight.media:
        size = f"{media.width}x{media.height}" if media.width else ""
        length = f"{media.duration_s:.1f} s" if media.duration_s else ""
        console.print(
            f"  media[{media.index}] {media.kind} {terminal_safe(media.name)} {media.mime} "
            f"{media.bytes:,} bytes {size} {length}".rstrip(),
            highlight=False,
        )
    if insight.visual_labels:
        console.print(
            "  looks like: "
            + ", ".join(f"{terminal_safe(v.name)} {v.probability:.2f}" for v in insight.visual_labels[:6]),
            highlight=False,
        )
    topic = insight.topic
    if topic is not None:
        where = (
            "no topic (far from all)"
            if topic.topic_id is None
            else f"topic {topic.topic_id} {terminal_safe(topic.label or '')!s} similarity {topic.similarity or 0:.2f}, "
            f"more typical than {_percent(topic.confidence)} of its posts" + (" [novel]" if topic.novel else "")
        )
        console.print(f"  segment ({topic.segmentation}): {where}", highlight=False)
        if topic.runner_up is not None:
            console.print(
                f"    runner-up: topic {topic.runner_up.topic_id} {terminal_safe(topic.runner_up.label or '')} "
                f"{topic.runner_up.similarity:.2f}",
                highlight=False,
            )
    for label in insight.labels:
        answer = (
            label.label
            if label.label is not None
            else ", ".join(label.labels) or (f"{label.value:.3f}" if label.value is not None else "-")
        )
        drops = ", ".join(f"{m} {v:+.2f}" for m, v in label.contributions.items())
        console.print(
            f"  {terminal_safe(label.target)} ({terminal_safe(label.model)}): {terminal_safe(str(answer))}"
            + (f" p={label.probability:.2f}" if label.probability is not None else "")
            + (f"; drop a modality: {drops}" if drops else ""),
            highlight=False,
        )
    if insight.sentiment is not None:
        vader = insight.sentiment.vader
        console.print(
            f"  sentiment: {insight.sentiment.label} ({insight.sentiment.source})"
            + (f"; VADER compound {vader.compound:+.2f}" if vader else "")
            + (f"; {terminal_safe(insight.sentiment.note)}" if insight.sentiment.note else ""),
            highlight=False,
        )
    if insight.emotion is not None:
        console.print(
            f"  emotion ({terminal_safe(insight.emotion.model)}): {terminal_safe(insight.emotion.label or '-')}"
            f" p={insight.emotion.probability or 0:.2f}",
            highlight=False,
        )
    popularity = insight.popularity
    if popularity is not None:
        drivers = ", ".join(f"{terminal_safe(d.name)} {d.effect:+.2f}" for d in popularity.drivers[:4])
        percentile = "-" if popularity.percentile is None else f"{popularity.percentile:.0f}"
        console.print(
            f"  popularity: ~{popularity.predicted:,.1f} {popularity.metric} (percentile {percentile} "
            f"among {terminal_safe(popularity.compared_with or '-')}, x{popularity.vs_followers:.2f} the "
            f"follower prior); drivers: {drivers}",
            highlight=False,
        )
    if insight.trends:
        console.print(
            "  trends: "
            + "; ".join(
                f"{terminal_safe(t.term)} {t.state}" + (f" ({t.count} in the last bin)" if t.count else "")
                for t in insight.trends[:8]
            ),
            highlight=False,
        )
    if insight.contributions:
        console.print(
            "  parts of the fused vector: " + ", ".join(f"{c.part} {c.share:.0%}" for c in insight.contributions),
            highlight=False,
        )
    if insight.similar:
        print_hits(console, insight.similar, title="similar posts")
    for problem in insight.problems:
        console.print(f"  [yellow]problem[/] {problem.code}: {terminal_safe(problem.message)}", highlight=False)
    for note in dict.fromkeys(insight.notes):
        console.print(f"  [dim]note: {terminal_safe(note)}[/]", highlight=False)
    console.print(
        "  [dim]time: " + ", ".join(f"{k} {v:,.0f} ms" for k, v in insight.timings_ms.items() if v >= 1) + "[/]",
        highlight=False,
    )


def print_hits(console: Console, hits: list[SimilarPost], *, title: str) -> None:
    table = Table("post", "similarity", "media", "topic", "labels", "text", title=title, title_justify="left")
    for hit in hits:
        labels = ", ".join(f"{k}={v}" for k, v in hit.labels.items())
        table.add_row(
            terminal_safe(hit.post_id),
            f"{hit.similarity:.3f}",
            ",".join(hit.media_kinds) or "-",
            "-" if hit.topic_id is None else str(hit.topic_id),
            terminal_safe(labels) or "-",
            _short(hit.text, 90),
        )
    console.print(table)


def print_search(console: Console, result: SearchResult) -> None:
    query = " + ".join(
        q
        for q in (
            repr(result.query_text) if result.query_text else None,
            f"image {result.query_image}" if result.query_image else None,
        )
        if q
    )
    print_hits(
        console,
        result.hits,
        title=f"{terminal_safe(query)}: {len(result.hits)} of {result.indexed_posts:,} "
        f"posts ({result.index} index, {result.timings_ms.get('total', 0):,.0f} ms)",
    )
