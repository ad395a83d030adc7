"""Fine-tuning a small transformer well on a CPU: layer-wise learning rates, warm-up + linear decay,
frozen word embeddings and length-bucketed batches (used by ``FineTunedTextModel``).

Why each: lower layers hold general language knowledge and move less (``layer_decay`` < 1 gives
layer i of L the rate ``lr * layer_decay ** (L - i)``); a warm-up protects the pretrained weights from
the first noisy steps of a fresh head and the decay settles the end; the 30,522 x 384 word-embedding
matrix is half of MiniLM's weights, so freezing it halves AdamW's update work for little loss;
batches of similar length pad less, and on a CPU padded tokens cost as much as real ones.
"""

from __future__ import annotations

from typing import Any

import numpy as np

SCHEDULES = ("constant", "linear")


def parameter_groups(
    encoder: Any, head: Any, *, lr: float, head_lr: float, layer_decay: float = 1.0, freeze_embeddings: bool = False
) -> list[dict[str, Any]]:
    """AdamW groups: the head at ``head_lr``, each transformer layer at ``lr * layer_decay ** depth``
    (depth 0 = the top layer), the embeddings below the lowest layer. A model without a BERT-style
    ``encoder.layer`` list gets one group at ``lr``."""
    bert = _transformer(encoder)
    if freeze_embeddings and bert is not None:
        bert.embeddings.word_embeddings.weight.requires_grad_(False)
    groups: list[dict[str, Any]] = [{"params": list(head.parameters()), "lr": head_lr}]
    layers = list(getattr(getattr(bert, "encoder", None), "layer", []) or [])
    if bert is None or not layers:
        groups.append({"params": [p for p in encoder.parameters() if p.requires_grad], "lr": lr})
        return groups
    depth = len(layers)
    groups.append(
        {"params": [p for p in bert.embeddings.parameters() if p.requires_grad], "lr": lr * layer_decay**depth}
    )
    for i, layer in enumerate(layers):
        groups.append({"params": list(layer.parameters()), "lr": lr * layer_decay ** (depth - 1 - i)})
    placed = {id(p) for g in groups for p in g["params"]}
    rest = [p for p in encoder.parameters() if p.requires_grad and id(p) not in placed]  # pooler, dense heads
    if rest:
        groups.append({"params": rest, "lr": lr})
    return [g for g in groups if g["params"]]


def _transformer(encoder: Any) -> Any:
    """The Hugging Face model inside a sentence-transformers model (None when there is none)."""
    try:
        first = encoder[0]
    except (TypeError, IndexError, KeyError):
        return None
    model = getattr(first, "auto_model", None)
    return model if hasattr(model, "embeddings") else None


def lr_scale(step: int, total: int, *, schedule: str, warmup: float) -> float:
    """Multiplier of every group's base rate at ``step`` (0-based) of ``total``."""
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, got {schedule!r}")
    warm = int(round(warmup * total))
    if step < warm:
        return (step + 1) / warm
    if schedule == "constant":
        return 1.0
    return max(0.0, (total - step) / max(1, total - warm))


def length_batches(
    rows: np.ndarray, lengths: np.ndarray, batch_size: int, rng: np.random.Generator, *, window: int = 50
) -> list[np.ndarray]:
    """Shuffled rows cut into windows of ``window`` batches, each window sorted by length, batches shuffled:
    batches hold texts of similar length while every epoch still sees a new order."""
    perm = rng.permutation(rows)
    batches: list[np.ndarray] = []
    span = batch_size * window
    for start in range(0, len(perm), span):
        chunk = perm[start : start + span]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    order = rng.permutation(len(batches))
    return [batches[i] for i in order]
