"""Sentence vectors for short texts topic modelling needs (seed descriptions, image-label prompts),
computed once: read from the feature cache by text hash, the missing ones embedded and cached."""

from __future__ import annotations

import numpy as np

from postlens.encoders.identity import text_key
from postlens.encoders.registry import get_spec
from postlens.store.features import FeatureCache
from postlens.store.workspace import Workspace
from postlens.tasks.segments.load import TEXT_ENCODER
from postlens.tasks.segments.space import EmbedTexts


def cached_embedder(workspace: Workspace, encoder_name: str = TEXT_ENCODER) -> EmbedTexts:
    """``embed(texts) -> (n, d)`` with the workspace's text encoder; the model loads only if a text is new."""
    from postlens.encoders.base import cache_key
    from postlens.errors import EncoderError

    cache = FeatureCache(workspace.features_dir)
    encoder = get_spec(encoder_name).build()
    key = cache_key(encoder)
    seen: dict[str, np.ndarray] = {}  # a fit asks for the same label prompts more than once

    def embed(texts: list[str]) -> np.ndarray:
        keys = [text_key(t) for t in texts]
        wanted = [k for k in dict.fromkeys(keys) if k not in seen]
        missing = cache.missing(key, wanted) if wanted else []
        if missing:
            by_key = dict(zip(keys, texts))
            features = encoder.encode([by_key[k] for k in missing])
            cache.write(key, missing, features)
        found = cache.read(key, set(wanted)) if wanted else {}
        seen.update({k: f.vector for k, f in found.items() if f.vector is not None})
        rows = []
        for text, k in zip(texts, keys):
            vector = seen.get(k)
            if vector is None:
                raise EncoderError(
                    f"the text encoder {key} could not embed {text[:60]!r}: "
                    f"{found[k].error if k in found else 'no output'}"
                )
            rows.append(vector)
        return np.stack(rows).astype(np.float32) if rows else np.zeros((0, int(encoder.dim)), np.float32)

    return embed
