"""The 1000 ImageNet-1k class names in the standard index order (0 tench ... 999 toilet tissue).

The EfficientNet weights ship logits only; these names turn an index into words that the text
embedder (and people) understand. Names are the short WordNet synonyms used by most toolkits.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import numpy as np

NUM_CLASSES = 1000


@lru_cache(maxsize=1)
def imagenet_class_names() -> tuple[str, ...]:
    text = resources.files(__package__).joinpath("imagenet_classes.txt").read_text(encoding="utf-8")
    names = tuple(line.strip() for line in text.splitlines() if line.strip())
    if len(names) != NUM_CLASSES:
        raise RuntimeError(f"imagenet_classes.txt has {len(names)} names, expected {NUM_CLASSES}; reinstall postlens")
    return names


def top_labels(probabilities: np.ndarray, k: int = 5) -> list[dict[str, float | int | str]]:
    """The k most probable classes of one (1000,) probability row, most probable first."""
    names = imagenet_class_names()
    order = np.argsort(-probabilities)[:k]
    return [{"index": int(i), "name": names[int(i)], "prob": round(float(probabilities[i]), 5)} for i in order]
