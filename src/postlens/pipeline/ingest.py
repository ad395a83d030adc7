"""Import stage: files -> workspace, with a live counter; and writing the sample corpus (``demo-data``).

The main job on the sample corpus (``postlens demo``) is ``postlens.pipeline.demo``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from postlens.errors import ConfigError
from postlens.store.ingest import ImportSummary, ingest
from postlens.store.workspace import Workspace

_GENERIC = {"csv", "tsv", "jsonl", "parquet"}
_TAKE_MEDIA_ROOT = _GENERIC | {"postlens"}


def build_importer(
    name: str,
    *,
    mapping_file: Path | None = None,
    mapping_pairs: Sequence[str] = (),
    media_root: Path | None = None,
    source: str | None = None,
) -> Any:
    """An importer by name; mapping options are only for the generic table formats."""
    from postlens.sources.base import get_importer

    if media_root is not None and name not in _TAKE_MEDIA_ROOT:
        raise ConfigError(f"--media-root applies to {', '.join(sorted(_TAKE_MEDIA_ROOT))}, not to {name!r} "
                          "(recipes read media from their dataset folder; platform formats carry URLs)")
    if name not in _GENERIC:
        if mapping_file or mapping_pairs:
            raise ConfigError(f"--mapping/--map apply to {', '.join(sorted(_GENERIC))}, not to {name!r}")
        return get_importer(name, media_root=media_root) if media_root is not None else get_importer(name)
    from postlens.sources.mapping import ColumnMapping

    mapping = ColumnMapping.from_yaml(mapping_file) if mapping_file else None
    if mapping_pairs:
        pairs = ColumnMapping.from_pairs(list(mapping_pairs))
        mapping = mapping.merge(pairs) if mapping else pairs
    return get_importer(name, mapping=mapping, media_root=media_root, source=source)


def run_ingest(
    paths: Sequence[Path],
    *,
    importer_name: str | None = None,
    mapping_file: Path | None = None,
    mapping_pairs: Sequence[str] = (),
    media_root: Path | None = None,
    source: str | None = None,
    workspace: Path | None = None,
    batch_size: int = 2000,
    console: Console | None = None,
    max_media_bytes: Mapping[str, int] | None = None,
) -> ImportSummary:
    """Import ``paths`` (one importer for all of them; guessed from the first when not named).

    Local media are read only from inside ``media_root`` (default: each data file's folder);
    ``max_media_bytes`` (kind -> bytes, e.g. ``{"video": 500_000_000}``) overrides the size limits
    of ``postlens.media.limits``; a larger file is quarantined as ``media_too_large`` without being copied.
    """
    from postlens.sources.detect import detect_format

    console = console or Console(stderr=True)
    name = importer_name or detect_format(Path(paths[0]))
    importer = build_importer(
        name, mapping_file=mapping_file, mapping_pairs=mapping_pairs, media_root=media_root, source=source
    )
    options = {"importer": name, "mapping": str(mapping_file) if mapping_file else None,
               "map": list(mapping_pairs), "media_root": str(media_root) if media_root else None,
               "source": source, "max_media_bytes": {str(k): v for k, v in (max_media_bytes or {}).items()}}
    with Workspace(workspace) as ws, _counter(console, f"importing ({name})") as update:
        return ingest(ws, importer, paths, batch_size=batch_size, progress=update, options=options,
                      max_media_bytes=max_media_bytes)


class _counter:
    """A live 'records, quarantined, rate' line; record totals are unknown while streaming."""

    def __init__(self, console: Console, label: str) -> None:
        self.progress = Progress(
            SpinnerColumn(), TextColumn(label), TextColumn("{task.completed:,} records"),
            TextColumn("{task.fields[q]:,} quarantined"), TimeElapsedColumn(), console=console,
        )
        self.task = self.progress.add_task(label, total=None, q=0)

    def __enter__(self) -> Any:
        self.progress.start()

        def update(seen: int, quarantined: int) -> None:
            self.progress.update(self.task, completed=seen, q=quarantined)

        return update

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()


def run_demo_data(out: Path, *, seed: int = 0, n_posts: int = 3000, console: Console | None = None) -> Any:
    from postlens.demo import generate_corpus

    console = console or Console()
    with Progress(
        SpinnerColumn(), TextColumn("generating sample corpus"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=console,
    ) as bar:
        task = bar.add_task("demo", total=n_posts)
        summary = generate_corpus(
            out, seed=seed, n_posts=n_posts, progress=lambda done, total: bar.update(task, completed=done, total=total)
        )
    console.print(f"wrote the sample corpus to [bold]{out}[/] ({n_posts:,} posts, seed {seed}); truth in {out / 'truth.json'}")
    return summary
