"""Label import: add labels from any table (csv, tsv, jsonl, parquet) to posts already imported.

    from postlens.pipeline.labels import import_labels
    summary = import_labels("labels.csv", mapping_pairs=["id=tweet_id", "labels.emotion=label"], source="tweeteval")

The file is read by the generic table importers (same quoting, encodings, compression, per-row
quarantine and ``ColumnMapping`` as ``postlens ingest``); only the row -> record step differs: a row
gives a ``LabelRow`` (post id + labels) instead of a post, so a labels file needs no text column.
The id column holds the native id with ``source`` given (``123`` + ``--source tweeteval`` ->
``tweeteval:123``; a value already written ``tweeteval:123`` is taken as is), or, without a source,
full post ids ``<source>:<native id>``. An empty label cell sets nothing (it never deletes a label).
Merging, hashing and the quarantine are in ``store/labels.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from postlens.errors import ConfigError, MappingError
from postlens.pipeline.ingest import build_importer
from postlens.sources.generic import TABLE_FORMATS
from postlens.sources.rows import raw_text, scalar_text
from postlens.sources.mapping import ColumnMapping, make_getter
from postlens.store.labels import LabelRow, LabelSummary, merge_labels
from postlens.store.workspace import Workspace
from postlens.types import Rejected

FORMATS = TABLE_FORMATS
MAPPING_KEYS = frozenset({"id", "labels", "source", "delimiter", "quoting", "auto_detect"})
"""The mapping keys a labels file uses; the others describe posts and are refused."""


def import_labels(
    path: str | Path,
    *,
    mapping_pairs: Sequence[str] = (),
    mapping_file: str | Path | None = None,
    format: str | None = None,
    source: str | None = None,
    workspace: str | Path | None = None,
    batch_size: int = 5000,
    progress: Callable[[int, int], None] | None = None,
) -> LabelSummary:
    """Merge the labels of ``path`` into the workspace's posts; returns the run's counts.

    ``mapping_pairs`` are ``id=<column>`` and ``labels.<name>=<column>`` (unset: the id and label
    columns are auto-detected by name, as in ingest). Raises ``ConfigError``/``MappingError`` before
    anything is written when the format, mapping or columns are wrong. ``progress(rows seen,
    quarantined)`` is called after each batch.
    """
    from postlens.sources.detect import detect_format

    path = Path(path)
    name = format or detect_format(path)
    if name not in FORMATS:
        raise ConfigError(f"labels are read from a table: format {name!r} is not one; known: {', '.join(FORMATS)} "
                          "(pass --format when the file name does not say)")
    reader = label_reader(name, mapping_pairs=mapping_pairs, mapping_file=mapping_file, source=source)
    options = {"format": name, "map": list(mapping_pairs), "mapping": str(mapping_file) if mapping_file else None,
               "source": source}
    with Workspace(workspace, create=False) as ws:
        return merge_labels(ws, _checked(reader.iter_records(path), path), inputs=[str(path)], options=options,
                            batch_size=batch_size, progress=progress)


def label_reader(name: str, *, mapping_pairs: Sequence[str] = (), mapping_file: str | Path | None = None,
                 source: str | None = None) -> Any:
    """The generic importer ``name`` reading ``LabelRow``s instead of posts (same parsing, same mapping)."""
    table = build_importer(name, mapping_file=Path(mapping_file) if mapping_file else None,
                           mapping_pairs=mapping_pairs, source=source)
    extra = sorted(table.mapping.model_fields_set - MAPPING_KEYS)
    if extra:
        allowed = ", ".join(sorted(MAPPING_KEYS - {"id", "labels"}))
        raise MappingError(f"a labels file maps only id and labels.<name> (and the reading options {allowed}); "
                           f"not {', '.join(extra)}")
    reader_class = type(f"Label{type(table).__name__}", (_LabelColumns, type(table)), {})
    return reader_class(mapping=table.mapping, source=source)


class _LabelColumns:
    """Mixed into a generic table importer: its per-file converter yields ``LabelRow``s."""

    mapping: ColumnMapping
    source: str | None

    def converter(self, path: Path, columns: list[str]) -> LabelConverter:
        resolved = self.mapping.resolve(columns, path)
        shown = ", ".join(map(repr, list(columns)[:60]))
        if not resolved.id:
            raise MappingError(f"{path}: no id column found; give --map id=<column>. Columns in the file: {shown}")
        if not resolved.labels:
            raise MappingError(f"{path}: no label column found; give --map labels.<name>=<column>. "
                               f"Columns in the file: {shown}")
        if any(not name.strip() for name in resolved.labels):
            raise MappingError("a label needs a name: --map labels.<name>=<column> (e.g. labels.emotion=label)")
        return LabelConverter(resolved, path, source=self.source or resolved.source)


class LabelConverter:
    """One record dict -> a ``LabelRow`` (or a ``Rejected`` when it has no usable id)."""

    def __init__(self, mapping: ColumnMapping, file: Path, *, source: str | None) -> None:
        assert mapping.id is not None
        self.file = str(file)
        self.id_column = mapping.id
        self.source = source
        self.get_id: Callable[[dict[str, Any]], Any] = make_getter(mapping.id)
        self.getters = [(label, make_getter(column)) for label, column in mapping.labels.items()]

    def convert(self, record: dict[str, Any], line: int | None) -> LabelRow | Rejected:
        value = scalar_text(self.get_id(record))
        if not value:
            return Rejected(self.file, line, "missing_id", f"no value in id column {self.id_column!r}",
                            raw=raw_text(record))
        post_id = full_post_id(value, self.source)
        if post_id is None:
            return Rejected(self.file, line, "missing_source",
                            f"id {value!r} names no source: pass --source (the namespace the posts were "
                            "imported under) or write ids as '<source>:<native id>'", raw=raw_text(record))
        labels = {}
        for label, getter in self.getters:
            text = scalar_text(getter(record))
            if text:
                labels[label] = text
        return LabelRow(post_id, labels, self.file, line, raw_text(record))


def full_post_id(value: str, source: str | None) -> str | None:
    """``123`` + source ``s`` -> ``s:123``; ``s:123`` stays; without a source only ``<source>:<id>`` is an id."""
    if source:
        return value if value.startswith(f"{source}:") else f"{source}:{value}"
    prefix, sep, native = value.partition(":")
    return value if sep and prefix.strip() and native.strip() else None


def _checked(records: Iterator[Any], path: Path) -> Iterator[LabelRow | Rejected]:
    """Anything a reader yields that is neither a label row nor a rejection becomes a rejection."""
    for record in records:
        if isinstance(record, (LabelRow, Rejected)):
            yield record
        else:
            yield Rejected(str(path), None, "bad_record", f"not a table row: {raw_text(record)[:200]}",
                           raw=raw_text(record))
