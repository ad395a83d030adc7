"""What the four table formats share: their options (mapping, media root, id namespace) and per-file set-up.

The per-format readers (``generic.py``) only split a file into record dicts; ``converter`` resolves
the mapping against one file's columns (a column the file lacks is a ``MappingError`` before any row
is read) and hands back the ``RowConverter`` that turns each record into a post.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from postlens.sources.base import CorruptStream, bad_compression, empty_file_rejection
from postlens.sources.kit import file_time_utc
from postlens.sources.mapping import ColumnMapping
from postlens.sources.media_refs import MediaResolver
from postlens.sources.rows import RowConverter
from postlens.types import Post, Rejected


class TableImporter:
    """Shared options and per-file set-up of the four table formats."""

    name = "table"

    def __init__(self, mapping: ColumnMapping | dict[str, Any] | str | Path | None = None,
                 media_root: Path | str | None = None, source: str | None = None) -> None:
        if isinstance(mapping, (str, Path)):
            mapping = ColumnMapping.from_yaml(mapping)
        elif isinstance(mapping, dict):
            mapping = ColumnMapping.from_dict(mapping)
        self.mapping = mapping or ColumnMapping()
        self.media_root = Path(media_root) if media_root is not None else None
        self.source = source
        self.media = MediaResolver(self.mapping.media_separator, self.mapping.media_kind)

    def iter_records(self, path: Path) -> Iterator[Post | Rejected]:
        path = Path(path)
        empty = empty_file_rejection(path)
        if empty is not None:
            yield empty
            return
        try:
            yield from self._records(path)
        except CorruptStream as exc:
            yield bad_compression(path, exc)

    def _records(self, path: Path) -> Iterator[Post | Rejected]:
        raise NotImplementedError

    def converter(self, path: Path, columns: list[str]) -> RowConverter:
        """Resolve the mapping against this file's columns (may raise ``MappingError``)."""
        resolved = self.mapping.resolve(columns, path)
        return RowConverter(
            resolved, path,
            source=self.source or resolved.source or default_source(path),
            media_root=self.media_root or path.resolve().parent,
            media=self.media, observed_default=file_time_utc(path),
        )

    def _empty(self, path: Path, why: str) -> Rejected:
        return Rejected(str(path), None, "empty_file", why)


def default_source(path: Path) -> str:
    """The id namespace when none is given: ``posts.csv.zst`` -> ``posts``."""
    name = path.name.removesuffix(".zst").removesuffix(".gz")
    return Path(name).stem or name
