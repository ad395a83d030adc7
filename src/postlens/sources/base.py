"""What every importer shares: the contract, the registry, and streaming readers.

An importer is a callable class (dlt-style connector): ``iter_records(path)`` is a generator of
``Post`` or ``Rejected``; it never raises for one bad record, only for a path it cannot read at
all (``SourceError``). Storing, media copying and de-duplication happen downstream in
``store/ingest.py``, so an importer stays a pure parser.
"""

from __future__ import annotations

import inspect
import io
import re
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from postlens.errors import SourceError, unknown_name
from postlens.types import Importer, Rejected
from postlens.values import BadValue, parse_count


_REGISTRY: dict[str, Callable[..., Importer]] = {}


def register(name: str) -> Callable[[Callable[..., Importer]], Callable[..., Importer]]:
    """Class decorator: make an importer reachable by name from the CLI.

    A class whose body names itself (``name = "csv"``) must name itself the same: checked here, at import.
    """

    def add(factory: Callable[..., Importer]) -> Callable[..., Importer]:
        own = vars(factory).get("name") if isinstance(factory, type) else None
        if own is not None and own != name:
            raise TypeError(f"{factory.__name__} is registered as {name!r} but its name is {own!r}")
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


def known_recipes() -> list[str]:
    """The importers that read one public dataset's folder (``sources/recipes/``), not a format."""
    from postlens import sources  # noqa: F401

    return sorted(name for name, factory in _REGISTRY.items()
                  if getattr(factory, "__module__", "").startswith("postlens.sources.recipes."))


def importer_options(name: str) -> frozenset[str]:
    """The keyword options importer ``name`` takes, read from its constructor (``mapping``, ``media_root``...)."""
    from postlens import sources  # noqa: F401

    if name not in _REGISTRY:
        raise unknown_name("format/recipe", name, tuple(_REGISTRY))
    return frozenset(inspect.signature(_REGISTRY[name]).parameters)


def importers_taking(option: str) -> list[str]:
    """Names of the importers whose constructor takes ``option``, sorted (``media_root`` -> csv, jsonl...)."""
    return [name for name in known_importers() if option in importer_options(name)]


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
            handle = open_zstd(path)
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


def open_zstd(path: Path) -> io.BufferedReader:
    """A ``.zst`` file's decompressed bytes, every frame. A file that ends inside a frame (truncated)
    raises ``zstandard.ZstdError`` at its end instead of ending quietly, so no loss goes unsaid."""
    return io.BufferedReader(_ZstdFrames(path.open("rb")), buffer_size=1 << 20)


class _ZstdFrames(io.RawIOBase):
    """Raw reader over all zstd frames of a file, strict about the last one being complete."""

    READ = 1 << 14  # compressed bytes per step: keeps one step's output small even for extreme ratios

    def __init__(self, raw: io.BufferedIOBase) -> None:
        import zstandard

        self._raw = raw
        self._zstd = zstandard
        self._context = zstandard.ZstdDecompressor(max_window_size=2**31)
        self._frame = self._context.decompressobj()
        self._in_frame = False
        self._out = b""
        self._at = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while self._at >= len(self._out):
            chunk = self._raw.read(self.READ)
            if not chunk:
                if self._in_frame:
                    raise self._zstd.ZstdError("the file ends inside a zstd frame (truncated)")
                return 0
            self._out, self._at = self._decompress(chunk), 0
        size = min(len(buffer), len(self._out) - self._at)
        buffer[:size] = self._out[self._at:self._at + size]
        self._at += size
        return size

    def _decompress(self, chunk: bytes) -> bytes:
        pieces = []
        while chunk:
            pieces.append(self._frame.decompress(chunk))
            self._in_frame = True
            if not self._frame.eof:
                break
            chunk = self._frame.unused_data  # the next frame starts here
            self._frame = self._context.decompressobj()
            self._in_frame = False
        return b"".join(pieces)

    def close(self) -> None:
        self._raw.close()
        super().close()


def empty_file_rejection(path: Path) -> Rejected | None:
    """A Rejected for a 0-byte (or whitespace-only, when small) file, else None."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if size == 0 or (size < 4096 and not path.read_bytes().strip()):
        return Rejected(str(path), None, "empty_file", "the file is empty: nothing to import")
    return None


class CorruptStream(SourceError):
    """A compressed file (``.zst``, ``.gz``) breaks part-way; the lines before the break were read."""


def bad_compression(path: Path, exc: BaseException) -> Rejected:
    """The file-level quarantine row for a compressed stream that breaks: what was read before stays."""
    cause = exc.__cause__ or exc
    return Rejected(str(path), None, "bad_compression",
                    f"the compressed stream is corrupt or truncated ({type(cause).__name__}: {cause}); "
                    "lines after the break were not read")


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
    A date without a time zone is taken as UTC (``parse_datetime_noting`` says when).
    Raises ``ValueError`` with the offending value otherwise, and only ValueError (a year out of
    range or an infinite timestamp is one too).
    """
    return parse_datetime_noting(value, fmt)[0]


def parse_datetime_noting(value: object, fmt: str | None = None) -> tuple[datetime, bool]:
    """``parse_datetime``, and whether the value had no time zone and was taken as UTC."""
    try:
        if isinstance(value, datetime):
            moment = value
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            seconds = value / 1000 if value > 1e11 else value
            return datetime.fromtimestamp(seconds, tz=timezone.utc), False  # Unix time is UTC
        elif isinstance(value, str) and value.strip():
            moment = _parse_text(value.strip(), fmt)
        else:
            raise ValueError(f"no date given ({_short(value)})")
        if moment.tzinfo is None:
            return moment.replace(tzinfo=timezone.utc), True
        return moment.astimezone(timezone.utc), False
    except (OverflowError, OSError) as exc:
        raise ValueError(f"date {_short(value)} is out of range ({exc})") from None


def _short(value: object) -> str:
    text = repr(value) if not isinstance(value, (dict, list)) else f"a {type(value).__name__}"
    return text if len(text) <= 80 else text[:80] + "..."


def _parse_text(text: str, fmt: str | None) -> datetime:
    if fmt:
        try:
            return datetime.strptime(text, fmt)
        except ValueError as exc:
            raise ValueError(f"date {_short(text)} does not match format {fmt!r}") from exc
    if text.replace(".", "", 1).isdigit():
        if len(text.split(".")[0]) < 9:  # "2013" or "13.09" are not Unix times (1973+ has 9+ digits)
            raise ValueError(f"unparseable date {_short(text)}: a bare number too short to be a Unix time")
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
        raise ValueError(f"unparseable date {_short(text)}") from None


def to_int(value: object) -> int | None:
    """Lenient: ``values.parse_count``, with None for any value it refuses.

    Only for optional metadata where dropping a bad value needs no note. Counts and follower
    numbers go through ``FieldNotes.count``, which records why a value was dropped.
    """
    try:
        return parse_count(value)
    except BadValue:
        return None


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
