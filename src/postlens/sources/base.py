"""What every importer shares: the contract, the registry, and streaming readers.

An importer is a callable class (dlt-style connector): ``iter_records(path)`` is a generator of
``Post`` or ``Rejected``; it never raises for one bad record, only for a path it cannot read at
all (``SourceError``). Storing, media copying and de-duplication happen downstream in
``store/ingest.py``, so an importer stays a pure parser.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Protocol

from postlens.errors import SourceError, unknown_name
from postlens.types import Post, Rejected


class Importer(Protocol):
    """Turns files into posts. ``name`` is what ``--format``/``--recipe`` takes."""

    name: str

    def iter_records(self, path: Path) -> Iterator[Post | Rejected]: ...


_REGISTRY: dict[str, Callable[..., Importer]] = {}


def register(name: str) -> Callable[[Callable[..., Importer]], Callable[..., Importer]]:
    """Class decorator: make an importer reachable by name from the CLI."""

    def add(factory: Callable[..., Importer]) -> Callable[..., Importer]:
        _REGISTRY[name] = factory
        return factory

    return add


def get_importer(name: str, **options: object) -> Importer:
    from postlens import sources  # noqa: F401  (importing the package registers every importer)

    if name not in _REGISTRY:
        raise unknown_name("format/recipe", name, tuple(_REGISTRY))
    return _REGISTRY[name](**options)


def known_importers() -> list[str]:
    from postlens import sources  # noqa: F401

    return sorted(_REGISTRY)


# ---------------------------------------------------------------- streaming readers


def open_text_lines(path: Path) -> Iterator[tuple[int, str | None, bytes]]:
    """Yield ``(line_number, text_or_None, raw_bytes)`` for each line, streaming.

    ``text`` is None when the line is not valid UTF-8, so the caller can quarantine that one
    line and go on. ``.zst`` files are decompressed on the fly.
    """
    try:
        handle: io.BufferedIOBase
        if path.suffix == ".gz":
            import gzip

            handle = gzip.open(path, "rb")  # type: ignore[assignment]
        elif path.suffix == ".zst":
            import zstandard

            raw = path.open("rb")
            handle = io.BufferedReader(
                zstandard.ZstdDecompressor(max_window_size=2**31).stream_reader(raw)  # type: ignore[arg-type]
            )
        else:
            handle = path.open("rb")
    except OSError as exc:
        raise SourceError(f"cannot open {path}: {exc.strerror or exc}") from exc
    with handle:
        for number, raw_line in enumerate(handle, start=1):
            try:
                text = raw_line.decode("utf-8")
            except UnicodeDecodeError:
                yield number, None, raw_line
                continue
            yield number, text.rstrip("\r\n"), raw_line


def empty_file_rejection(path: Path) -> Rejected | None:
    """A Rejected for a 0-byte (or whitespace-only, when small) file, else None."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if size == 0 or (size < 4096 and not path.read_bytes().strip()):
        return Rejected(str(path), None, "empty_file", "the file is empty: nothing to import")
    return None


def bad_encoding(path: Path, line: int, raw: bytes) -> Rejected:
    return Rejected(
        str(path), line, "bad_encoding",
        "line is not valid UTF-8; re-encode the file as UTF-8",
        raw=raw[:500].decode("utf-8", errors="replace"),
    )


# ---------------------------------------------------------------- dates

_SPACED_COLONS = re.compile(r"(\d{1,2}):\s+(\d{2}):\s+(\d{2})")
_TWITTER_FORMAT = "%a %b %d %H:%M:%S %z %Y"


def parse_datetime(value: object, fmt: str | None = None) -> datetime:
    """Parse the date formats social data comes in into an aware UTC datetime.

    Accepts ISO 8601, Twitter's ``Wed Apr 17 18:57:37 +0000 2013`` (also with stray spaces
    after the colons, as 23 MediaEval rows have), RFC 2822, and Unix seconds or milliseconds.
    Raises ``ValueError`` with the offending value otherwise.
    """
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = value / 1000 if value > 1e11 else value
        moment = datetime.fromtimestamp(seconds, tz=timezone.utc)
    elif isinstance(value, str) and value.strip():
        moment = _parse_text(value.strip(), fmt)
    else:
        raise ValueError(f"no date given ({value!r})")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def _parse_text(text: str, fmt: str | None) -> datetime:
    if fmt:
        try:
            return datetime.strptime(text, fmt)
        except ValueError as exc:
            raise ValueError(f"date {text!r} does not match format {fmt!r}") from exc
    if text.replace(".", "", 1).isdigit():
        if len(text.split(".")[0]) < 9:  # "2013" or "13.09" are not Unix times (1973+ has 9+ digits)
            raise ValueError(f"unparseable date {text!r}: a bare number too short to be a Unix time")
        return parse_datetime(float(text))
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        pass
    repaired = _SPACED_COLONS.sub(r"\1:\2:\3", text)
    try:
        return datetime.strptime(repaired, _TWITTER_FORMAT)
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(repaired)
    except (TypeError, ValueError, IndexError):
        raise ValueError(f"unparseable date {text!r}") from None


def to_int(value: object) -> int | None:
    """Counts arrive as ints, floats, numeric strings or 'null'; anything else is None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        number = float(str(value).strip().replace(",", ""))
    except ValueError:
        return None
    return int(number) if number == number else None  # NaN -> None
