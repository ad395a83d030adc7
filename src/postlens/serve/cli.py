"""The ``postlens`` command. Each command is a thin shell over the library; logic lives elsewhere."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

from postlens.errors import PostlensError, WorkspaceError
from postlens.media.limits import describe_limits

if TYPE_CHECKING:
    from postlens.engine import Engine
    from postlens.store.workspace import Workspace

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
    Path | None,
    typer.Option(
        "--workspace", "-w", envvar="POSTLENS_WORKSPACE", help="Workspace folder.", show_default="./postlens-workspace"
    ),
]


class EngineName(str, Enum):
    local = "local"
    ray = "ray"


EngineOpt = Annotated[
    EngineName,
    typer.Option(
        "--engine",
        help="Where the models run: local (this process) or ray (Ray Data actor pools; pip install 'postlens\\[ray]').",
    ),
]
AddressOpt = Annotated[
    str | None,
    typer.Option(
        "--address",
        envvar="RAY_ADDRESS",
        help="With --engine ray: the cluster (ray://head:10001, head:6379, auto); none starts a local Ray.",
    ),
]
WorkersOpt = Annotated[
    int | None,
    typer.Option(
        "--workers",
        min=1,
        help="With --engine ray: actors per encoder (default: this machine's cores, or the cluster's CPUs).",
    ),
]


@contextmanager
def _engine(name: EngineName, address: str | None, workers: int | None) -> Iterator[Engine]:
    """The engine a command runs on, closed (a local Ray it started shut down) when the command ends."""
    from postlens.engine import make_engine

    engine = make_engine(name.value, address=address if name is EngineName.ray else None, workers=workers)
    try:
        yield engine
    finally:
        engine.close()


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to import.", exists=True)],
    format: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            help="Importer: csv, tsv, jsonl, parquet, postlens, twitter, twitter-v1, twitter-v2, reddit, mastodon. Guessed when omitted (twitter reads either API version).",
        ),
    ] = None,
    recipe: Annotated[
        str | None,
        typer.Option(
            "--recipe", "-r", help="Named recipe for a public dataset: mediaeval2016, pheme, youtube-trending."
        ),
    ] = None,
    mapping: Annotated[
        Path | None,
        typer.Option(
            "--mapping", "-m", help="YAML column mapping for csv/tsv/jsonl/parquet.", exists=True, dir_okay=False
        ),
    ] = None,
    map_: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            help="Column mapping pair FIELD=COLUMN, repeatable (e.g. --map text=body --map labels.event=event); overrides --mapping.",
        ),
    ] = None,
    media_root: Annotated[
        Path | None,
        typer.Option(
            "--media-root",
            help="Folder that relative media names resolve against, and the only folder media files are read from (default: the data file's folder).",
        ),
    ] = None,
    max_media_size: Annotated[
        list[str] | None,
        typer.Option(
            "--max-media-size",
            help="Size limit KIND=SIZE for media files, repeatable (e.g. video=500MB, image=20MiB, all=1GB); larger files are quarantined (media_too_large) without being copied. Defaults: "
            + describe_limits()
            + ".",
        ),
    ] = None,
    source: Annotated[
        str | None, typer.Option("--source", help="Id namespace for generic files (default: the file name).")
    ] = None,
    batch_size: Annotated[int, typer.Option(help="Posts per transaction.")] = 2000,
    workspace: WorkspaceOpt = None,
) -> None:
    """Import posts, media and engagement into the workspace. Re-running is safe: nothing is duplicated.

    Records that cannot be imported go to the quarantine with file, line and reason; the rest goes on.
    Exits non-zero only when nothing at all could be imported.
    """
    from postlens.media.limits import parse_media_limits
    from postlens.pipeline.ingest import importer_name_for, run_ingest
    from postlens.serve.progress import Bars
    from postlens.serve.render import print_import_summary

    if format and recipe:
        raise typer.BadParameter("give --format or --recipe, not both")
    name = importer_name_for(paths, recipe or format)
    with Bars(err) as bars:
        summary = run_ingest(
            paths,
            importer_name=name,
            mapping_file=mapping,
            mapping_pairs=map_ or [],
            media_root=media_root,
            source=source,
            workspace=workspace,
            batch_size=batch_size,
            progress=bars.records(f"importing ({name})"),
            max_media_bytes=parse_media_limits(max_media_size or []),
        )
    print_import_summary(console, summary)
    if summary.posts_written == 0:
        raise typer.Exit(code=1)


@app.command()
def collect(
    source: Annotated[str, typer.Option("--source", "-s", help="Platform API: mastodon, bluesky, reddit, x.")],
    query: Annotated[
        str,
        typer.Option(
            "--query",
            "-q",
            help="mastodon: '#tag', 'public', 'local', '@user[@host]'; bluesky: search words or '@handle'; reddit: 'r/sub', 'r/sub:words', 'u/name' or search words; x: a recent-search query.",
        ),
    ],
    since: Annotated[
        str,
        typer.Option(
            help="How far back the first run reads (e.g. 2d, 12h, 1w); later runs resume where the last one stopped."
        ),
    ] = "2d",
    until_caught_up: Annotated[
        bool,
        typer.Option(
            "--until-caught-up",
            help="Page on until the walk reaches the newest post collected before (or --since), however many pages that takes.",
        ),
    ] = False,
    max_pages: Annotated[
        int, typer.Option(help="Pages per run when not --until-caught-up (the cursor is saved: the next run goes on).")
    ] = 20,
    reset: Annotated[
        bool,
        typer.Option(
            "--reset", help="Forget where the last collect of this source and query stopped; start again from --since."
        ),
    ] = False,
    lag_minutes: Annotated[
        float,
        typer.Option(
            "--lag-minutes",
            help="Re-read this much below the last high-water mark (late posts; fresh engagement counts).",
        ),
    ] = 15.0,
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url",
            help="API base URL (a Mastodon instance, a Bluesky PDS/AppView...); default from the platform's *_BASE_URL variable or its public host.",
        ),
    ] = None,
    no_media: Annotated[bool, typer.Option("--no-media", help="Keep media URLs without downloading them.")] = False,
    max_media_size: Annotated[
        list[str] | None,
        typer.Option(
            "--max-media-size",
            help="Size limit KIND=SIZE for downloaded media (e.g. video=200MB); a larger download is stopped at the limit. Defaults: "
            + describe_limits()
            + ".",
        ),
    ] = None,
    max_wait: Annotated[
        float,
        typer.Option(
            "--max-wait",
            help="Longest single rate-limit wait in seconds; a longer one stops the run (the cursor is saved).",
        ),
    ] = 900.0,
    workspace: WorkspaceOpt = None,
) -> None:
    """Collect posts from a platform API into the workspace, a page at a time, resumable.

    Credentials come from the environment only (MASTODON_ACCESS_TOKEN; BLUESKY_HANDLE and
    BLUESKY_APP_PASSWORD; REDDIT_CLIENT_ID and REDDIT_CLIENT_SECRET; X_BEARER_TOKEN) and are never
    printed. Each page is committed before the cursor moves: a killed run loses nothing.
    """
    from datetime import timedelta

    from postlens.media.limits import parse_media_limits
    from postlens.pipeline.collect import run_collect
    from postlens.serve.render_collect import page_line, print_collect_summary

    def on_wait(seconds: float, why: str) -> None:
        err.print(Text(f"rate limit: waiting {seconds:,.0f} s ({why})", style="yellow"))

    summary = run_collect(
        source,
        query,
        since=since,
        until_caught_up=until_caught_up,
        reset=reset,
        max_pages=max_pages,
        lag=timedelta(minutes=lag_minutes),
        workspace=workspace,
        base_url=base_url,
        download_media=not no_media,
        max_media_bytes=parse_media_limits(max_media_size or []),
        max_wait=max_wait,
        progress=lambda s: err.print(Text(page_line(s), style="dim"), soft_wrap=True),
        on_wait=on_wait,
    )
    print_collect_summary(console, summary)
    if summary.error:
        raise typer.Exit(code=1)


LOCK_HELP = (
    "While an import or featurize is writing to the workspace, this waits up to 10 s for it to finish "
    "(POSTLENS_LOCK_WAIT=seconds changes that), then says which process holds the workspace."
)


class OutputFormat(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


def _on_lock_wait(message: str) -> None:
    err.print(Text(message, style="dim"), soft_wrap=True)


@contextmanager
def _read_only_workspace(path: Path | None) -> Iterator[Workspace]:
    """A read-only workspace where a damaged database is one clear error, not a DuckDB traceback."""
    import duckdb

    from postlens.store.readonly_sql import one_line
    from postlens.store.workspace import Workspace

    with Workspace(path, read_only=True, on_lock_wait=_on_lock_wait) as ws:
        try:
            yield ws
        except duckdb.ProgrammingError:
            raise  # a query of postlens's own is wrong: a bug, keep the traceback
        except duckdb.Error as exc:
            raise WorkspaceError(f"cannot read {ws.root}: its database is damaged ({one_line(exc)})") from exc


@app.command(
    help=f"Counts by source, modality, month and label; media stored and missing; recent imports.\n\n{LOCK_HELP}"
)
def stats(workspace: WorkspaceOpt = None) -> None:
    from postlens.serve.render import print_stats
    from postlens.store.queries import workspace_stats

    with _read_only_workspace(workspace) as ws:
        print_stats(console, workspace_stats(ws.db), ws.root)


SQL_HELP = (
    "Run one read-only DuckDB query over the workspace, e.g. postlens sql \"select labels['event'], count(*) "
    'from posts group by 1".\n\n'
    "Allowed: one SELECT statement, also written as WITH, FROM, VALUES, DESCRIBE, SHOW or SUMMARIZE. Refused "
    "before anything runs: a second statement after ';', COPY, EXPORT, ATTACH, INSTALL/LOAD, SET, PRAGMA, CALL, "
    "CREATE/INSERT/UPDATE/DELETE/DROP and transactions. The database is opened read-only with DuckDB's external "
    "access off, so file and URL readers (read_csv, read_parquet, read_text, glob, 'file.csv', https://...) are "
    "refused too.\n\n"
    "Columns with the same name are all kept: a repeated name gets the suffix _2, _3... (the first one free). "
    'csv: NULL is an empty field, an empty string is "". json (one object per line): integers and decimals are '
    'exact numbers; NaN and infinities are the strings "NaN", "Infinity", "-Infinity"; blobs are text with '
    "\\xHH escapes; dates and times are ISO 8601; lists, structs and maps are JSON.\n\n" + LOCK_HELP
)


@app.command(help=SQL_HELP)
def sql(
    query: Annotated[
        str,
        typer.Argument(
            help="One SELECT over the tables posts, media, engagement, import_runs, quarantine, feature_errors."
        ),
    ],
    limit: Annotated[
        int, typer.Option(min=1, help="Rows to show at most; the total is said when there are more.")
    ] = 50,
    output: Annotated[
        OutputFormat,
        typer.Option("--output", "-o", help="table for reading; csv or json (one object per line) for programs."),
    ] = OutputFormat.table,
    workspace: WorkspaceOpt = None,
) -> None:
    from postlens.serve.render import print_row_count, print_rows
    from postlens.store.readonly_sql import run_read_only_sql

    result = run_read_only_sql(query, workspace=workspace, limit=limit, on_lock_wait=_on_lock_wait)
    print_rows(console, result.columns, result.rows, output.value)
    print_row_count(err, len(result.rows), result.total_rows, at_least=result.total_at_least)


@app.command(help=f"What was rejected during imports, and why: file, line, code, post id, reason.\n\n{LOCK_HELP}")
def quarantine(
    code: Annotated[str | None, typer.Option(help="Only this reason code (e.g. bad_json, media_missing).")] = None,
    limit: Annotated[
        int, typer.Option(min=1, help="Rows to show at most; the total is said when there are more.")
    ] = 50,
    workspace: WorkspaceOpt = None,
) -> None:
    from postlens.serve.render import print_quarantine, print_row_count
    from postlens.store.queries import quarantine_rows, workspace_stats

    with _read_only_workspace(workspace) as ws:
        stats = workspace_stats(ws.db)
        rows = quarantine_rows(ws.db, code=code, limit=limit)
    counts = dict(stats.quarantined)
    for reason, n in stats.flagged:
        counts[reason] = counts.get(reason, 0) + n
    if code is not None and code not in counts:
        present = ", ".join(sorted(counts)) or "none"
        err.print(Text(f"no quarantine rows with code {code!r}; codes in this workspace: {present}"), soft_wrap=True)
        return
    print_quarantine(console, stats.quarantined, stats.flagged, rows)
    print_row_count(err, len(rows), counts[code] if code is not None else sum(counts.values()))


@app.command()
def featurize(
    encoders: Annotated[
        str | None,
        typer.Option(
            "--encoders", "-e", help="Comma-separated encoder names (default: every default encoder). See --list."
        ),
    ] = None,
    list_encoders: Annotated[bool, typer.Option("--list", help="List the encoders and exit.")] = False,
    batch_size: Annotated[int, typer.Option(help="Media items per model call (text uses at least 64).")] = 32,
    engine: EngineOpt = EngineName.local,
    address: AddressOpt = None,
    workers: WorkersOpt = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Extract features from every stored image, video, audio clip and text field into the feature cache.

    Only what the cache lacks is computed (keyed by content hash and encoder version), so a re-run is
    nearly free. OCR text and transcripts join the posts' text fields (table text_fields) and are embedded too.
    Per-item failures are recorded in the table feature_errors; the batch goes on.
    """
    from postlens.serve.featurize import list_encoder_table, run_featurize

    if list_encoders:
        console.print(list_encoder_table())
        return
    names = [n.strip() for n in encoders.split(",") if n.strip()] if encoders else None
    with _engine(engine, address, workers) as running_on:
        run_featurize(workspace=workspace, encoders=names, batch_size=batch_size, console=console, engine=running_on)


