"""The ``postlens`` command. Each command is a thin shell over the library; logic lives elsewhere."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from postlens.errors import PostlensError

app = typer.Typer(
    help="postlens: build a dataset of social-media posts in every modality, featurize it, and ask about it.\n\n"
    "The workspace (a folder with one DuckDB file and a content-addressed media folder) is "
    "./postlens-workspace unless --workspace or $POSTLENS_WORKSPACE says otherwise.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
console = Console()
err = Console(stderr=True)

WorkspaceOpt = Annotated[
    Optional[Path],
    typer.Option("--workspace", "-w", envvar="POSTLENS_WORKSPACE", help="Workspace folder.", show_default="./postlens-workspace"),
]


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to import.", exists=True)],
    format: Annotated[Optional[str], typer.Option("--format", "-f", help="Importer: csv, tsv, jsonl, parquet, postlens, twitter-v1, twitter-v2, reddit, mastodon. Guessed when omitted.")] = None,
    recipe: Annotated[Optional[str], typer.Option("--recipe", "-r", help="Named recipe for a public dataset: mediaeval2016, pheme, youtube-trending.")] = None,
    mapping: Annotated[Optional[Path], typer.Option("--mapping", "-m", help="YAML column mapping for csv/tsv/jsonl/parquet.", exists=True, dir_okay=False)] = None,
    map_: Annotated[Optional[list[str]], typer.Option("--map", help="Column mapping pair FIELD=COLUMN, repeatable (e.g. --map text=body --map labels.event=event); overrides --mapping.")] = None,
    media_root: Annotated[Optional[Path], typer.Option("--media-root", help="Folder that relative media names resolve against (default: the data file's folder).")] = None,
    source: Annotated[Optional[str], typer.Option("--source", help="Id namespace for generic files (default: the file name).")] = None,
    batch_size: Annotated[int, typer.Option(help="Posts per transaction.")] = 2000,
    workspace: WorkspaceOpt = None,
) -> None:
    """Import posts, media and engagement into the workspace. Re-running is safe: nothing is duplicated.

    Records that cannot be imported go to the quarantine with file, line and reason; the rest goes on.
    Exits non-zero only when nothing at all could be imported.
    """
    from postlens.pipeline import run_ingest
    from postlens.serve.render import print_import_summary

    if format and recipe:
        raise typer.BadParameter("give --format or --recipe, not both")
    summary = run_ingest(
        paths, importer_name=recipe or format, mapping_file=mapping, mapping_pairs=map_ or [],
        media_root=media_root, source=source, workspace=workspace, batch_size=batch_size, console=err,
    )
    print_import_summary(console, summary)
    if summary.posts_written == 0:
        raise typer.Exit(code=1)


@app.command()
def stats(workspace: WorkspaceOpt = None) -> None:
    """Counts by source, modality, month and label; media stored and missing; recent imports."""
    from postlens.serve.render import print_stats
    from postlens.store.queries import workspace_stats
    from postlens.store.workspace import Workspace

    with Workspace(workspace, read_only=True) as ws:
        print_stats(console, workspace_stats(ws.db), ws.root)


@app.command()
def sql(
    query: Annotated[str, typer.Argument(help="SQL over the tables posts, media, engagement, import_runs, quarantine.")],
    limit: Annotated[int, typer.Option(help="Rows to show at most.")] = 50,
    output: Annotated[str, typer.Option("--output", "-o", help="table, csv or json.")] = "table",
    workspace: WorkspaceOpt = None,
) -> None:
    """Run read-only DuckDB SQL over the workspace, e.g. postlens sql "select labels['event'], count(*) from posts group by 1"."""
    from postlens.serve.render import print_rows
    from postlens.store.workspace import Workspace

    with Workspace(workspace, read_only=True) as ws:
        cursor = ws.db.execute(query)
        columns = [d[0] for d in cursor.description or []]
        rows = cursor.fetchmany(limit)
    print_rows(console, columns, rows, output)


@app.command()
def quarantine(
    code: Annotated[Optional[str], typer.Option(help="Only this reason code (e.g. bad_json, media_missing).")] = None,
    limit: Annotated[int, typer.Option(help="Rows to show at most.")] = 50,
    workspace: WorkspaceOpt = None,
) -> None:
    """What was rejected during imports, and why: file, line, code, post id, reason."""
    from postlens.serve.render import print_quarantine
    from postlens.store.queries import quarantine_rows, workspace_stats
    from postlens.store.workspace import Workspace

    with Workspace(workspace, read_only=True) as ws:
        stats = workspace_stats(ws.db)
        print_quarantine(console, stats.quarantined, stats.flagged, quarantine_rows(ws.db, code=code, limit=limit))


@app.command()
def featurize(
    encoders: Annotated[Optional[str], typer.Option("--encoders", "-e", help="Comma-separated encoder names (default: every default encoder). See --list.")] = None,
    list_encoders: Annotated[bool, typer.Option("--list", help="List the encoders and exit.")] = False,
    batch_size: Annotated[int, typer.Option(help="Media items per model call (text uses at least 64).")] = 32,
    workspace: WorkspaceOpt = None,
) -> None:
    """Extract features from every stored image, video, audio clip and text field into the feature cache.

    Only what the cache lacks is computed (keyed by content hash and encoder version), so a re-run is
    nearly free. OCR text and transcripts join the posts' text fields (table text_fields) and are embedded too.
    Per-item failures are recorded in the table feature_errors; the batch goes on.
    """
    from postlens.pipeline.featurize_cli import list_encoder_table, run_featurize

    if list_encoders:
        console.print(list_encoder_table())
        return
    names = [n.strip() for n in encoders.split(",") if n.strip()] if encoders else None
    run_featurize(workspace=workspace, encoders=names, batch_size=batch_size, console=console)


@app.command()
def train(
    config: Annotated[Path, typer.Option("--config", "-c", help="train.yaml: target, features, split, model, imbalance, seed.", exists=True, dir_okay=False)],
    compare_imbalance: Annotated[bool, typer.Option("--compare-imbalance", help="Also train with every imbalance method on the same split; the method is chosen on validation and only it is scored on the held-out side.")] = False,
    cv: Annotated[Optional[int], typer.Option("--cv", help="Also run K-fold cross-validation (mean +- std per figure); the fold kind follows split.strategy (see split.fold_kind).", min=2)] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Train a model on the workspace's cached features and labels; save a self-describing model folder
    with per-post predictions (predictions_val.parquet, predictions_test.parquet).

    Run 'postlens featurize' first. The split is by time unless the config says author, group,
    stratified, random or column (the train / val / test values of a label, e.g. a benchmark's own split).
    """
    from postlens.pipeline.train import run_train
    from postlens.serve.render_train import print_train_report

    report = run_train(config, workspace=workspace, compare_imbalance=compare_imbalance, cv=cv,
                       progress=lambda message: err.print(f"[dim]{message}[/]"))
    print_train_report(console, report)


