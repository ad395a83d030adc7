"""Which exact encoder made a cached vector: ``name@version`` of the encoder as this postlens builds it.

A trained model must read vectors from the encoder version it was trained on, never from whichever
cache folder is newest. Encoders load their weights lazily, so building one here to read its
``name``/``version`` costs milliseconds and no model is loaded.
"""

from __future__ import annotations

import hashlib
import importlib
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal, get_args

from postlens.encoders.base import cache_key
from postlens.encoders.registry import SPECS, EncoderSpec, get_spec

TextField = Literal["text", "ocr", "video_text", "transcript"]
TEXT_FIELDS: tuple[str, ...] = get_args(TextField)
"""The fields of table ``text_fields``: a post's own text, OCR of its images, on-screen text of its videos, speech."""
TEXT_FIELD_SOURCES: dict[str, str] = {"ocr": "ocr", "video_text": "video", "transcript": "audio"}
"""Text field -> the registry encoder whose output it is (every field but ``text``, the post's own)."""


@dataclass(frozen=True)
class EncoderIdentity:
    """registry name (``minilm``), cache key (``text-minilm-l6@1.9d55ef50``), the settings behind the key."""

    name: str
    key: str
    modality: str
    settings: dict[str, Any] = field(default_factory=dict, compare=False)
    dim: int | None = None

    def describe(self) -> dict[str, Any]:
        return {"encoder": self.name, "key": self.key, "settings": self.settings}


@lru_cache(maxsize=None)
def installed_identity(name: str) -> EncoderIdentity:
    """The encoder ``name`` as configured in this postlens (unknown names raise, listing the known ones)."""
    spec = get_spec(name)
    encoder = spec.build()
    dim = getattr(encoder, "dim", None)
    return EncoderIdentity(name=name, key=cache_key(encoder), modality=str(spec.modality),
                           settings=encoder_settings(encoder), dim=int(dim) if isinstance(dim, int) else None)


def cache_prefix(key: str) -> str:
    """``text-minilm-l6@1.9d55ef50`` -> ``text-minilm-l6`` (the folder prefix every version shares)."""
    return key.split("@", 1)[0]


def spec_cache_prefix(spec: EncoderSpec) -> str:
    """The encoder's ``name`` attribute as the cache folder uses it (class attribute: nothing is built or loaded)."""
    factory = getattr(importlib.import_module(spec.module), spec.factory)
    return str(getattr(factory, "name", spec.name))


def registry_name_of(key: str) -> str | None:
    """The registry name whose encoder writes cache folders with this key's prefix (None when no encoder does).

    Read from class attributes: building an encoder can load its model (ONNX runtimes report the
    runtime they really use in ``version``), which a name lookup must not pay for.
    """
    prefix = cache_prefix(key)
    return next((name for name, spec in SPECS.items() if spec_cache_prefix(spec) == prefix), None)


def text_key(text: str) -> str:
    """Cache key of a text item: sha256 of its UTF-8 bytes (what featurize keys text encoders' rows by)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def encoder_settings(encoder: Any) -> dict[str, Any]:
    """The encoder's constructor settings as JSON-able values (nested encoders by their cache key)."""
    params = encoder.get_params(deep=False) if hasattr(encoder, "get_params") else {
        k: v for k, v in vars(encoder).items() if not k.startswith("_")
    }
    return {k: _jsonable(v) for k, v in params.items() if not callable(v) or hasattr(v, "encode")}


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if hasattr(value, "get_params"):
        return {k: _jsonable(v) for k, v in value.get_params(deep=False).items()}
    if hasattr(value, "name") and hasattr(value, "version"):
        return cache_key(value)
    return repr(value)
