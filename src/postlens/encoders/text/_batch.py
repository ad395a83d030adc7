"""Per-item safety for text encoders: one bad item gets an error, the rest of the batch goes on."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from postlens.encoders.base import Features


def check_items(items: Sequence[Any], encoder_name: str) -> tuple[list[int], list[str], list[Features | None]]:
    """Split a batch into encodable (index, text) pairs and ready-made failures.

    Empty or whitespace-only text fails with code ``empty``: a vector of only special tokens would
    look like a real embedding downstream. Non-strings fail with ``bad_input``.
    """
    results: list[Features | None] = [None] * len(items)
    indices: list[int] = []
    texts: list[str] = []
    for index, item in enumerate(items):
        if isinstance(item, Path) or not isinstance(item, str):
            results[index] = Features.failed(
                "bad_input", f"{encoder_name}: item {index} is {type(item).__name__}, expected str (post text)"
            )
        elif not item.strip():
            results[index] = Features.failed(
                "empty", f"{encoder_name}: item {index} has no text; skip text encoders for media-only posts"
            )
        else:
            indices.append(index)
            texts.append(item)
    return indices, texts, results


def truncate_chars(text: str, max_chars: int) -> tuple[str, bool]:
    """Cut at the last space before ``max_chars`` (or hard) so tokenizers never see megabytes of text."""
    if len(text) <= max_chars:
        return text, False
    cut = text.rfind(" ", max_chars // 2, max_chars)
    return text[: cut if cut > 0 else max_chars], True


def encode_guarded(
    texts: list[str],
    embed: Callable[[list[str]], np.ndarray],
    encoder_name: str,
    positions: list[int],
) -> list[np.ndarray | str]:
    """Embed a batch; if the batch call raises, retry item by item so only the culprit fails.

    Returns, per text, either its vector or an error string ``"encoder_error: ..."``.
    """
    try:
        matrix = embed(texts)
        return [np.asarray(row, dtype=np.float32) for row in matrix]
    except Exception:  # noqa: BLE001 - isolate the failing item below
        pass
    out: list[np.ndarray | str] = []
    for position, text in zip(positions, texts):
        try:
            out.append(np.asarray(embed([text])[0], dtype=np.float32))
        except Exception as error:  # noqa: BLE001 - reported per item, batch goes on
            out.append(f"encoder_error: {encoder_name} failed on item {position}: {type(error).__name__}: {error}")
    return out


def assemble(
    results: list[Features | None],
    positions: list[int],
    vectors: list[np.ndarray | str],
    infos: list[dict[str, Any]],
) -> list[Features]:
    for position, vector, info in zip(positions, vectors, infos):
        if isinstance(vector, str):
            results[position] = Features(error=vector)
        else:
            results[position] = Features(vector=vector, info=info)
    return [feature if feature is not None else Features.failed("internal", "no result") for feature in results]