@app.command("demo-data")
def demo_data(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the corpus into.")] = Path("demo-corpus"),
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same corpus.")] = 0,
    posts: Annotated[int, typer.Option(help="Number of posts.")] = 3000,
) -> None:
    """Write a sample multimodal corpus with planted topics, engagement and a burst, plus its truth.json."""
    from postlens.pipeline import run_demo_data

    run_demo_data(out, seed=seed, n_posts=posts, console=console)


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the sample corpus.")] = Path("demo-corpus"),
    seed: Annotated[int, typer.Option(help="Random seed of the sample corpus.")] = 0,
    posts: Annotated[int, typer.Option(help="Number of posts in the sample corpus.")] = 3000,
    featurize: Annotated[bool, typer.Option(help="Extract features from every modality after the import.")] = True,
    train: Annotated[bool, typer.Option(help="Train a topic model on the labelled subset after featurizing.")] = True,
    workspace: WorkspaceOpt = None,
) -> None:
    """The main job on the embedded default: generate the sample corpus, ingest it, featurize every
    modality, train a topic model, and print what is there. Re-running reuses everything already done."""
    from postlens.pipeline import run_demo

    run_demo(out, seed=seed, n_posts=posts, workspace=workspace, console=console, featurize=featurize, train=train)


def main() -> None:
    """Entry point: library errors become one clear line and exit code 2, not a traceback."""
    try:
        app()
    except PostlensError as exc:
        err.print(f"[bold red]error:[/] {exc}")
        sys.exit(2)


if __name__ == "__main__":
    main()
