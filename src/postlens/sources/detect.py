"""Guess the importer for a path when the user names none, from the extension and the first record."""

from __future__ import annotations

from pathlib import Path

import orjson

from postlens.errors import SourceError

_BY_SUFFIX = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
}


def detect_format(path: Path) -> str:
    """Name of the importer for ``path``; raises SourceError with the options when unsure."""
    if path.is_dir():
        if (path / "posts.jsonl").exists():
            return "postlens"
        if (path / "posts.txt").exists() and (path / "images").is_dir():
            return "mediaeval2016"
        if any(path.glob("*-all-rnr-threads.*.json")):
            return "pheme"
        if (path / "GBvideos.csv").exists():
            return "youtube-trending"
        raise SourceError(
            f"cannot tell the format of folder {path}; pass --format or --recipe (see 'postlens ingest --help')"
        )
    name = path.name.lower()
    for suffix in (".zst", ".gz"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    suffix = Path(name).suffix
    if suffix in _BY_SUFFIX:
        return _BY_SUFFIX[suffix]
    if suffix in (".jsonl", ".ndjson", ".json"):
        return _detect_json(path)
    raise SourceError(f"cannot tell the format of {path} from its name; pass --format")


def _detect_json(path: Path) -> str:
    first = _first_object(path)
    if first is None:
        if _starts_with(path, b"["):
            raise SourceError(
                f"{path} is a JSON list of records postlens does not recognise; pass --format "
                "(twitter-v1, mastodon...) or convert it to JSON lines for --format jsonl"
            )
        return "jsonl"
    if "native_id" in first and "source" in first and "platform" in first:
        return "postlens"
    if "data" in first and ("includes" in first or isinstance(first.get("data"), list)):
        return "twitter-v2"
    if "id_str" in first or "retweet_count" in first or "favorite_count" in first:
        return "twitter-v1"
    if "subreddit" in first:
        return "reddit"
    if "account" in first and ("favourites_count" in first or "reblogs_count" in first):
        return "mastodon"
    if _starts_with(path, b"["):
        raise SourceError(
            f"{path} is a JSON list of records postlens does not recognise; pass --format "
            "or convert it to JSON lines for --format jsonl"
        )
    return "jsonl"


def _starts_with(path: Path, prefix: bytes) -> bool:
    if path.name.endswith((".zst", ".gz")):
        return False
    return _head(path, 4096).lstrip().startswith(prefix)


def _head(path: Path, size: int) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read(size)
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror or exc}") from exc


def _first_object(path: Path) -> dict | None:
    """The first JSON object of a JSON-lines or JSON-list file, reading only its start."""
    if path.name.endswith(".zst"):
        return _first_compressed_object(path)
    head = _head(path, 1 << 16)
    stripped = head.lstrip()
    line = stripped.split(b"\n", 1)[0]
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        if stripped.startswith(b"["):
            try:
                value = orjson.loads(stripped)
            except orjson.JSONDecodeError:
                return None
        else:
            return None
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, dict) else None


def _first_compressed_object(path: Path) -> dict | None:
    """The first line of a ``.zst`` file as an object; a broken stream is a one-line SourceError."""
    import zstandard

    from postlens.sources.base import open_text_lines

    try:
        for _, text, _ in open_text_lines(path):
            if text and text.strip():
                try:
                    value = orjson.loads(text)
                except orjson.JSONDecodeError:
                    return None
                return value if isinstance(value, dict) else None
    except zstandard.ZstdError as exc:
        raise SourceError(
            f"{path} is not a readable zstd file ({exc}); check the download, or pass --format to import "
            "what can be read before the break"
        ) from None
    return None
