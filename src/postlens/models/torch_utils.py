"""Determinism and small torch helpers shared by the fusion network, the student and fine-tuning."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np


@contextmanager
def isolated_torch_rng(seed: int) -> Iterator[None]:
    """Within the block torch's global RNG is seeded with ``seed`` (weight init and dropout draw from
    it: same seed -> same weights, same metrics on CPU); on exit the process's RNG state is what it
    was before. ``torch.use_deterministic_algorithms`` is left alone: it is a process-wide switch
    (and its first call imports torch's compiler, which writes ``TORCHINDUCTOR_CACHE_DIR`` into the
    environment), and the CPU kernels these models run are deterministic at a given thread count."""
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def seeded_generator(seed: int) -> Any:
    """A torch Generator of its own (batch order, modality dropout), seeded with ``seed``; fitting
    runs inside ``isolated_torch_rng`` (``PostlensEstimator.fit`` enters it), so nothing global moves."""
    import torch

    generator = torch.Generator()
    generator.manual_seed(seed)
    return generator


def focal_loss(logits: Any, target: Any, *, gamma: float = 2.0, weight: Any = None, reduction: str = "mean") -> Any:
    """Cross-entropy scaled by (1 - p_true)^gamma: easy, frequent examples stop dominating the loss.

    ``reduction="none"`` gives one loss per row (for per-row sample weights)."""
    import torch.nn.functional as F

    log_p = F.log_softmax(logits, dim=-1)
    log_p_true = log_p.gather(1, target[:, None]).squeeze(1)
    loss = -((1 - log_p_true.exp()) ** gamma) * log_p_true
    if weight is not None:
        loss = loss * weight[target]
    return loss if reduction == "none" else loss.mean()


def balanced_class_weights(y: np.ndarray, n_classes: int) -> np.ndarray:
    """n / (k * count_c), the sklearn 'balanced' rule; unseen classes get weight 1."""
    counts = np.bincount(y, minlength=n_classes).astype(float)
    weights = np.where(counts > 0, len(y) / (n_classes * np.maximum(counts, 1)), 1.0)
    return weights.astype(np.float32)


def balanced_batches(y: np.ndarray, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """One epoch of batches with classes drawn equally often (small classes repeat, large ones rotate)."""
    classes = np.unique(y)
    per_class = {c: rng.permutation(np.flatnonzero(y == c)) for c in classes}
    cursor = {c: 0 for c in classes}
    n_batches = max(1, len(y) // batch_size)
    batches = []
    for _ in range(n_batches):
        picks = rng.choice(classes, size=batch_size)
        batch = []
        for c in picks:
            members = per_class[c]
            if cursor[c] >= len(members):
                per_class[c] = members = rng.permutation(members)
                cursor[c] = 0
            batch.append(members[cursor[c]])
            cursor[c] += 1
        batches.append(np.array(batch))
    return batches
