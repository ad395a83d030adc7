"""Import stage: files -> workspace. Progress goes to a callback; the CLI draws it (``serve/``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from postlens.errors import ConfigError
from postlens.store.ingest import BATCH_SIZE, ImportSummary, Progress, ingest
from postlens.store.workspace import Workspace


def build_importer(
    name: str,
    *,
    mapping_file: Path | None = None,
    mapping_pairs: Sequence[str] = (),
    media_root: Path | None = None,
    source: str | None = None,
) -> Any:
    """An importer by name; an option the importer does not take is an error naming the ones that do.

    Which importer takes which option is read from its constructor (``sources.base.importer_options``):
    the generic tables take a mapping, a media root and a source; ``postlens`` JSONL a media root.
    """
    from postlens.sources.base import get_importer, importers_taking

    given = {"media_root": media_root is not None, "mapping": bool(mapping_file or mapping_pairs),
             "source": source is not None}
    for option, flag, why in _OPTIONS:
        takers = importers_taking(option)
        if given[option] and name not in takers:
            raise ConfigError(f"{flag} applies to {', '.join(takers)}, not to {name!r}{why}")
    options: dict[str, Any] = {"media_root": media_root} if media_root is not None else {}
    if source is not None:
        options["source"] = source
    if name in importers_taking("mapping"):
        from postlens.sources.mapping import ColumnMapping

        mapping = ColumnMapping.from_yaml(mapping_file) if mapping_file else None
        if mapping_pairs:
            pairs = ColumnMapping.from_pairs(list(mapping_pairs))
            mapping = mapping.merge(pairs) if mapping else pairs
        options["mapping"] = mapping
    return get_importer(name, **options)


_OPTIONS = (
    ("media_root", "--media-root", " (recipes read media from their dataset folder; platform formats carry URLs)"),
    ("mapping", "--mapping/--map", ""),
    ("source", "--source", " (platform formats and recipes name their own source)"),
)


def importer_name_for(paths: Sequence[Path], importer_name: str | None = None) -> str:
    """The importer named, or the one guessed from the first path."""
    from postlens.sources.detect import detect_format

    return importer_name or detect_format(Path(paths[0]))


def run_ingest(
    paths: Sequence[Path],
    *,
    importer_name: str | None = None,
    mapping_file: Path | None = None,
    mapping_pairs: Sequence[str] = (),
    media_root: Path | None = None,
    source: str | None = None,
    workspace: Path | None = None,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
    max_media_bytes: Mapping[str, int] | None = None,
) -> ImportSummary:
    """Import ``paths`` (one importer for all of them; guessed from the first when not named).

    Local media are read only from inside ``media_root`` (default: each data file's folder);
    ``max_media_bytes`` (kind -> bytes, e.g. ``{"video": 500_000_000}``) overrides the size limits
    of ``postlens.media.limits``; a larger file is quarantined as ``media_too_large`` without being copied.
    ``progress(records seen, quarantined)`` is called after each batch.
    """
    name = importer_name_for(paths, importer_name)
    importer = build_importer(
        name, mapping_file=mapping_file, mapping_pairs=mapping_pairs, media_root=media_root, source=source
    )
    options = {"importer": name, "mapping": str(mapping_file) if mapping_file else None,
               "map": list(mapping_pairs), "media_root": str(media_root) if media_root else None,
               "source": source, "max_media_bytes": {str(k): v for k, v in (max_media_bytes or {}).items()}}
    with Workspace(workspace) as ws:
        return ingest(ws, importer, paths, batch_size=batch_size, progress=progress, options=options,
                      max_media_bytes=max_media_bytes)
