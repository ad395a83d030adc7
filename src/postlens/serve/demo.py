"""``postlens demo`` and ``postlens demo-data`` at a terminal: bars while a stage runs, its result when it ends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console

from postlens.pipeline.demo import DemoCorpus, DemoHooks, DemoReport, run_demo, run_demo_data
from postlens.serve.featurize import stopping_cleanly, summary_table
from postlens.serve.progress import Bars, dim_lines
from postlens.serve.render import print_import_summary, print_stats
from postlens.serve.render_train import print_train_report
from postlens.store.queries import workspace_stats
from postlens.store.workspace import Workspace, resolve_workspace_path


def show_demo_data(console: Console, out: Path, *, seed: int = 0, n_posts: int = 3000) -> Any:
    with Bars(console) as bars:
        summary = run_demo_data(out, seed=seed, n_posts=n_posts, progress=bars.counted("generating"))
    _say_written(console, out, seed, n_posts)
    return summary


def show_demo(console: Console, out: Path, *, seed: int = 0, n_posts: int = 3000, workspace: Path | None = None,
              featurize: bool = True, train: bool = True) -> DemoReport:
    bars = Bars(console)
    root = resolve_workspace_path(workspace)

    def on_stage(stage: str, result: Any) -> None:
        bars.close()
        if stage == "corpus":
            corpus: DemoCorpus = result
            if corpus.generated:
                _say_written(console, corpus.folder, corpus.seed, corpus.n_posts)
            else:
                console.print(f"sample corpus already in {corpus.folder} (seed {corpus.seed}); reusing it")
        elif stage == "ingest":
            print_import_summary(console, result)
            with Workspace(root, read_only=True) as ws:
                print_stats(console, workspace_stats(ws.db), ws.root)
        elif stage == "featurize":
            console.print(summary_table(result))
        elif stage == "train-start":
            console.print("[bold]training a topic model on the labelled subset (labels['topic'])[/]")
        elif stage == "train":
            print_train_report(console, result)

    hooks = DemoHooks(generating=bars.counted("generating"), importing=bars.records("importing (postlens)"),
                      featurizing=bars.step, training=dim_lines(console), on_stage=on_stage)
    with stopping_cleanly(console, root), bars:
        return run_demo(out, seed=seed, n_posts=n_posts, workspace=workspace, featurize=featurize, train=train,
                        hooks=hooks)


def _say_written(console: Console, out: Path, seed: int, n_posts: int) -> None:
    console.print(f"wrote the sample corpus to [bold]{out}[/] ({n_posts:,} posts, seed {seed}); "
                  f"truth in {out / 'truth.json'}")
