"""Import any table of posts: CSV, TSV, JSON Lines and Parquet, driven by a ``ColumnMapping``.

Every reader streams (one record at a time, memory flat on a 1 GB file) and turns a bad record
into a ``Rejected`` with a stable code (``bad_encoding``, ``bad_columns``, ``bad_csv``,
``bad_json``, ``bad_date``, ``bad_row``, ``missing_id``, ``bad_id``, ``empty_post``, ``empty_file``,
``bad_compression``) so the batch goes on; a bad value in one field is dropped and noted on the post
(``Post.notes``, see ``postlens.values``).
A mapping that names a column the file lacks is a whole-file ``MappingError``, raised before
any row is read. This module only reads each format into record dicts; options and per-file set-up
are in ``table.py``, and records become posts in ``rows.py`` (``RowConverter``).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from postlens.errors import SourceError
from postlens.sources.base import CorruptStream, bad_encoding, open_binary, register, text_lines
from postlens.sources.mapping import nested_paths
from postlens.sources.table import TableImporter
from postlens.types import RAW_LIMIT, Post, Rejected

_SURROGATE = re.compile("[\udc80-\udcff]")
JSON_SAMPLE_LINES = 1000  # JSONL lines read ahead to learn the columns before checking the mapping


@register("csv")
class CsvImporter(TableImporter):
    """Comma-separated values with a header row; quoted fields may span lines."""

    name = "csv"
    default_delimiter = ","
    # a longer field is a malformed record (typically an unclosed quote swallowing the file): it
    # becomes one ``bad_csv`` rejection instead of an unbounded read into memory
    max_field_chars = 64 * 1024 * 1024

    def _records(self, path: Path) -> Iterator[Post | Rejected]:
        csv.field_size_limit(self.max_field_chars)
        delimiter = self.mapping.delimiter or self.default_delimiter
        with open_binary(path) as stream:
            text = io.TextIOWrapper(stream, encoding="utf-8", errors="surrogateescape", newline="")
            quoting = csv.QUOTE_MINIMAL if self.mapping.quoting else csv.QUOTE_NONE
            reader = csv.reader(text, delimiter=delimiter, quoting=quoting)
            rows = _rows_with_lines(reader, path)
            header: list[str] | None = None
            for _line, row in rows:
                if isinstance(row, Rejected):
                    yield row  # a malformed record before the header
                elif row:
                    header = row
                    break
            if header is None:
                yield self._empty(path, "the file has no header row: nothing to import")
                return
            header = [name.lstrip("\ufeff").strip() for name in header]
            convert = self.converter(path, header).convert
            width, seen = len(header), False
            for line, row in rows:
                if isinstance(row, Rejected):
                    yield row
                    continue
                if not row:
                    continue  # blank line
                seen = True
                if len(row) != width:
                    yield Rejected(str(path), line, "bad_columns",
                                   f"expected {width} columns (from the header), got {len(row)}; "
                                   f"check the delimiter {delimiter!r} and quoting",
                                   raw=delimiter.join(row)[:RAW_LIMIT])
                    continue
                joined = "\x1f".join(row)
                if not joined.isascii() and _SURROGATE.search(joined):
                    yield bad_encoding(path, line, delimiter.join(row).encode("utf-8", "surrogateescape"))
                    continue
                yield convert(dict(zip(header, row)), line)
            if not seen:
                yield self._empty(path, "the file has a header but no rows")


def _rows_with_lines(reader: Any, path: Path) -> Iterator[tuple[int, list[str] | Rejected]]:
    """``(first physical line, row)``; a malformed record becomes a Rejected and reading goes on."""
    previous = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield previous + 1, Rejected(str(path), previous + 1, "bad_csv", f"malformed CSV record: {exc}")
            previous = reader.line_num
            continue
        except Exception as exc:  # a corrupt .zst/.gz stream or a read error: the rest is unreadable
            broken = CorruptStream if path.suffix in (".zst", ".gz") else SourceError
            raise broken(f"cannot read {path} after line {previous}: {exc}") from exc
        start, previous = previous + 1, reader.line_num
        yield start, row


@register("tsv")
class TsvImporter(CsvImporter):
    """Tab-separated values (quoting on by default; set ``quoting: false`` for raw TSV)."""

    name = "tsv"
    default_delimiter = "\t"


@register("jsonl")
class JsonlImporter(TableImporter):
    """One JSON object per line; mapping columns may be dotted paths (``user.id``)."""

    name = "jsonl"

    def _records(self, path: Path) -> Iterator[Post | Rejected]:
        parsed = (self._parse(path, number, text, raw) for number, text, raw in text_lines(path))
        sample: list[tuple[int, dict[str, Any] | Rejected]] = []
        columns: dict[str, None] = {}
        objects = False
        broken: CorruptStream | None = None
        try:
            for item in parsed:
                if item is None:
                    continue
                sample.append(item)
                if isinstance(item[1], dict):
                    objects = True
                    columns.update(dict.fromkeys(nested_paths(item[1])))
                if len(sample) >= JSON_SAMPLE_LINES:
                    break
        except CorruptStream as exc:  # the lines read before the break are still imported
            broken = exc
        if not sample:
            if broken is not None:
                raise broken
            yield self._empty(path, "the file has no JSON lines: nothing to import")
            return
        if columns:
            # optional nested keys are often absent from the first lines: a dotted column counts
            # as present when its top-level object is (a misspelt top-level key still fails)
            for column in self.mapping.column_fields().values():
                if "." in column and column.split(".", 1)[0] in columns:
                    columns.setdefault(column, None)
        convert = self.converter(path, list(columns)).convert if objects else None  # else: every line is a Rejected
        for chunk in (sample, () if broken else parsed):
            for item in chunk:
                if item is None:
                    continue
                line, record = item
                if isinstance(record, Rejected) or convert is None:
                    yield record  # type: ignore[misc]
                else:
                    yield convert(record, line)
        if broken is not None:
            raise broken

    @staticmethod
    def _parse(path: Path, number: int, text: str | None,
               raw: bytes) -> tuple[int, dict[str, Any] | Rejected] | None:
        if text is None:
            return number, bad_encoding(path, number, raw)
        if not text.strip():
            return None
        try:
            record = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            return number, Rejected(str(path), number, "bad_json", f"malformed JSON: {exc}", raw=text[:RAW_LIMIT])
        if not isinstance(record, dict):
            return number, Rejected(str(path), number, "bad_json",
                                    f"expected a JSON object per line, got {type(record).__name__}",
                                    raw=text[:RAW_LIMIT])
        return number, record


@register("parquet")
class ParquetImporter(TableImporter):
    """Parquet read batch by batch; ``line`` is the 1-based row number; struct columns are dotted."""

    name = "parquet"
    batch_size = 4096

    def _records(self, path: Path) -> Iterator[Post | Rejected]:
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            table = pq.ParquetFile(path)
        except (OSError, pa.ArrowException) as exc:
            raise SourceError(f"cannot read {path} as Parquet: {exc}") from exc
        if table.metadata.num_rows == 0:
            yield self._empty(path, "the Parquet file has no rows: nothing to import")
            return
        columns = [name for field in table.schema_arrow for name in _field_paths(field, pa)]
        convert = self.converter(path, columns).convert
        number = 0
        try:
            for batch in table.iter_batches(batch_size=self.batch_size):
                for record in _batch_rows(batch):
                    number += 1
                    if isinstance(record, Exception):
                        yield Rejected(str(path), number, "bad_row",
                                       f"row {number} holds a value Python cannot represent ({record}); "
                                       "the row was not imported")
                    else:
                        yield convert(record, number)
        except (OSError, pa.ArrowException) as exc:
            raise SourceError(f"cannot read {path} after row {number}: {exc}") from exc


def _batch_rows(batch: Any) -> Iterator[dict[str, Any] | Exception]:
    """The rows of a record batch as dicts; a row that cannot be converted (a timestamp past year
    9999, say) is returned as its exception, so only that row is lost."""
    try:
        rows = batch.to_pylist()
    except (ValueError, OverflowError, ArithmeticError):
        rows = None
    if rows is not None:
        yield from rows
        return
    for index in range(batch.num_rows):
        try:
            [row] = batch.slice(index, 1).to_pylist()
        except (ValueError, OverflowError, ArithmeticError) as exc:
            yield exc
        else:
            yield row


def _field_paths(field: Any, pa: Any, prefix: str = "") -> Iterator[str]:
    name = f"{prefix}{field.name}"
    yield name
    if pa.types.is_struct(field.type):
        for child in field.type:
            yield from _field_paths(child, pa, f"{name}.")


TABLE_FORMATS: tuple[str, ...] = tuple(importer.name for importer in (CsvImporter, TsvImporter, JsonlImporter,
                                                                       ParquetImporter))
"""The generic table formats (each also reads a labels file: ``postlens label import``)."""
