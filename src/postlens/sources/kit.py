"""Small pieces the platform importers and recipes share: file walking, JSON documents, finishing a post.

Reading JSON is the delicate part: a file may be one JSON list (PHEME, API dumps), JSON lines
(Pushshift, streaming collectors), or one pretty-printed object. Small list files are parsed whole
with orjson (fast); a list file above ``WHOLE_FILE_LIMIT`` is streamed element by element so memory
stays flat on a 1 GB dump.

Why the streaming splitter is hand-written rather than ``ijson`` (measured: ijson's C backend splits a
100 MB list 4-9x faster): after a syntax error ijson cannot resume, so one broken element would lose
every element after it (here it is one ``bad_json`` and reading goes on); it builds a list nested
10,000 deep as a value (here: one ``bad_json``, as orjson refuses past 1,024); and it accepts what orjson
refuses (integers past 64 bits), so a 300 MB file would be read differently from the same records in a
100 MB one. Each element found here is parsed by orjson, exactly as the whole-file path parses it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import orjson

from postlens.errors import SourceError
from postlens.sources.base import bad_compression, bad_encoding, empty_file_rejection, open_text_lines
from postlens.types import INVALID_POST_REASONS, RAW_LIMIT, Post, Rejected, validate_post
from postlens.values import json_text, repair_post

WHOLE_FILE_LIMIT = 200 * 1024 * 1024
"""A JSON list file smaller than this is parsed in one go; larger ones are streamed."""

STREAM_CHUNK = 1024 * 1024
MAX_ELEMENT_BYTES = 64 * 1024 * 1024
"""One streamed list element larger than this is treated as broken JSON (it would never end)."""

JSON_SUFFIXES = (".json", ".jsonl", ".ndjson", ".zst", ".js")


@dataclass(slots=True)
class Document:
    """One JSON value read from a file, with where it came from (for Rejected records)."""

    value: Any
    line: int | None
    where: str  # "line 12" or "element 3": for messages


def iter_files(path: Path, suffixes: Iterable[str] | None = None) -> Iterator[Path]:
    """The file itself, or every (non-hidden) file under a folder, sorted, optionally by suffix.

    Raises SourceError when the path does not exist, so a typo fails loudly and early.
    """
    if path.is_file():
        yield path
        return
    if not path.is_dir():
        raise SourceError(f"{path} does not exist or is not a file/folder; check the path")
    wanted = tuple(s.lower() for s in suffixes) if suffixes else None
    for child in sorted(p for p in path.rglob("*") if p.is_file()):
        relative = child.relative_to(path)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if wanted is None or child.name.lower().endswith(wanted):
            yield child


def file_time_utc(path: Path) -> datetime:
    """The file's modification time: the observation time of counts that carry no collection time.

    Using the file (not "now") keeps re-imports of the same file idempotent.
    """
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc)
    except OSError as exc:
        raise SourceError(f"cannot stat {path}: {exc.strerror or exc}") from exc


def snippet(value: Any, limit: int = RAW_LIMIT) -> str:
    """A short printable form of a raw record for the quarantine (any value: deep, huge, odd types)."""
    if isinstance(value, bytes):
        text = value[: limit * 4].decode("utf-8", errors="replace")
    elif isinstance(value, str):
        text = value[:limit]
    else:
        text = json_text(value)
    return text[:limit]


def finish(post: Post, file: Path, line: int | None, where: str = "") -> Post | Rejected:
    """Repair and validate a built post; a post that cannot be stored becomes a Rejected with its code.

    Bad field values are dropped into ``post.notes`` (``values.repair_post``). A good post is stamped
    with where it was read, so later problems (missing media, duplicate id) point at its file and line.
    """
    repair_post(post)
    code = validate_post(post)
    if code is None:
        post.origin_file, post.origin_line = str(file), line
        stamp_notes(post, str(file), line, where)
        return post
    reason = INVALID_POST_REASONS.get(code, code) + (f" ({where})" if where else "")
    return Rejected(str(file), line, code, reason, post_id=post.id if post.native_id and code != "bad_id" else None,
                    raw=snippet(post.raw))


def stamp_notes(post: Post, file: str, line: int | None, where: str = "") -> None:
    """Give the post's field notes its file, line and id (they are built before the post exists)."""
    place = f" ({where})" if where and where != f"line {line}" else ""
    for note in post.notes:
        if not note.file:
            note.file, note.line, note.post_id = file, line, post.id
            note.reason += place


