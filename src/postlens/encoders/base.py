"""The encoder contract: every modality's feature extractor looks the same to the pipeline.

An encoder is a callable-class in the Ray Data style: load the model once in ``__init__`` (lazily,
on first use, so that ``--help`` stays fast), then ``encode(batch)`` many times. It never raises
for one bad item: it returns a ``Features`` with ``error`` set and the batch goes on.
The feature cache (``store/features.py``) keys results by (content sha256, ``name@version``).
An encoder whose output depends on its settings derives ``version`` from them with
:func:`settings_version`, so a changed setting never reuses stale cached output; computing it must
not load the model.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import importlib.metadata
import json
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePath
from typing import Any, Protocol

from postlens.machine import available_cores
from postlens.types import Features, Modality

__all__ = ["Encoder", "Features", "cache_key", "default_threads", "package_version", "settings_tag",
           "settings_version"]


class Encoder(Protocol):
    """name@version identifies cached output: ``settings_version(code revision, output settings)``."""

    name: str
    version: str
    modality: Modality
    dim: int

    def encode(self, items: Sequence[str | Path]) -> list[Features]:
        """Text encoders take strings; media encoders take file paths. One Features per item, in order."""
        ...


def cache_key(encoder: Encoder) -> str:
    return f"{encoder.name}@{encoder.version}"


def default_threads() -> int:
    """CPU cores this process may use (its affinity mask, not the machine's core count)."""
    return available_cores()


def settings_tag(settings: Mapping[str, Any]) -> str:
    """8 hex digits of the canonical JSON of ``settings``: the same settings give the same tag in
    every process (no ``id()``, no hash seed, no dict or set order), different settings another."""
    payload = json.dumps(_canonical(settings), sort_keys=True, separators=(", ", ": ")).encode()
    return hashlib.sha256(payload).hexdigest()[:8]


def settings_version(revision: str, settings: Mapping[str, Any]) -> str:
    """``"<revision>.<settings_tag>"``. Bump ``revision`` when the code changes what the encoder
    outputs; settings that change the output go in ``settings`` (not thread or batch counts)."""
    return f"{revision}.{settings_tag(settings)}"


def package_version(distribution: str) -> str | None:
    """Installed version of a package whose weights or lexicon shape the output (None if absent);
    reads metadata only, never imports the package."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _canonical(value: Any) -> Any:
    """JSON-ready form of a setting; refuses values whose text would differ between processes."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, enum.Enum):
        return _canonical(value.value)
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, Mapping):
        return {str(key): _canonical(item) for key, item in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted((_canonical(item) for item in value), key=repr)
    if isinstance(value, (list, tuple)):
        return [_canonical(item) for item in value]
    if hasattr(value, "item") and getattr(value, "shape", None) == ():  # numpy scalar
        return value.item()
    if hasattr(value, "tolist"):  # numpy array
        return value.tolist()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {type(value).__name__: _canonical(dataclasses.asdict(value))}
    get_params = getattr(value, "get_params", None)
    if callable(get_params):
        return {type(value).__name__: _canonical(get_params())}
    text = repr(value)
    if " at 0x" in text:
        raise TypeError(f"setting {text} has no stable text form; pass its settings (a dict) instead")
    return text
