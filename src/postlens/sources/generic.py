"""Import any table of posts: CSV, TSV, JSON Lines and Parquet, driven by a ``ColumnMapping``.

Every reader streams (one record at a time, memory flat on a 1 GB file) and turns a bad record
into a ``Rejected`` with a stable code (``bad_encoding``, ``bad_columns``, ``bad_csv``,
``bad_json``, ``bad_date``, ``bad_row``, ``missing_id``, ``bad_id``, ``empty_post``, ``empty_file``,
``bad_compression``) so the batch goes on; a bad value in one field is dropped and noted on the post
(``Post.notes``, see ``postlens.values``).
A mapping that names a column the file lacks is a whole-file ``MappingError``, raised before
any row is read. Rows become posts in ``RowConverter``, shared with recipes built on these readers.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Callable, Iterator
from datetime import date, datetime, time, timezone
from pathlib import Path
from typing import Any

import orjson

from postlens.errors import SourceError
from postlens.sources.base import (
    CorruptStream, bad_compression, bad_encoding, empty_file_rejection, open_text_lines, open_zstd,
    parse_datetime_noting, register,
)
from postlens.sources.mapping import COLUMN_FIELDS, ColumnMapping, make_getter, nested_paths
from postlens.sources.kit import record_error, stamp_notes
from postlens.sources.media_refs import MediaResolver
from postlens.sources.media_refs import item_name as _item_name
from postlens.types import INVALID_POST_REASONS, Author, Engagement, Post, Rejected, extract_entities, validate_post
from postlens.values import FieldNotes, json_text, repair_post, show

# Values that mean "no value" in non-text columns (CSV exports write them for missing cells).
_NULLS = frozenset({"", "null", "none", "nan", "nat", "n/a", "na", "-"})
_SURROGATE = re.compile("[\udc80-\udcff]")
_LIST_SPLIT = re.compile(r"[\s,]+")
RAW_LIMIT = 2000  # characters of a rejected record kept for the quarantine
JSON_SAMPLE_LINES = 1000  # JSONL lines read ahead to learn the columns before checking the mapping


def is_null(value: Any) -> bool:
    if value is None:
        return True
    return value.__class__ is str and (not value or value.strip().lower() in _NULLS)


def _absent(record: dict[str, Any]) -> None:
    return None


def scalar_text(value: Any) -> str | None:
    """A cell as a stripped string; None for nulls, NaN, nested objects (a dict is no handle) and
    bytes that are not UTF-8."""
    if is_null(value) or isinstance(value, (dict, list, tuple)) or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            return None
    return str(value).strip()


def to_datetime(value: Any, fmt: str | None) -> tuple[datetime, bool]:
    """``parse_datetime_noting`` plus the plain dates Parquet/pyarrow hand back (midnight, taken as UTC)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime.combine(value, time(), tzinfo=timezone.utc), True
    return parse_datetime_noting(value, fmt)


def raw_text(record: Any) -> str:
    """A record as JSON text for the quarantine, cut to ``RAW_LIMIT`` characters (any value)."""
    return json_text(record)[:RAW_LIMIT]


def _record_bytes(record: dict[str, Any]) -> bytes:
    """A record's canonical bytes for its content-hash id (the same bytes as earlier versions wrote)."""
    try:
        return orjson.dumps(record, default=str, option=orjson.OPT_SORT_KEYS)
    except (TypeError, orjson.JSONEncodeError):  # lone surrogates, nesting orjson refuses
        return json_text(record).encode("utf-8")


def default_source(path: Path) -> str:
    """The id namespace when none is given: ``posts.csv.zst`` -> ``posts``."""
    name = path.name.removesuffix(".zst").removesuffix(".gz")
    return Path(name).stem or name


def file_mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc)


# ---------------------------------------------------------------- media: see media_refs.py


