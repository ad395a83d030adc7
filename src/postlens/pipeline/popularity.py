"""``postlens popularity fit | predict | explain``: the popularity task over a workspace, as functions.

fit      reads the workspace (read-only), fits on a time split, prints the learned model's figures
         next to the baselines on the same test period, saves ``<workspace>/models/<name>/``
predict  featurizes what the cache lacks (the model's encoders only), predicts, writes the
         ``predictions`` table (value = predicted log1p count) and optionally a .parquet / .csv file
explain  the same, without writing, returning each post's drivers
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from postlens.errors import ConfigError
from postlens.pipeline.predict import OUT_FORMATS, write_out
from postlens.store.post_filter import check_where, select_post_ids
from postlens.store.workspace import Workspace, resolve_workspace_path
from postlens.tasks.popularity import (
    PopularityConfig,
    PopularityPredictions,
    fit_popularity,
    load_popularity_config,
    load_popularity_model,
    parse_popularity_config,
    predict_popularity,
    save_popularity_model,
)
from postlens.tasks.popularity.artifact import DESCRIPTION


def run_popularity_fit(
    config: str | Path | PopularityConfig | None = None,
    *,
    workspace: str | Path | None = None,
    output: str | Path | None = None,
) -> dict[str, Any]:
    """Fit and save; returns the report (``serve.render_popularity.print_fit_report`` prints it).

    ``config``: a popularity.yaml, an already parsed config, or None for the defaults (retweets of
    every post). A relative ``output`` in a YAML file is relative to that file.
    """
    if config is None or isinstance(config, PopularityConfig):
        parsed, base = config or parse_popularity_config(None), Path.cwd()
    else:
        parsed, base = load_popularity_config(config), Path(config).resolve().parent
    root = resolve_workspace_path(workspace)
    with Workspace(root, read_only=True) as ws:
        result = fit_popularity(ws, parsed)
    chosen = (
        Path(output) if output is not None else Path(parsed.output) if parsed.output else root / "models" / parsed.name
    )
    folder = chosen if chosen.is_absolute() else (Path.cwd() if output is not None else base) / chosen
    save_popularity_model(
        result.model, folder, feature_keys=result.feature_keys, dims=result.dims, figures=result.figures()
    )
    return {
        "name": parsed.name,
        "folder": str(folder),
        "metric": parsed.target.metric,
        "horizon_hours": parsed.target.horizon_hours,
        **result.figures(),
        "notes": result.notes,
        "importance": result.importance,
        "modality_importance": result.modality_importance,
    }


def resolve_popularity_model(model: str | Path, workspace_root: Path) -> Path:
    """A folder name under ``<workspace>/models/`` or a path to a popularity model folder."""
    text = str(model)
    candidates = [Path(text).expanduser()]
    if text and "/" not in text and "\\" not in text and text not in (".", ".."):
        candidates.insert(0, workspace_root / "models" / text)
    for folder in candidates:
        if (folder / DESCRIPTION).is_file():
            return folder.resolve()
    models = workspace_root / "models"
    known = sorted(p.name for p in models.iterdir() if (p / DESCRIPTION).is_file()) if models.is_dir() else []
    raise ConfigError(
        f"no popularity model {text!r}: not a folder with {DESCRIPTION}, nor one in {models}; "
        f"popularity models there: {', '.join(known) or 'none (run postlens popularity fit first)'}"
    )


@dataclass
class PopularityRun:
    predictions: PopularityPredictions
    model_folder: Path
    out: Path | None = None


def _featurize(ws: Workspace, encoders: list[str], post_ids: list[str]) -> int:
    from postlens.pipeline.featurize import featurize

    return featurize(ws, encoders=encoders, post_ids=post_ids).computed


def run_popularity_predict(
    model: str | Path,
    *,
    workspace: str | Path | None = None,
    where: str | None = None,
    post_ids: Sequence[str] | None = None,
    out: str | Path | None = None,
    save: bool = True,
) -> PopularityRun:
    """Predict posts (all of the model's platforms, ``post_ids``, and/or those a ``where`` SQL condition picks)."""
    if out is not None and Path(out).suffix.lower() not in OUT_FORMATS:
        raise ConfigError(f"--out {out}: write .parquet or .csv (got {Path(out).suffix or 'no extension'!r})")
    root = resolve_workspace_path(workspace)
    folder = resolve_popularity_model(model, root)
    trained, info = load_popularity_model(folder)
    info["name"] = folder.name
    ids = list(post_ids) if post_ids is not None else None
    if where is not None:
        with Workspace(root, read_only=True) as ws:  # the user's SQL runs on a read-only connection
            ids = select_post_ids(ws.db, check_where(where), within=ids)
    with Workspace(root) as ws:
        if ids is not None:
            _check_known(ws, ids)
        predictions = predict_popularity(
            trained, info, ws, ids, featurizer=_featurize, save=save, model_name=folder.name
        )
    written = None
    if out is not None:
        written = write_out(predictions.frame, Path(out))
    return PopularityRun(predictions=predictions, model_folder=folder, out=written)


def run_popularity_explain(
    model: str | Path, post_ids: Sequence[str], *, workspace: str | Path | None = None
) -> PopularityRun:
    """Drivers of these posts' predictions (nothing written except missing features)."""
    if not post_ids:
        raise ConfigError('name at least one post id to explain (postlens sql "select id from posts limit 5")')
    return run_popularity_predict(model, workspace=workspace, post_ids=post_ids, save=False)


def _check_known(ws: Workspace, ids: list[str]) -> None:
    import pyarrow as pa

    ws.db.register("_wanted", pa.table({"id": pa.array(ids, pa.string())}))
    try:
        known = {r[0] for r in ws.db.execute("SELECT id FROM posts WHERE id IN (SELECT id FROM _wanted)").fetchall()}
    finally:
        ws.db.unregister("_wanted")
    missing = [p for p in ids if p not in known]
    if missing:
        raise ConfigError(f"{len(missing)} post ids are not in the workspace, e.g. {missing[:3]}")