@app.command()
def train(
    config: Annotated[
        Path,
        typer.Option(
            "--config",
            "-c",
            help="train.yaml: target, features, split, model, imbalance, seed.",
            exists=True,
            dir_okay=False,
        ),
    ],
    compare_imbalance: Annotated[
        bool,
        typer.Option(
            "--compare-imbalance",
            help="Also train with every imbalance method on the same split; the method is chosen on validation and only it is scored on the held-out side.",
        ),
    ] = False,
    cv: Annotated[
        int | None,
        typer.Option(
            "--cv",
            help="Also run K-fold cross-validation (mean +- std per figure); the fold kind follows split.strategy (see split.fold_kind).",
            min=2,
        ),
    ] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Train a model on the workspace's cached features and labels; save a self-describing model folder
    with per-post predictions (predictions_val.parquet, predictions_test.parquet).

    Run 'postlens featurize' first. The split is by time unless the config says author, group,
    stratified, random or column (the train / val / test values of a label, e.g. a benchmark's own split).
    """
    from postlens.pipeline.train import run_train
    from postlens.serve.progress import dim_lines
    from postlens.serve.render_train import print_train_report

    report = run_train(config, workspace=workspace, compare_imbalance=compare_imbalance, cv=cv, progress=dim_lines(err))
    print_train_report(console, report)


@app.command()
def predict(
    files: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Posts files to import first and predict (any format 'postlens ingest' reads). Without files: posts already in the workspace.",
            exists=True,
        ),
    ] = None,
    model: Annotated[
        str, typer.Option("--model", help="A model folder name under <workspace>/models/, or a path to a model folder.")
    ] = ...,  # type: ignore[assignment]  # typer: ... = required
    where: Annotated[
        str | None,
        typer.Option(
            "--where", help="SQL condition over posts picking the posts to predict, e.g. \"labels['split'] = 'val'\"."
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Also write the predictions to this .parquet or .csv file.")
    ] = None,
    format: Annotated[
        str | None, typer.Option("--format", "-f", help="Importer for FILES (guessed when omitted).")
    ] = None,
    mapping: Annotated[
        Path | None,
        typer.Option(
            "--mapping", "-m", help="YAML column mapping for csv/tsv/jsonl/parquet FILES.", exists=True, dir_okay=False
        ),
    ] = None,
    map_: Annotated[
        list[str] | None, typer.Option("--map", help="Column mapping pair FIELD=COLUMN for FILES, repeatable.")
    ] = None,
    media_root: Annotated[
        Path | None, typer.Option("--media-root", help="Folder that relative media names in FILES resolve against.")
    ] = None,
    source: Annotated[
        str | None, typer.Option("--source", help="Id namespace for generic FILES (default: the file name).")
    ] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Predict posts with a trained model; write the predictions (with probabilities) to the table predictions.

    Features the cache lacks are computed with exactly the model's encoders; a model trained on
    another encoder version is refused before anything is computed. Posts lacking a modality are
    predicted without it.
    """
    from postlens.pipeline.predict import predict as run_predict
    from postlens.serve.progress import Bars
    from postlens.serve.render_predict import print_report

    with Bars(err, transient=True) as bars:
        report = run_predict(
            model,
            workspace=workspace,
            where=where,
            files=files or [],
            importer_name=format,
            mapping_file=mapping,
            mapping_pairs=map_ or [],
            media_root=media_root,
            source=source,
            out=out,
            progress=bars.step,
        )
    print_report(console, report)


@app.command("demo-data")
def demo_data(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the corpus into.")] = Path("demo-corpus"),
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same corpus.")] = 0,
    posts: Annotated[int, typer.Option(help="Number of posts.")] = 3000,
) -> None:
    """Write a sample multimodal corpus with planted topics, engagement and a burst, plus its truth.json."""
    from postlens.serve.demo import show_demo_data

    show_demo_data(console, out, seed=seed, n_posts=posts)


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the sample corpus.")] = Path("demo-corpus"),
    seed: Annotated[int, typer.Option(help="Random seed of the sample corpus.")] = 0,
    posts: Annotated[
        int | None, typer.Option(min=1, help="Number of posts in the sample corpus.", show_default="3000")
    ] = None,
    featurize: Annotated[
        bool,
        typer.Option(
            help="Extract features from every modality after the import (without it, topics and models are skipped; trends and the report still run)."
        ),
    ] = True,
    train: Annotated[
        bool,
        typer.Option(
            help="Train the demo models (topic fusion model with a distilled student, sentiment with imbalance methods compared, popularity)."
        ),
    ] = True,
    workspace: WorkspaceOpt = None,
) -> None:
    """The main job on the embedded default: generate the sample corpus, ingest it, featurize every modality,
    find topics, train models, detect trends and write the evaluation report; then print how to go on.

    Re-running reuses everything already done: the corpus, the import, the feature cache, the topics,
    the trained models (retrained only when their config or data changed) and the trend state."""
    from postlens.pipeline.demo import DEMO_POSTS
    from postlens.serve.demo import show_demo

    show_demo(
        console, out, seed=seed, n_posts=posts or DEMO_POSTS, workspace=workspace, featurize=featurize, train=train
    )


# ---------------------------------------------------------------- cache

cache_app = typer.Typer(help="The feature cache (features/<encoder>@<version>/part-*.parquet).", no_args_is_help=True)
app.add_typer(cache_app, name="cache")


@cache_app.command("compact")
def cache_compact(workspace: WorkspaceOpt = None) -> None:
    """Merge the many small parts featurize writes (one per batch) into a few large ones: reads get faster.

    featurize already does this at its end; this is for caches written before, or by an interrupted run.
    Safe while featurize runs: a part written meanwhile is kept, and no reader ever misses a key.
    """
    from postlens.serve.render import print_compactions
    from postlens.store.features import FeatureCache
    from postlens.store.workspace import resolve_workspace_path

    root = resolve_workspace_path(workspace)
    if not (root / "features").is_dir():
        raise WorkspaceError(f"no feature cache in {root}; run 'postlens featurize' first or pass --workspace")
    print_compactions(console, FeatureCache(root / "features").compact_all())


@app.command()
def scrape(
    urls: Annotated[list[str], typer.Argument(help="Page URLs (http or https) to read posts from.")],
    allow_domain: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-domain",
            help="Domain the scraper may fetch from (its subdomains too), repeatable; default: the domains of the URLs given. A redirect elsewhere is refused.",
        ),
    ] = None,
    contact: Annotated[
        str | None,
        typer.Option(
            "--contact",
            help="URL or mailto: sent in the User-Agent (postlens/<version> (+CONTACT)) so site owners can reach you.",
        ),
    ] = None,
    min_interval: Annotated[
        float,
        typer.Option(
            "--min-interval", help="Seconds between two requests to one host (a longer robots.txt Crawl-delay wins)."
        ),
    ] = 1.0,
    max_page_size: Annotated[
        int, typer.Option("--max-page-bytes", help="Largest page read; a larger one is refused at the limit.")
    ] = 5 * 1024 * 1024,
    page_seconds: Annotated[float, typer.Option("--page-seconds", help="Longest time for one page.")] = 60.0,
    workspace: WorkspaceOpt = None,
) -> None:
    """Read posts from web pages that allow it (robots.txt), into the workspace.

    Posts come from JSON-LD and microdata SocialMediaPosting / DiscussionForumPosting / BlogPosting,
    else the page's OpenGraph / Twitter card. Non-public addresses (loopback, private, link-local,
    cloud metadata) are refused, after DNS resolution and on every redirect. Every refused page is a
    quarantine row with its reason. Exits non-zero when no page could be read.
    """
    from postlens.pipeline.scrape import run_scrape
    from postlens.serve.render_scrape import page_line, print_scrape_summary

    summary = run_scrape(
        urls,
        allow_domains=allow_domain,
        workspace=workspace,
        contact=contact,
        min_interval=min_interval,
        max_page_bytes=max_page_size,
        page_seconds=page_seconds,
        progress=lambda p: err.print(Text(page_line(p), style="dim"), soft_wrap=True),
    )
    print_scrape_summary(console, summary)
    if all(p.refused for p in summary.pages):
        raise typer.Exit(code=1)