def _entity_list(value: Any) -> list[str]:
    if is_null(value):
        return []
    if isinstance(value, (list, tuple)):
        items = [_item_name(v) if not isinstance(v, dict) else
                 next((str(v[k]) for k in ("text", "tag", "name", "screen_name", "username",
                                           "expanded_url", "url") if v.get(k)), None)
                 for v in value]
    else:
        items = _LIST_SPLIT.split(str(value))
    return [i.strip().lstrip("#@") for i in items if i and i.strip().lstrip("#@")]


# ---------------------------------------------------------------- rows -> posts


class RowConverter:
    """Builds a Post (or a Rejected) from one record dict, for a mapping resolved against one file."""

    def __init__(self, mapping: ColumnMapping, file: Path, *, source: str, media_root: Path,
                 media: MediaResolver, observed_default: datetime) -> None:
        self.mapping = mapping
        self.file = str(file)
        self.source = source
        self.media_root = media_root
        self.media = media
        self.observed_default = observed_default
        self.mapped = {f: c for f, c in mapping.column_fields().items() if not f.startswith("labels.")}
        # every field has a getter (unmapped ones return None): no branching per row
        self.get: dict[str, Callable[[dict[str, Any]], Any]] = {field: _absent for field in COLUMN_FIELDS}
        self.get.update({field: make_getter(column) for field, column in self.mapped.items()})
        self.label_getters = [(name, make_getter(col)) for name, col in mapping.labels.items()]
        self.counts = [(f, self.get[f]) for f in ("likes", "shares", "comments", "views") if f in self.mapped]

    def value(self, record: dict[str, Any], field: str) -> Any:
        return self.get[field](record)

    def convert(self, record: dict[str, Any], line: int | None) -> Post | Rejected:
        try:
            return self._convert(record, line)
        except Exception as exc:  # noqa: BLE001 - the last net: one record, never the file
            return record_error(exc, Path(self.file), line, f"line {line}", record)

    def _convert(self, record: dict[str, Any], line: int | None) -> Post | Rejected:
        get = self.get
        if "id" in self.mapped:
            given = get["id"](record)
            native_id = scalar_text(given)
            if not native_id:
                why = f"no value in id column {self.mapping.id!r}"
                if not is_null(given):
                    why = f"the id column {self.mapping.id!r} holds {show(given)}, not an id"
                return self._reject(line, "missing_id", why, record)
        else:  # no id column at all: a content hash keeps re-imports of the same rows idempotent
            native_id = "h" + hashlib.blake2b(_record_bytes(record), digest_size=8).hexdigest()
        post_id = f"{self.source}:{native_id}"
        try:
            created_at, naive = self._date(record, "created_at")
            observed_at = self._date(record, "observed_at")[0] if "observed_at" in self.mapped else None
        except ValueError as exc:
            return self._reject(line, "bad_date", str(exc), record, post_id)
        notes = FieldNotes()
        text = notes.text(self._named("text"), get["text"](record)) if "text" in self.mapped else ""
        hashtags, mentions, urls = extract_entities(text)
        if "hashtags" in self.mapped:
            hashtags = _entity_list(get["hashtags"](record))
        if "mentions" in self.mapped:
            mentions = _entity_list(get["mentions"](record))
        if "urls" in self.mapped:
            urls = _entity_list(get["urls"](record))
        engagement = []
        if self.counts:
            counts = {field: notes.count(self._named(field), self._scalar(getter(record)))
                      for field, getter in self.counts}
            if any(v is not None for v in counts.values()):
                engagement.append(Engagement(observed_at=observed_at or self.observed_default,
                                             observed_inferred=observed_at is None, **counts))
        labels = {}
        for name, getter in self.label_getters:
            label = self._short_text(notes, f"labels[{name}] (column {self.mapping.labels[name]!r})", getter(record))
            if label:
                labels[name] = label
        media_value = get["media"](record)
        post = Post(
            source=self.source, native_id=native_id, platform=self.mapping.platform,
            created_at=created_at, text=text,
            language=self._short_text(notes, self._named("language"), get["language"](record)),
            author=Author(
                id=self._short_text(notes, self._named("author_id"), get["author_id"](record)),
                handle=self._short_text(notes, self._named("author_handle"), get["author_handle"](record)),
                followers=notes.count(self._named("author_followers"), self._scalar(get["author_followers"](record))),
                verified=notes.flag(self._named("author_verified"), self._scalar(get["author_verified"](record))),
            ),
            hashtags=hashtags, mentions=mentions, urls=urls,
            media=self.media.parts(media_value, self.media_root) if media_value else [],
            engagement=engagement, labels=labels, raw=record,
            origin_file=self.file, origin_line=line, notes=notes.notes, created_at_naive=naive,
        )
        repair_post(post)
        code = validate_post(post)
        if code:
            reason = INVALID_POST_REASONS.get(code, code)
            return self._reject(line, code, reason, record, post_id if code != "bad_id" else None)
        stamp_notes(post, self.file, line)
        return post

    def _named(self, field: str) -> str:
        """A field as named in a note: with the column it was read from."""
        return f"{field} (column {self.mapped[field]!r})" if field in self.mapped else field

    @staticmethod
    def _scalar(value: Any) -> Any:
        """A cell for the count and flag parsers: CSV null spellings are no value."""
        return None if is_null(value) else value

    @staticmethod
    def _short_text(notes: FieldNotes, field: str, value: Any) -> str | None:
        """A handle, id, language or label cell; a nested value is noted, not turned into text."""
        if is_null(value):
            return None
        return notes.optional_text(field, value)

    def _date(self, record: dict[str, Any], field: str) -> tuple[datetime | None, bool]:
        value = self.value(record, field)
        if is_null(value):
            return None, False
        try:
            return to_datetime(value, self.mapping.created_at_format if field == "created_at" else None)
        except ValueError as exc:
            column = getattr(self.mapping, field)
            hint = " (set created_at_format, e.g. %d.%m.%Y %H:%M)" if field == "created_at" else ""
            raise ValueError(f"cannot parse {field} in column {column!r}: {exc}{hint}") from None

    def _reject(self, line: int | None, code: str, reason: str, record: Any,
                post_id: str | None = None) -> Rejected:
        return Rejected(self.file, line, code, reason, post_id=post_id, raw=raw_text(record))