def id_text(value: Any) -> str | None:
    """An id as text: a string or a whole number; None for anything else (a list, an object, a
    boolean, a float that may have lost digits)."""
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def record_error(exc: BaseException, file: Path, line: int | None, where: str, record: Any) -> Rejected:
    """The last net under one record: an unexpected failure quarantines the record, the file goes on."""
    return Rejected(str(file), line, "record_error",
                    f"{where}: the record could not be read ({type(exc).__name__}: {str(exc)[:300]}); "
                    "please report this postlens bug with the record", raw=snippet(record))


def iter_json_records(path: Path) -> Iterator[tuple[Any, Path, int | None, str, datetime] | Rejected]:
    """Every JSON record under ``path`` as (record, file, line, where, observed_at), or a Rejected.

    A document that is a list (a JSON list file, or a line holding a page of records) is
    unpacked, and ``where`` says which element (``"line 3[2]"``), so errors point at it.
    """
    for file in iter_files(path, JSON_SUFFIXES):
        observed = file_time_utc(file)
        for item in iter_json_documents(file):
            if isinstance(item, Rejected):
                yield item
            elif isinstance(item.value, list):
                for index, record in enumerate(item.value, start=1):
                    yield record, file, item.line, f"{item.where}[{index}]", observed
            else:
                yield item.value, file, item.line, item.where, observed


def iter_json_documents(path: Path) -> Iterator[Document | Rejected]:
    """Every JSON value in one file: list elements, JSON lines, or the single object.

    ``.zst``, ``.jsonl`` and ``.ndjson`` are always JSON lines. Otherwise the first byte decides:
    ``[`` is a list; ``{`` is JSON lines when the first line is a complete object and something
    follows, else one object. A Twitter archive ``tweets.js`` (``window.YTD... = [``) is a list.
    """
    empty = empty_file_rejection(path)
    if empty is not None:
        yield empty
        return
    name = path.name.lower()
    if name.endswith((".zst", ".jsonl", ".ndjson")):
        yield from _json_lines(path)
        return
    first = _first_meaningful_byte(path)
    if first == b"[" or (first == b"w" and name.endswith(".js")):
        yield from _json_list(path)
    elif first == b"{" and not _first_line_is_whole_object(path):
        yield from _single_document(path)
    else:
        yield from _json_lines(path)


def _first_meaningful_byte(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
    except OSError as exc:
        raise SourceError(f"cannot open {path}: {exc.strerror or exc}") from exc
    head = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    return head[:1]


def _first_line_is_whole_object(path: Path) -> bool:
    for _number, text, _raw in open_text_lines(path):
        if text is None or not text.strip():
            continue
        try:
            return isinstance(orjson.loads(text), dict)
        except orjson.JSONDecodeError:
            return False
    return False


def _json_lines(path: Path) -> Iterator[Document | Rejected]:
    """JSON lines; a corrupt or truncated ``.zst``/``.gz`` stream ends the file with one ``bad_compression``."""
    try:
        yield from _json_lines_unguarded(path)
    except SourceError:
        raise
    except Exception as exc:  # zstandard.ZstdError, EOFError, BadGzipFile: the compressed stream is broken
        if path.suffix not in (".zst", ".gz"):
            raise
        yield bad_compression(path, exc)


def _json_lines_unguarded(path: Path) -> Iterator[Document | Rejected]:
    for number, text, raw in open_text_lines(path):
        if text is None:
            yield bad_encoding(path, number, raw)
            continue
        if not text.strip():
            continue
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            yield Rejected(str(path), number, "bad_json", f"line {number} is not valid JSON: {exc}",
                           raw=snippet(text))
            continue
        yield Document(value, number, f"line {number}")


def _single_document(path: Path) -> Iterator[Document | Rejected]:
    data = _read_bytes(path)
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        yield Rejected(str(path), None, "bad_json", f"the file is not valid JSON: {exc}", raw=snippet(data))
        return
    yield Document(value, None, "whole file")


def _json_list(path: Path) -> Iterator[Document | Rejected]:
    size = path.stat().st_size
    if size < WHOLE_FILE_LIMIT:
        data = _read_bytes(path)
        data = _strip_archive_prefix(data)
        try:
            values = orjson.loads(data)
        except orjson.JSONDecodeError:
            values = None  # fall through: streaming finds which element is broken, keeps the rest
        if isinstance(values, list):
            for index, value in enumerate(values, start=1):
                yield Document(value, None, f"element {index}")
            return
        if values is not None:
            yield Document(values, None, "whole file")
            return
    yield from _stream_json_list(path)


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror or exc}") from exc


