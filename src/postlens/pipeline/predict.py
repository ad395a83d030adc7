"""``postlens predict --model NAME [FILES...] [--where SQL] [--out FILE]``: predict posts with a saved model.

Posts come from the workspace (all, or those a ``--where`` condition picks) or from files imported
on the fly through the ordinary ingest path. Only what the feature cache lacks is computed, with
exactly the model's encoders; a model whose encoders this postlens would compute differently is
refused before anything is imported or computed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from postlens.errors import ConfigError
from postlens.models.artifact import load_model
from postlens.models.prediction import Predictions
from postlens.store.ingest import ImportSummary, ingest
from postlens.store.post_filter import check_where, select_post_ids
from postlens.store.workspace import Workspace, resolve_workspace_path
from postlens.types import Post, Rejected

if TYPE_CHECKING:
    import pandas as pd

OUT_FORMATS = (".parquet", ".csv")


@dataclass
class PredictReport:
    """What ``postlens predict`` did: the predictions, where they went, what was imported first."""

    predictions: Predictions
    model_folder: Path
    out: Path | None = None
    imported: ImportSummary | None = None
    file_posts: int = 0
    notes: list[str] = field(default_factory=list)


def resolve_model_folder(model: str | Path, workspace_root: Path) -> Path:
    """A model folder name under ``<workspace>/models/`` or a path to a model folder."""
    text = str(model)
    candidates = [Path(text).expanduser()]
    if text and "/" not in text and "\\" not in text and text not in (".", ".."):
        candidates.insert(0, workspace_root / "models" / text)
    for folder in candidates:
        if (folder / "model.json").is_file():
            return folder.resolve()
    models = workspace_root / "models"
    known = sorted(p.name for p in models.iterdir() if (p / "model.json").is_file()) if models.is_dir() else []
    raise ConfigError(
        f"no model {text!r}: not a folder with model.json, nor a model in {models}; "
        f"models there: {', '.join(known) or 'none (run postlens train first)'}"
    )


def predict(
    model: str | Path,
    *,
    workspace: str | Path | None = None,
    where: str | None = None,
    files: Sequence[Path] = (),
    importer_name: str | None = None,
    mapping_file: Path | None = None,
    mapping_pairs: Sequence[str] = (),
    media_root: Path | None = None,
    source: str | None = None,
    out: Path | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    post_ids: Sequence[str] | None = None,
    save: bool = True,
) -> PredictReport:
    """Predict posts with the model ``model`` (a name under ``<workspace>/models/`` or a folder).

    ``files`` are imported first (any format ``postlens ingest`` reads) and only their posts are
    predicted; or ``post_ids`` picks posts of the workspace; ``where`` (a SQL condition over posts)
    narrows the posts further. Predictions go to the ``predictions`` table (unless ``save`` is
    False) and, when ``out`` is given, to that .parquet or .csv file. ``progress(encoder, done, total)``
    follows the featurizing of what the cache lacks.
    """
    if out is not None and Path(out).suffix.lower() not in OUT_FORMATS:
        raise ConfigError(f"--out {out}: write .parquet or .csv (got {Path(out).suffix or 'no extension'!r})")
    if files and post_ids is not None:
        raise ConfigError("predict the posts of files or posts named by id, not both")
    if where is not None:
        where = check_where(where)
    root = resolve_workspace_path(workspace)
    folder = resolve_model_folder(model, root)
    trained = load_model(folder)
    trained.check_installed_encoders()  # refuse before importing or computing anything
    trained.training_config()
    report_imported: ImportSummary | None = None
    ids: list[str] | None = None if post_ids is None else list(post_ids)
    if files:
        report_imported, ids = _import_files(
            files,
            workspace=root,
            importer_name=importer_name,
            mapping_file=mapping_file,
            mapping_pairs=mapping_pairs,
            media_root=media_root,
            source=source,
        )
    file_posts = len(ids or []) if files else 0
    if where is not None:
        with Workspace(root, read_only=True) as ws:  # the user's SQL runs on a read-only connection
            ids = select_post_ids(ws.db, where, within=ids)
    with Workspace(root, create=bool(files)) as ws:
        predictions = trained.predict_posts(ws, post_ids=ids, featurizer=_featurizer(progress), save=save)
    if out is not None:
        write_out(predictions.frame, Path(out))
    return PredictReport(
        predictions=predictions,
        model_folder=folder,
        out=Path(out) if out else None,
        imported=report_imported,
        file_posts=file_posts,
    )


class _RecordingImporter:
    """The chosen importer, noting the id of every post it yields (to predict exactly those)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name
        self.ids: dict[str, None] = {}

    def __getattr__(self, name: str) -> Any:  # anything else the ingest path asks of an importer
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    def iter_records(self, path: Path) -> Iterator[Post | Rejected]:
        for record in self.inner.iter_records(path):
            if isinstance(record, Post) and record.id:
                self.ids[record.id] = None
            yield record


def _import_files(
    files: Sequence[Path],
    *,
    workspace: Path,
    importer_name: str | None,
    mapping_file: Path | None,
    mapping_pairs: Sequence[str],
    media_root: Path | None,
    source: str | None,
) -> tuple[ImportSummary, list[str]]:
    from postlens.pipeline.ingest import build_importer
    from postlens.sources.detect import detect_format

    name = importer_name or detect_format(Path(files[0]))
    importer = _RecordingImporter(
        build_importer(
            name, mapping_file=mapping_file, mapping_pairs=mapping_pairs, media_root=media_root, source=source
        )
    )
    options = {
        "importer": name,
        "mapping": str(mapping_file) if mapping_file else None,
        "map": list(mapping_pairs),
        "media_root": str(media_root) if media_root else None,
        "source": source,
        "for": "predict",
    }
    with Workspace(workspace) as ws:
        summary = ingest(ws, importer, [Path(f) for f in files], options=options)
        ws.db.register("_file_ids", _id_table(list(importer.ids)))
        stored = {r[0] for r in ws.db.execute("SELECT id FROM posts WHERE id IN (SELECT id FROM _file_ids)").fetchall()}
        ws.db.unregister("_file_ids")
    ids = [i for i in importer.ids if i in stored]
    if not ids:
        raise ConfigError(
            f"no post of {', '.join(str(f) for f in files)} could be imported "
            f"({summary.quarantined} quarantined: see 'postlens quarantine')"
        )
    return summary, ids


def _id_table(ids: list[str]) -> Any:
    import pyarrow as pa

    return pa.table({"id": pa.array(ids, pa.string())})


def _featurizer(progress: Callable[[str, int, int], None] | None) -> Any:
    """featurize(..., encoders=, post_ids=) behind the model's Featurizer signature."""

    def run(ws: Workspace, encoders: list[str], post_ids: list[str]) -> int:
        from postlens.pipeline.featurize import featurize

        return featurize(ws, encoders=encoders, post_ids=post_ids, progress=progress).computed

    return run


def write_out(frame: pd.DataFrame, out: Path) -> Path:
    """A predictions frame as .parquet or .csv (written to a temporary name, then renamed); the popularity
    predictions are written with it too."""
    out = out.expanduser()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    if out.suffix.lower() == ".csv":
        frame.to_csv(tmp, index=False)
    else:
        frame.to_parquet(tmp, index=False)
    tmp.replace(out)
    return out
