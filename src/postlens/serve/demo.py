"""``postlens demo``, ``postlens demo-data`` and ``postlens evaluate`` at a terminal: bars while a stage
runs, what it did (or that it reused earlier work) when it ends, a table of every stage's wall and CPU
time, where the report is and what to run next."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from postlens.pipeline.demo import DEMO_POSTS, DemoHooks, DemoReport, StageResult, run_demo, run_demo_data
from postlens.serve.featurize import stopping_cleanly, summary_table
from postlens.serve.progress import Bars, dim_lines
from postlens.store.workspace import resolve_workspace_path

if TYPE_CHECKING:
    from postlens.pipeline.evaluate import EvaluateResult


def show_demo_data(console: Console, out: Path, *, seed: int = 0, n_posts: int = DEMO_POSTS) -> Any:
    with Bars(console) as bars:
        summary = run_demo_data(out, seed=seed, n_posts=n_posts, progress=bars.counted("generating"))
    console.print(
        f"wrote the sample corpus to [bold]{escape(str(out))}[/] ({n_posts:,} posts, seed {seed}); "
        f"truth in {escape(str(out / 'truth.json'))}"
    )
    return summary


def show_demo(
    console: Console,
    out: Path,
    *,
    seed: int = 0,
    n_posts: int = DEMO_POSTS,
    workspace: Path | None = None,
    featurize: bool = True,
    train: bool = True,
    details: bool = True,
) -> DemoReport:
    """Run the demo with live progress; ``details`` also prints each computed stage's own report
    (featurize table, topics, training, popularity). Ends with the stage table and the next steps."""
    bars = Bars(console, transient=True)

    def on_start(name: str, what: str) -> None:
        console.print(f"[bold]{escape(name)}[/]: {escape(what)}", highlight=False)

    def on_stage(name: str, stage: StageResult) -> None:
        bars.close()
        mark = "[green]reused[/]" if stage.reused else "[cyan]done[/]"
        console.print(f"  {mark} in {stage.seconds:.1f}s: {escape(stage.summary)}", highlight=False)
        if details and not stage.reused and stage.detail is not None:
            _print_detail(console, stage)

    def on_failed(name: str, error: BaseException, seconds: float) -> None:
        bars.close()
        what = "stopped" if isinstance(error, KeyboardInterrupt) else "failed"
        console.print(
            f"  [red]{what}[/] after {seconds:.1f}s in stage {escape(name)}; what earlier stages did is "
            "kept: run 'postlens demo' again to go on from there",
            highlight=False,
        )

    hooks = DemoHooks(
        generating=bars.counted("generating"),
        importing=bars.records("importing"),
        featurizing=bars.step,
        training=dim_lines(console),
        on_start=on_start,
        on_stage=on_stage,
        on_failed=on_failed,
    )
    with stopping_cleanly(console, resolve_workspace_path(workspace)), bars:
        result = run_demo(
            out, seed=seed, n_posts=n_posts, workspace=workspace, featurize=featurize, train=train, hooks=hooks
        )
    print_demo_summary(console, result)
    return result


def _print_detail(console: Console, stage: StageResult) -> None:
    if stage.name == "featurize":
        console.print(summary_table(stage.detail))
    elif stage.name == "segments":
        from postlens.serve.render_segments import print_segments_report

        print_segments_report(console, stage.detail)
    elif stage.name == "train":
        from postlens.serve.render_train import print_train_report

        print_train_report(console, stage.detail)
    elif stage.name == "popularity":
        from postlens.serve.render_popularity import print_fit_report

        print_fit_report(console, stage.detail)


def print_demo_summary(console: Console, result: DemoReport) -> None:
    table = Table(title="postlens demo", title_justify="left", show_edge=False, pad_edge=False)
    for column in ("stage", "seconds", "CPU s", "", "what"):
        table.add_column(column, justify="right" if column in ("seconds", "CPU s") else "left", overflow="fold")
    for stage in result.stages:
        table.add_row(
            stage.name,
            f"{stage.seconds:.1f}",
            f"{stage.cpu_seconds:.1f}",
            "reused" if stage.reused else "computed",
            escape(stage.summary),
        )
    console.print(table)
    total, cpu = sum(s.seconds for s in result.stages), sum(s.cpu_seconds for s in result.stages)
    again = (
        "nothing was recomputed"
        if not result.recomputed
        else f"computed: {', '.join(dict.fromkeys(result.recomputed))}"
    )
    console.print(f"{total:.1f}s in all ({cpu:.1f} CPU s); {again}", highlight=False)
    if result.report_html is not None:
        print_next_steps(console, result)


def print_next_steps(console: Console, result: DemoReport) -> None:
    workspace = str(result.workspace)
    console.print(
        f"\n[bold]report[/]: {escape(str(result.report_html))}\n"
        f"[bold]metrics JSON[/]: {escape(str(result.report_json))}\n\n[bold]next[/]:",
        highlight=False,
    )
    steps = [
        ("open the report in a browser", str(result.report_html)),
        ("start the HTTP API (OpenAPI docs at /docs)", f"postlens serve --workspace {workspace}"),
        ("start the MCP server (stdio, for LLM clients)", f"postlens mcp --workspace {workspace}"),
        ("understand one post with the trained models", f"postlens analyze --workspace {workspace} post.json"),
        ("rebuild the report after more work", f"postlens evaluate --workspace {workspace}"),
    ]
    for what, command in steps:
        console.print(f"  {escape(what)}:\n    {escape(command)}", highlight=False, soft_wrap=True)


def print_evaluate_result(console: Console, result: EvaluateResult) -> None:
    report: dict[str, Any] = result.report
    lines = []
    models = report["models"]
    lines.append(f"models: {len(models['items'])}" if models["status"] == "present" else f"models: {models['reason']}")
    for key in ("topics", "trends", "popularity"):
        section = report[key]
        lines.append(
            f"{key}: {len(section['items'])} shown" if section["status"] == "present" else f"{key}: {section['reason']}"
        )
    for line in lines:
        console.print(f"  {escape(line)}", highlight=False)
    for problem in report.get("problems") or []:
        console.print(f"  [yellow]problem:[/] {escape(problem)}", highlight=False)
    console.print(
        f"[bold]report[/]: {escape(str(result.html))}\n[bold]metrics JSON[/]: {escape(str(result.json))}",
        highlight=False,
        soft_wrap=True,
    )