def _strip_archive_prefix(data: bytes) -> bytes:
    """A Twitter archive file starts with ``window.YTD.tweets.part0 = ``: drop it."""
    if data.lstrip()[:1] == b"w":
        start = data.find(b"[")
        return data[start:] if start >= 0 else data
    return data


def _stream_json_list(path: Path) -> Iterator[Document | Rejected]:
    """Yield the elements of a top-level JSON list without loading the file.

    Element boundaries are found by a bracket-and-string scanner (no recursion, so a list nested
    10,000 deep is one bad element, not a crash) and each element is parsed by itself: a broken
    element is one ``bad_json`` and the next element is read. Decodes with ``errors="replace"``
    (a stray byte spoils one string, not the file). An element that never ends (past
    ``MAX_ELEMENT_BYTES`` or the end of the file) ends the file with one ``bad_json``.
    """
    try:
        handle = path.open("r", encoding="utf-8", errors="replace")
    except OSError as exc:
        raise SourceError(f"cannot open {path}: {exc.strerror or exc}") from exc
    with handle:
        buffer = _strip_archive_prefix_text(handle.read(STREAM_CHUNK)).lstrip("\ufeff \t\r\n")
        if not buffer.startswith("["):
            yield Rejected(str(path), None, "bad_json", "expected a JSON list starting with '['",
                           raw=buffer[:500])
            return
        position, index, eof = 1, 0, False
        while True:
            position = _skip_separators(buffer, position)
            if position >= len(buffer):
                if eof:
                    return
                buffer, position, eof = _read_more(handle, buffer, position)
                continue
            if buffer[position] == "]":
                return
            end = _value_end(buffer, position, eof)
            if end is None:  # the element goes on in the next chunk
                if eof or len(buffer) - position > MAX_ELEMENT_BYTES:
                    yield Rejected(str(path), None, "bad_json",
                                   f"element {index + 1} never ends (an unclosed string or bracket); the rest "
                                   "of the file cannot be split reliably and was skipped",
                                   raw=buffer[position:position + 500])
                    return
                buffer, position, eof = _read_more(handle, buffer, position)
                continue
            index += 1
            text = buffer[position:end]
            position = end
            try:
                value = orjson.loads(text)
            except orjson.JSONDecodeError as exc:
                yield Rejected(str(path), None, "bad_json", f"element {index} is not valid JSON ({exc})",
                               raw=text[:500])
                continue
            yield Document(value, None, f"element {index}")


def _read_more(handle: Any, buffer: str, position: int) -> tuple[str, int, bool]:
    """Drop what was read, append the next chunk (at least as long as what is kept: linear time)."""
    kept = buffer[position:]
    chunk = handle.read(max(STREAM_CHUNK, len(kept)))
    return kept + chunk, 0, not chunk


_STRUCTURAL = re.compile(r'["\[\]{}]')
_STRING_STOP = re.compile(r'["\\]')
_SCALAR_END = re.compile(r'[\s,\[\]{}"]')


def _value_end(buffer: str, start: int, eof: bool) -> int | None:
    """Index just past the JSON value starting at ``start``; None when the buffer ends inside it."""
    if buffer[start] not in '[{"':
        match = _SCALAR_END.search(buffer, start + 1)
        return match.start() if match else (len(buffer) if eof else None)
    depth, position, length = 0, start, len(buffer)
    while True:
        match = _STRUCTURAL.search(buffer, position)
        if match is None:
            return None
        char, position = match.group(), match.end()
        if char == '"':
            while True:
                stop = _STRING_STOP.search(buffer, position)
                if stop is None:
                    return None
                position = stop.end()
                if stop.group() == '"':
                    break
                position += 1  # the escaped character
                if position > length:
                    return None
            if depth == 0:
                return position
        elif char in "[{":
            depth += 1
        else:
            depth -= 1
            if depth <= 0:
                return position


def _strip_archive_prefix_text(text: str) -> str:
    if text.lstrip()[:1] == "w":
        start = text.find("[")
        return text[start:] if start >= 0 else text
    return text


def _skip_separators(buffer: str, position: int) -> int:
    length = len(buffer)
    while position < length and buffer[position] in " \t\r\n,":
        position += 1
    return position
