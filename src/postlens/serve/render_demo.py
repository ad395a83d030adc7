"""``postlens demo`` and ``postlens evaluate`` at a terminal: live progress per stage, what each stage
did (or that it reused earlier work), where the report is and what to run next."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

if TYPE_CHECKING:
    from postlens.pipeline.demo import DemoResult, StageResult
    from postlens.pipeline.evaluate import EvaluateResult


class DemoPrinter:
    """A ``DemoListener``: a transient progress display while a stage runs, its summary when it ends;
    ``details`` also prints each computed stage's own report (import counts, featurize table, training)."""

    def __init__(self, console: Console, *, details: bool = True) -> None:
        self.console, self.details = console, details
        self.bar: Progress | None = None
        self.tasks: dict[str, TaskID] = {}

    def stage_started(self, name: str, what: str) -> None:
        self.console.print(f"[bold]{escape(name)}[/]: {escape(what)}", highlight=False)
        self.bar = Progress(TextColumn("  {task.description:<16}"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), console=self.console, transient=True)
        self.tasks = {}
        self.bar.start()

    def progress(self, name: str, task: str, done: int, total: int | None) -> None:
        if self.bar is None:
            return
        if name == "train":  # training reports steps in words, not counts
            self.bar.console.print(f"  [dim]{escape(task)}[/]", highlight=False)
            return
        if task not in self.tasks:
            self.tasks[task] = self.bar.add_task(task, total=total)
        self.bar.update(self.tasks[task], completed=done, total=total)

    def stage_failed(self, name: str, error: BaseException, seconds: float) -> None:
        self._stop()
        what = "stopped (Ctrl-C)" if isinstance(error, KeyboardInterrupt) else "failed"
        self.console.print(f"  [red]{what}[/] after {seconds:.1f}s in stage {escape(name)}; what earlier stages "
                           "did is kept: run 'postlens demo' again to go on from there", highlight=False)

    def _stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None

    def stage_finished(self, stage: StageResult) -> None:
        self._stop()
        mark = "[green]reused[/]" if stage.reused else "[cyan]done[/]"
        self.console.print(f"  {mark} in {stage.seconds:.1f}s: {escape(stage.summary)}", highlight=False)
        if self.details and not stage.reused and stage.detail is not None:
            _print_detail(self.console, stage)


def _print_detail(console: Console, stage: StageResult) -> None:
    if stage.name == "featurize":
        from postlens.pipeline.featurize_cli import summary_table

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


def print_demo_summary(console: Console, result: DemoResult) -> None:
    table = Table(title="postlens demo", title_justify="left", show_edge=False, pad_edge=False)
    for column in ("stage", "seconds", "CPU s", "", "what"):
        table.add_column(column, justify="right" if column in ("seconds", "CPU s") else "left", overflow="fold")
    for stage in result.stages:
        table.add_row(stage.name, f"{stage.seconds:.1f}", f"{stage.cpu_seconds:.1f}",
                      "reused" if stage.reused else "computed", escape(stage.summary))
    console.print(table)
    total, cpu = sum(s.seconds for s in result.stages), sum(s.cpu_seconds for s in result.stages)
    again = ("nothing was recomputed" if not result.recomputed
             else f"computed: {', '.join(dict.fromkeys(result.recomputed))}")
    console.print(f"{total:.1f}s in all ({cpu:.1f} CPU s); {again}", highlight=False)
    if result.report_html is not None:
        print_next_steps(console, result)


def print_next_steps(console: Console, result: DemoResult) -> None:
    workspace = str(result.workspace)
    console.print(f"\n[bold]report[/]: {escape(str(result.report_html))}\n"
                  f"[bold]metrics JSON[/]: {escape(str(result.report_json))}\n\n[bold]next[/]:", highlight=False)
    steps = [("open the report in a browser", str(result.report_html)),
             ("start the HTTP API (OpenAPI docs at /docs)", f"postlens serve --workspace {workspace}"),
             ("start the MCP server (stdio, for LLM clients)", f"postlens mcp --workspace {workspace}"),
             ("rebuild the report after more work", f"postlens evaluate --workspace {workspace}")]
    for what, command in steps:
        console.print(f"  {escape(what)}:\n    {escape(command)}", highlight=False, soft_wrap=True)


def print_evaluate_result(console: Console, result: EvaluateResult) -> None:
    report: dict[str, Any] = result.report
    lines = []
    models = report["models"]
    lines.append(f"models: {len(models['items'])}" if models["status"] == "present" else f"models: {models['reason']}")
    for key in ("topics", "trends", "popularity"):
        section = report[key]
        lines.append(f"{key}: {len(section['items'])} shown" if section["status"] == "present"
                     else f"{key}: {section['reason']}")
    for line in lines:
        console.print(f"  {escape(line)}", highlight=False)
    for problem in report.get("problems") or []:
        console.print(f"  [yellow]problem:[/] {escape(problem)}", highlight=False)
    console.print(f"[bold]report[/]: {escape(str(result.html))}\n[bold]metrics JSON[/]: {escape(str(result.json))}",
                  highlight=False, soft_wrap=True)