# ---------------------------------------------------------------- label

label_app = typer.Typer(help="Labels for posts already imported (no re-import).", no_args_is_help=True)
app.add_typer(label_app, name="label")


@label_app.command("import")
def label_import(
    path: Annotated[
        Path, typer.Argument(help="A table of ids and labels: csv, tsv, jsonl or parquet.", exists=True, dir_okay=False)
    ],
    map_: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            help="id=<column> and labels.<name>=<column>, repeatable; auto-detected by column name when omitted.",
        ),
    ] = None,
    mapping: Annotated[
        Path | None,
        typer.Option(
            "--mapping",
            "-m",
            help="YAML mapping with id and labels (and delimiter/quoting).",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(
            "--source",
            help="Id namespace the posts were imported under; the id column then holds native ids. Without it, ids must be '<source>:<native id>'.",
        ),
    ] = None,
    format: Annotated[
        str | None,
        typer.Option("--format", "-f", help="csv, tsv, jsonl or parquet. Guessed from the name when omitted."),
    ] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Merge labels into posts already imported: a new value for a label a post has replaces the old one.

    Rows whose id matches no post are quarantined (label_unknown_post) with file and line. Running the
    same file again changes nothing. Exits non-zero when no row matched a post.
    """
    from postlens.pipeline.labels import import_labels
    from postlens.serve.progress import Bars
    from postlens.serve.render import print_label_summary

    with Bars(err) as bars:
        summary = import_labels(
            path,
            mapping_pairs=map_ or [],
            mapping_file=mapping,
            format=format,
            source=source,
            workspace=workspace,
            progress=bars.records("importing labels"),
        )
    print_label_summary(console, summary)
    if summary.matched == 0:
        raise typer.Exit(code=1)


class LabelExportFormat(str, Enum):
    label_studio = "label-studio"


@label_app.command("export")
def label_export(
    out: Annotated[Path, typer.Option("--out", "-o", help="The tasks file to write (JSON).", dir_okay=False)],
    format: Annotated[
        LabelExportFormat, typer.Option("--format", "-f", help="Task format.")
    ] = LabelExportFormat.label_studio,
    where: Annotated[
        str | None,
        typer.Option(
            "--where",
            help="SQL condition over posts picking the posts to export, e.g. \"labels['split'] = 'train'\"; all posts without it.",
        ),
    ] = None,
    media_url_prefix: Annotated[
        str | None,
        typer.Option(
            "--media-url-prefix",
            help="Put before a stored file's workspace path (e.g. /data/local-files/?d=postlens-workspace/ for Label Studio local files); absolute paths without it.",
        ),
    ] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Write posts as Label Studio tasks (data.text, data.image/video/audio, data.post_id) to annotate them."""
    from postlens.pipeline.label_studio import export_label_studio

    summary = export_label_studio(
        out, where=where, workspace=workspace, media_url_prefix=media_url_prefix, format=format.value
    )
    console.print(
        f"wrote {summary.tasks:,} task(s) ({summary.with_media:,} with media) to {summary.path}", highlight=False
    )


@label_app.command("import-annotations")
def label_import_annotations(
    path: Annotated[
        Path,
        typer.Argument(
            help="Label Studio JSON export (a list of tasks with annotations).", exists=True, dir_okay=False
        ),
    ],
    label: Annotated[str, typer.Option("--label", "-l", help="Label name the annotated choice is stored under.")],
    from_name: Annotated[
        str | None,
        typer.Option(
            "--from-name",
            help="Only results of this control tag (its name in the labeling config); all choices/labels otherwise.",
        ),
    ] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Store Label Studio annotations as post labels (the newest annotation per task that was not cancelled).

    Several choices are sorted and joined with '|'. Tasks without a post id or an annotation are quarantined.
    Exits non-zero when no task matched a post.
    """
    from postlens.pipeline.label_studio import import_annotations
    from postlens.serve.render import print_label_summary

    summary = import_annotations(path, label=label, from_name=from_name, workspace=workspace)
    print_label_summary(console, summary)
    if summary.matched == 0:
        raise typer.Exit(code=1)


@label_app.command("rules")
def label_rules(
    rules: Annotated[
        Path,
        typer.Argument(
            help="YAML: label, on_conflict, classes -> keywords/hashtags/regex.", exists=True, dir_okay=False
        ),
    ],
    where: Annotated[
        str | None, typer.Option("--where", help="SQL condition over posts picking the posts to label; all without it.")
    ] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Weak labels from keyword, hashtag and regex rules, stored as label weak_<label> (see README)."""
    from postlens.pipeline.label_rules import apply_rules
    from postlens.serve.render import print_label_summary

    summary = apply_rules(rules, where=where, workspace=workspace)
    counts = ", ".join(f"{name} {n:,}" for name, n in summary.matched.items())
    console.print(
        f"{summary.label}: {summary.posts:,} post(s) checked; matched: {counts}; {summary.conflicts:,} "
        f"matched several classes; {summary.unmatched:,} matched none",
        highlight=False,
    )
    if summary.merge is not None:
        print_label_summary(console, summary.merge)


# ---------------------------------------------------------------- trends


@app.command(name="trends")
def trends_command(
    since: Annotated[
        str, typer.Option(help="Window to report, back from the newest post (or from now with --now): 7d, 36h, 2w.")
    ] = "7d",
    bin: Annotated[str, typer.Option("--bin", help="Bin width (UTC bins): 15m, 1h, 6h, 1d.")] = "1h",
    source: Annotated[
        list[str] | None,
        typer.Option(
            "--source",
            "-s",
            help="What to count, repeatable: hashtags, entities, topics (default: all; topics need a post_topics table).",
        ),
    ] = None,
    detector: Annotated[
        str,
        typer.Option(
            help="Burst test: poisson (one bin far above the term's own baseline) or kleinberg (two-state automaton, online)."
        ),
    ] = "poisson",
    now: Annotated[
        bool, typer.Option("--now", help="Measure --since back from the current time instead of the newest post.")
    ] = False,
    entities: Annotated[
        str,
        typer.Option(
            "--entities",
            help="Entity extractor: light (capitalised names and @mentions, no extra) or spacy (the 'ner' extra).",
        ),
    ] = "light",
    top: Annotated[int, typer.Option(min=1, help="Terms to show per source.")] = 20,
    min_count: Annotated[
        int | None,
        typer.Option("--min-count", min=1, help="Posts a term needs in one bin to alert.", show_default="10"),
    ] = None,
    min_share: Annotated[
        float | None,
        typer.Option(
            "--min-share",
            min=0.0,
            max=1.0,
            help="Share of the bin's posts a term needs to alert (a small corpus or a busy stream may want less).",
            show_default="0.2",
        ),
    ] = None,
    segmentation: Annotated[
        str | None,
        typer.Option(
            "--segmentation",
            help="Count the topics of this named segmentation only (default: every one in post_topics).",
        ),
    ] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Counts per time bin of hashtags, named entities and topics; bursts with their state (emerging,
    peaking, declining, steady), growth and the alerts that fired (table alerts).

    The detector state is saved in the workspace: after a new import, only the new bins are folded in,
    and the result equals a full recompute. A term is compared with its own share of all posts at that
    time of day, so a daily cycle or a growing platform does not fire.
    """
    from postlens.pipeline.trends import run_trends
    from postlens.serve.progress import dim_lines
    from postlens.serve.render_trends import print_trends

    report = run_trends(
        workspace=workspace,
        since=since,
        bin=bin,
        sources=source,
        detector=detector,
        relative_to_now=now,
        entity_extractor=entities,
        top=top,
        min_count=min_count,
        min_share=min_share,
        segmentation=segmentation,
        progress=dim_lines(err),
    )
    print_trends(console, report)


# ---------------------------------------------------------------- segments

segments_app = typer.Typer(
    help="Segments (topics) of posts: found in the posts, named by you, or a trained model's classes.",
    no_args_is_help=True,
)
app.add_typer(segments_app, name="segments")
SegmentNameOpt = Annotated[
    str | None,
    typer.Option(
        "--name",
        "-n",
        help="Segmentation name (default: 'topics'; 'seeds:<file>' with --seed-topics; 'model:<model>' with --model).",
    ),
]


@segments_app.command("fit")
def segments_fit(
    seed_topics: Annotated[
        Path | None,
        typer.Option(
            "--seed-topics",
            help="YAML file of topic names or short descriptions: zero-shot segments.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help="A trained classification model (folder name under <workspace>/models/ or a path): its classes are the segments.",
        ),
    ] = None,
    topics: Annotated[
        int | None, typer.Option("--topics", min=1, help="Number of topics (default: chosen from the posts).")
    ] = None,
    min_topic_size: Annotated[
        int | None,
        typer.Option(
            "--min-topic-size", min=1, help="Smaller groups join their nearest topic (default: max(10, posts / 500))."
        ),
    ] = None,
    min_similarity: Annotated[
        float | None,
        typer.Option(
            "--min-similarity", help="With --seed-topics: posts less similar than this to every seed get no segment."
        ),
    ] = None,
    name: SegmentNameOpt = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Segment every post over its text, OCR text, transcript and image/video embedding (run featurize first).

    Topic ids stay stable: fitting again keeps an old topic's id for the topic that took most of its posts
    and records merges and splits in the table topic_history. Results: tables topics and post_topics.
    """
    from postlens.pipeline.segments import fit_segments
    from postlens.serve.render_segments import print_segments_report

    report = fit_segments(
        workspace,
        name=name,
        n_topics=topics,
        min_topic_size=min_topic_size,
        seed_topics=seed_topics,
        model=model,
        min_similarity=min_similarity,
    )
    print_segments_report(console, report)


@segments_app.command("assign")
def segments_assign(
    name: Annotated[str, typer.Option("--name", "-n", help="Segmentation name.")] = "topics",
    featurize: Annotated[bool, typer.Option(help="Compute the features new posts lack first.")] = True,
    engine: EngineOpt = EngineName.local,
    address: AddressOpt = None,
    workers: WorkersOpt = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Place posts that have no segment yet (imported since the last fit); every other post keeps its topic.

    New posts far from every topic that form a tight group become a new topic with a new id.
    """
    from postlens.pipeline.segments import assign_segments
    from postlens.serve.render_segments import print_segments_report

    with _engine(engine, address, workers) as running_on:
        report = assign_segments(workspace, name=name, featurize_new=featurize, engine=running_on)
    print_segments_report(console, report)


@segments_app.command(
    "show", help=f"Topics with their words and typical posts, posts per topic over time, and history.\n\n{LOCK_HELP}"
)
def segments_show(
    name: Annotated[str, typer.Option("--name", "-n", help="Segmentation name.")] = "topics",
    topic: Annotated[int | None, typer.Option("--topic", help="Only this topic id.")] = None,
    bin: Annotated[
        str, typer.Option("--bin", help="Time bin for sizes over time: hour, day, week, month, year.")
    ] = "week",
    workspace: WorkspaceOpt = None,
) -> None:
    from postlens.pipeline.segments import show_segments
    from postlens.serve.render_segments import print_segments_view

    print_segments_view(console, show_segments(workspace, name=name, topic=topic, bin=bin))


# ---------------------------------------------------------------- popularity

popularity_app = typer.Typer(
    help="Engagement predicted at publish time, its percentile among comparable posts, and its drivers.",
    no_args_is_help=True,
)
app.add_typer(popularity_app, name="popularity")


@popularity_app.command("fit")
def popularity_fit(
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="popularity.yaml: target (metric, horizon_hours), features, split, model, percentile, curve. Default: retweets of every post.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Model folder (default: <workspace>/models/<name>).")
    ] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Fit a popularity model on a time split and print its test figures next to the followers-only and
    author-mean baselines on the same posts. Run 'postlens featurize' first."""
    from postlens.pipeline.popularity import run_popularity_fit
    from postlens.serve.render_popularity import print_fit_report

    print_fit_report(console, run_popularity_fit(config, workspace=workspace, output=output))


@popularity_app.command("predict")
def popularity_predict(
    model: Annotated[
        str, typer.Option("--model", help="A popularity model folder name under <workspace>/models/, or its path.")
    ] = "popularity",
    where: Annotated[
        str | None, typer.Option("--where", help="SQL condition over posts picking the posts to predict.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Also write the predictions to this .parquet or .csv file.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="Rows to show.")] = 20,
    workspace: WorkspaceOpt = None,
) -> None:
    """Predict engagement at publish time (posts without any engagement yet too), with the percentile among
    posts of the same platform and follower decade; write the predictions table."""
    from postlens.pipeline.popularity import run_popularity_predict
    from postlens.serve.render_popularity import print_predictions

    print_predictions(console, run_popularity_predict(model, workspace=workspace, where=where, out=out), limit=limit)


@popularity_app.command("explain")
def popularity_explain(
    post_ids: Annotated[list[str], typer.Argument(help="Post ids (e.g. twitter:5535...).")],
    model: Annotated[
        str, typer.Option("--model", help="A popularity model folder name under <workspace>/models/, or its path.")
    ] = "popularity",
    top: Annotated[int, typer.Option(min=1, help="Drivers shown per post.")] = 8,
    workspace: WorkspaceOpt = None,
) -> None:
    """What pushes each post's predicted engagement up or down: per feature and per modality (base + drivers = prediction)."""
    from postlens.pipeline.popularity import run_popularity_explain
    from postlens.serve.render_popularity import print_explanations

    print_explanations(console, run_popularity_explain(model, post_ids, workspace=workspace), top=top)


# ---------------------------------------------------------------- agent (analyze, search)


class AgentOutput(str, Enum):
    text = "text"
    json = "json"


@app.command()
def analyze(
    inputs: Annotated[
        list[str],
        typer.Argument(
            help="A post: a JSON file (.json: one post or a list; .jsonl: one per line) or a JSON object as text; and/or media files (images, GIFs, video, audio)."
        ),
    ],
    text: Annotated[
        str | None, typer.Option("--text", "-t", help="The post's text (with media files, or added to a post's).")
    ] = None,
    media_root: Annotated[
        Path | None,
        typer.Option(
            "--media-root",
            help="Folder a post's media names resolve in, and the only folder they are read from (default: the JSON file's folder; for JSON text: the current folder).",
        ),
    ] = None,
    output: Annotated[
        AgentOutput, typer.Option("--output", "-o", help="text: a readable summary; json: the Insight JSON.")
    ] = AgentOutput.text,
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model",
            "-m",
            help="Trained models to answer with, repeatable (default: every classification model in <workspace>/models).",
        ),
    ] = None,
    ocr: Annotated[bool, typer.Option(help="Read text inside images (OCR).")] = True,
    similar: Annotated[int, typer.Option(min=0, help="Similar posts to list.")] = 5,
    engine: EngineOpt = EngineName.local,
    address: AddressOpt = None,
    workers: WorkersOpt = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Understand a post in any mix of modalities with the workspace's saved models: language, OCR text,
    transcript, visual labels, segment, labels, sentiment, popularity, trends, similar posts, each modality's part.

    Media go through ingest's gate (confined to their folder, type sniffed from the bytes, size limits);
    nothing is written to the workspace.
    """
    import orjson

    from postlens.agent import Agent
    from postlens.serve.render_agent import print_insight

    requests = _analyze_requests(inputs, text, media_root)
    with (
        _engine(engine, address, workers) as running_on,
        Agent(workspace, models=model, ocr=ocr, similar=similar) as agent,
    ):
        results = (
            agent.understand_many(requests, engine=running_on)
            if len(requests) > 1 or engine is EngineName.ray
            else [
                agent.understand(
                    requests[0].post, files=requests[0].files, text=requests[0].text, media_root=requests[0].media_root
                )
            ]
        )
    if output == AgentOutput.json:
        dumped = [r.model_dump(mode="json") for r in results]
        sys.stdout.write(
            orjson.dumps(dumped[0] if len(dumped) == 1 else dumped, option=orjson.OPT_INDENT_2).decode() + "\n"
        )
        return
    for result in results:
        print_insight(console, result)
    if any(getattr(r, "kind", None) == "failure" for r in results):
        raise typer.Exit(code=1)


def _analyze_requests(inputs: list[str], text: str | None, media_root: Path | None) -> list:
    """Positional inputs -> AgentRequests: JSON posts (text or .json / .jsonl files) and media files."""
    import json

    from postlens.agent import AgentRequest
    from postlens.errors import InputError

    posts: list[tuple[Any, Path | None]] = []  # JSON values: the agent checks each is a post
    files: list[str] = []
    for item in inputs:
        if item.lstrip().startswith(("{", "[")):
            posts.append((item, media_root or Path.cwd()))
            continue
        path = Path(item)
        if path.suffix.lower() in (".json", ".jsonl"):
            if not path.is_file():
                raise InputError(f"{item}: no such post file", code="bad_input")
            body = path.read_text(encoding="utf-8")
            root = media_root or path.resolve().parent
            if path.suffix.lower() == ".jsonl":
                posts += [(line, root) for line in body.splitlines() if line.strip()]
            else:
                try:
                    parsed = json.loads(body)
                except json.JSONDecodeError as exc:
                    raise InputError(f"{item}: not valid JSON: {exc}", code="bad_json") from None
                posts += [(p, root) for p in (parsed if isinstance(parsed, list) else [parsed])]
        else:
            files.append(item)
    if not posts:
        return [AgentRequest(files=files, text=text)]
    if files and len(posts) > 1:
        raise InputError("media files go with one post; give several posts without extra files", code="bad_input")
    first = posts[0]
    requests = [AgentRequest(post=first[0], files=files, text=text, media_root=first[1])]
    return requests + [AgentRequest(post=p, media_root=r) for p, r in posts[1:]]


@app.command()
def search(
    query: Annotated[str | None, typer.Argument(help="What to look for, in words.")] = None,
    image: Annotated[
        Path | None, typer.Option("--image", "-i", help="An image to look for (alone or with the words).")
    ] = None,
    k: Annotated[int, typer.Option("--top", "-k", min=1, max=1000, help="Posts to return.")] = 10,
    output: Annotated[
        AgentOutput, typer.Option("--output", "-o", help="text: a table; json: the SearchResult JSON.")
    ] = AgentOutput.text,
    workspace: WorkspaceOpt = None,
) -> None:
    """Posts nearest a text and/or an image in the workspace's shared space (text, OCR, transcripts and
    images in one space): image-only posts come back for words about their subject. Needs 'postlens segments fit'."""
    import orjson

    from postlens.agent import Agent
    from postlens.serve.render_agent import print_search

    with Agent(workspace, models=[], popularity=False) as agent:
        result = agent.search(query, image=image, k=k)
    if output == AgentOutput.json:
        sys.stdout.write(orjson.dumps(result.model_dump(mode="json"), option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    print_search(console, result)


# ---------------------------------------------------------------- serving


@app.command()
def serve(
    host: Annotated[
        str, typer.Option(help="Address to listen on (without $POSTLENS_API_KEY: a loopback address only).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    max_upload_size: Annotated[
        str, typer.Option("--max-upload-size", help="Largest request body (all files together): 50MB, 1GiB.")
    ] = "256MiB",
    max_media_size: Annotated[
        list[str] | None,
        typer.Option(
            "--max-media-size", help=f"Per-kind upload limit, KIND=SIZE, repeatable (defaults: {describe_limits()})."
        ),
    ] = None,
    model_slots: Annotated[
        int, typer.Option("--model-slots", min=1, help="Model calls run at once (each gets cores / slots threads).")
    ] = 1,
    max_waiting: Annotated[
        int, typer.Option("--max-waiting", min=0, help="Requests that may wait for a slot; more are answered 429.")
    ] = 64,
    wait_seconds: Annotated[
        float, typer.Option("--wait-seconds", min=0.1, help="Longest wait for a slot; longer is answered 503.")
    ] = 60.0,
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model", "-m", help="Trained models to answer with, repeatable (default: every classification model)."
        ),
    ] = None,
    warm_up: Annotated[bool, typer.Option(help="Load the models before the first request.")] = True,
    workspace: WorkspaceOpt = None,
) -> None:
    """The HTTP API (OpenAPI docs at /docs): POST /v1/analyze, GET /v1/search, /v1/segments, /v1/trends,
    /v1/posts/{id}, /healthz. Requests need the key in $POSTLENS_API_KEY (Authorization: Bearer <key>);
    without it the server says so and listens on 127.0.0.1 only."""
    import os

    from postlens.media.limits import parse_media_limits, parse_size
    from postlens.serve.api import serve as run_server
    from postlens.serve.api.gate import API_KEY_ENV

    if not os.environ.get(API_KEY_ENV):
        err.print(f"[yellow]{API_KEY_ENV} is not set: the API has no authentication and listens on 127.0.0.1 only[/]")
    limits = {str(k): v for k, v in parse_media_limits(max_media_size or []).items()}
    run_server(
        workspace,
        host=host,
        port=port,
        max_body_bytes=parse_size(max_upload_size),
        max_media_bytes=limits,
        model_slots=model_slots,
        max_waiting=max_waiting,
        wait_seconds=wait_seconds,
        models=model,
        warm_up=warm_up,
    )


@app.command()
def mcp(
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model", "-m", help="Trained models to answer with, repeatable (default: every classification model)."
        ),
    ] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """The MCP server over stdio: tools analyze, search, segments and trends for an LLM client
    (e.g. {"command": "postlens", "args": ["mcp", "--workspace", "/path/to/ws"]})."""
    from postlens.serve.mcp_server import run_mcp

    run_mcp(workspace, models=model)


# ---------------------------------------------------------------- evaluate


@app.command(
    help=f"One self-contained HTML report and a metrics JSON over everything the workspace holds: each "
    "trained model's figures, per-class table, confusion matrix, calibration (reliability and ECE), modality "
    "ablation, imbalance comparison and distillation; topic quality (NPMI, diversity, outliers, sizes over "
    "time); trend timelines with their bursts; popularity against its baselines. What is absent is said in "
    f"one line.\n\n{LOCK_HELP}"
)
def evaluate(
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Folder to write evaluation.html and evaluation.json into.",
            show_default="<workspace>/reports",
        ),
    ] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    from postlens.pipeline.evaluate import run_evaluate
    from postlens.serve.demo import print_evaluate_result

    print_evaluate_result(console, run_evaluate(workspace, out=out))


# ---------------------------------------------------------------- sentiment


class SentimentBy(str, Enum):
    topic = "topic"
    hour = "hour"
    day = "day"
    week = "week"
    month = "month"
    none = "none"


@app.command(name="sentiment")
def sentiment_command(
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help="A trained classifier (folder name under <workspace>/models/ or a path), e.g. one trained on sentiment or emotion labels. Without it: the VADER lexicon only.",
        ),
    ] = None,
    by: Annotated[
        SentimentBy,
        typer.Option("--by", help="Group per topic (needs postlens segments fit), per UTC time bin, or none."),
    ] = SentimentBy.topic,
    segmentation: Annotated[
        str | None,
        typer.Option("--segmentation", help="Named segmentation in post_topics (default with --by topic: 'topics')."),
    ] = None,
    where: Annotated[
        str | None,
        typer.Option(
            "--where", help="SQL condition over posts picking the posts, e.g. \"created_at >= '2024-01-01'\"."
        ),
    ] = None,
    predict_missing: Annotated[
        bool,
        typer.Option(help="Predict the posts that have no prediction of --model yet (writes the predictions table)."),
    ] = True,
    limit: Annotated[int, typer.Option(min=1, help="Groups to show at most (time bins: the latest).")] = 50,
    workspace: WorkspaceOpt = None,
) -> None:
    """Sentiment and emotion per topic or over time: the VADER lexicon per post (feature cache) and a trained
    model's labels (table predictions), aggregated.

    Posts the model has not predicted are predicted first (featurizing what they lack), so a second run
    only reads. Per post: postlens sql "select * from predictions where model = 'NAME'".
    """
    from postlens.pipeline.sentiment import run_sentiment
    from postlens.serve.progress import Bars
    from postlens.serve.render_sentiment import print_sentiment

    with Bars(err, transient=True) as bars:
        report = run_sentiment(
            workspace,
            model=model,
            by=by.value,
            segmentation=segmentation,
            where=where,
            predict_missing=predict_missing,
            progress=bars.step,
        )
    print_sentiment(console, report, limit=limit)


# ---------------------------------------------------------------- dedupe


@app.command()
def dedupe(
    report: Annotated[
        bool,
        typer.Option(
            "--report",
            help="Print the full report: groups per reason, shared-image groups, cross-source links, largest clusters, what was skipped.",
        ),
    ] = False,
    last: Annotated[
        bool, typer.Option("--last", help="Show the last run's report without running again (read-only).")
    ] = False,
    text_threshold: Annotated[
        float,
        typer.Option(
            "--text-threshold",
            min=0.01,
            max=1.0,
            help="Estimated Jaccard of character 5-grams that makes two texts copies.",
        ),
    ] = 0.7,
    image_distance: Annotated[
        int,
        typer.Option(
            "--image-distance", min=0, max=32, help="Perceptual-hash bits (of 64) within which two images are copies."
        ),
    ] = 6,
    workspace: WorkspaceOpt = None,
) -> None:
    """Link posts that are copies of one another into clusters: the same post under two sources, the same
    canonical address, near-duplicate text (MinHash LSH) or near-duplicate images (perceptual hash).

    Nothing is deleted: the clusters go to the table duplicate_clusters (post, cluster, reason, linked_to),
    recomputed on every run. Train with split.strategy: duplicates to keep a cluster on one side of a split.
    """
    from postlens.pipeline.dedupe import last_report, run_dedupe
    from postlens.serve.progress import dim_lines
    from postlens.serve.render_dedupe import print_dedupe_report

    if last:
        print_dedupe_report(console, last_report(workspace), full=True)
        return
    result = run_dedupe(
        workspace, text_threshold=text_threshold, image_max_distance=image_distance, progress=dim_lines(err)
    )
    print_dedupe_report(console, result, full=report)


def main() -> None:
    """Entry point: library errors become one clear line and exit code 2, not a traceback.
    (Ctrl-C and a closed pipe, as in postlens sql ... | head, click already ends quietly.)"""
    try:
        app()
    except PostlensError as exc:
        from postlens.serve.cells import terminal_safe

        err.print(Text.assemble(("error: ", "bold red"), terminal_safe(str(exc))), soft_wrap=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