# ---------------------------------------------------------------- importers


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
            media=self.media, observed_default=file_mtime(path),
        )

    def _empty(self, path: Path, why: str) -> Rejected:
        return Rejected(str(path), None, "empty_file", why)


def open_binary(path: Path) -> io.BufferedIOBase:
    """The file's bytes, decompressing ``.zst`` and ``.gz`` on the fly."""
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise SourceError(f"cannot open {path}: {exc.strerror or exc}") from exc
    if path.suffix == ".gz":
        import gzip

        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    if path.suffix != ".zst":
        return raw
    raw.close()
    return open_zstd(path)


def text_lines(path: Path) -> Iterator[tuple[int, str | None, bytes]]:
    """Like ``base.open_text_lines`` (``text`` None for a non-UTF-8 line) but also reads ``.gz``.

    A read error part-way (truncated or corrupt archive) raises ``CorruptStream`` after the lines
    before it were yielded; readers turn it into one ``bad_compression`` row.
    """
    if path.suffix == ".zst":
        import zstandard

        number = 0
        try:
            for number, text, raw in open_text_lines(path):
                yield number, text, raw
        except zstandard.ZstdError as exc:
            raise CorruptStream(f"cannot read {path} after line {number}: the zstd stream is corrupt or "
                                f"truncated ({exc})") from exc
        return
    if path.suffix != ".gz":
        yield from open_text_lines(path)
        return
    number = 0
    with open_binary(path) as handle:
        try:
            for number, raw_line in enumerate(handle, start=1):
                try:
                    text = raw_line.decode("utf-8")
                except UnicodeDecodeError:
                    yield number, None, raw_line
                    continue
                yield number, text.rstrip("\r\n"), raw_line
        except (OSError, EOFError) as exc:
            raise CorruptStream(f"cannot read {path} after line {number}: {exc}") from exc


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
