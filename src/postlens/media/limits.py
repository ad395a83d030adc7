"""How large a media file may be, per kind: one table read by the import gate and the decoders.

The store refuses a larger file from its ``stat`` before copying a byte, and the decoders refuse
it again at featurize time, so a file the import let through is one featurize will read. A user
may lower (or raise) a limit for one import (``postlens ingest --max-media-size video=500MB``);
the decoders keep these defaults.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from postlens.errors import ConfigError
from postlens.types import MEDIA_KINDS, Modality

MiB = 1024 * 1024
MAX_IMAGE_BYTES = 200 * MiB  # a larger "image" is a mistake or an attack (the decoder reads it whole)
MAX_AUDIO_BYTES = 1024 * MiB  # ~18 h of 128 kbit/s audio; decoding stops at max_seconds anyway
MAX_VIDEO_BYTES = 4096 * MiB  # a long 1080p upload; frames are sampled by seeking, not read whole

MAX_MEDIA_BYTES: dict[Modality, int] = {
    Modality.IMAGE: MAX_IMAGE_BYTES,
    Modality.GIF: MAX_IMAGE_BYTES,  # GIFs go through the image decoder
    Modality.AUDIO: MAX_AUDIO_BYTES,
    Modality.VIDEO: MAX_VIDEO_BYTES,
}

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b?|b)?\s*$", re.IGNORECASE)


def describe_limits(limits: dict[Modality, int] = MAX_MEDIA_BYTES) -> str:
    """``"image 200 MiB, gif 200 MiB, ..."`` for help texts (from the constants, so never stale)."""
    return ", ".join(f"{kind} {size / MiB:g} MiB" for kind, size in limits.items())


def media_limits(overrides: Mapping[str | Modality, int] | None = None) -> dict[Modality, int]:
    """The default limits with ``overrides`` (kind -> bytes) applied; unknown kinds are a ConfigError."""
    limits = dict(MAX_MEDIA_BYTES)
    for kind, size in (overrides or {}).items():
        limits[_kind(kind)] = _positive(size, kind)
    return limits


def parse_media_limits(pairs: Iterable[str]) -> dict[Modality, int]:
    """``["video=500MB", "image=20MiB"]`` -> {kind: bytes}; ``all=SIZE`` sets every kind."""
    limits: dict[Modality, int] = {}
    for pair in pairs:
        kind, sep, size = pair.partition("=")
        if not sep:
            raise ConfigError(f"--max-media-size takes KIND=SIZE (e.g. video=500MB), got {pair!r}")
        value = parse_size(size)
        kinds = MEDIA_KINDS if kind.strip().lower() == "all" else (_kind(kind.strip()),)
        limits.update(dict.fromkeys(kinds, value))
    return limits


def parse_size(text: str) -> int:
    """``"500MB"`` -> 500,000,000; ``"2GiB"`` -> 2 * 1024**3; a bare number is bytes."""
    match = _SIZE.match(text)
    if match is None:
        raise ConfigError(f"cannot read the size {text!r}: write e.g. 500MB, 2GiB or 1048576 (bytes)")
    unit = (match.group(2) or "b").lower()
    power = "bkmgt".index(unit[0])
    factor = (1024 if "i" in unit else 1000) ** power
    return _positive(int(float(match.group(1)) * factor), text)


def _kind(kind: str | Modality) -> Modality:
    try:
        found = Modality(str(kind).strip().lower())
    except ValueError:
        found = None
    if found not in MEDIA_KINDS:
        names = ", ".join(str(k) for k in MEDIA_KINDS)
        raise ConfigError(f"unknown media kind {kind!r} for a size limit; use one of {names} or all")
    return found  # type: ignore[return-value]


def _positive(size: int, what: object) -> int:
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
        raise ConfigError(f"a media size limit must be a positive number of bytes, got {size!r} for {what!r}")
    return size
