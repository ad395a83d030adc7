"""TweetEval emotion: fine-tune only all-mpnet-base-v2's top layers on cached lower-layer token states.

    .venv/bin/python bench/emotion_mpnet_top.py [--frozen-layers 10] [--epochs 3] [--lr 5e-5]
                                                [--finetuned-proba FILE]

Full fine-tuning of a 110M model is out of reach on 2 shared cores (~8x MiniLM's ~5 min epoch). The
bottom ``--frozen-layers`` of MPNet never change, so their output (token states, float16) is computed
once and cached in /tmp; only the top layers and a linear head on their mean-pooled output train.
Split as bench/sentiment.py (``make_split``): 15% of train (stratified, seed 0) is the validation fold that chooses the
epoch (and the blend weight); the benchmark's val side is scored once, for the chosen epoch.
``--finetuned-proba``: a (posts x 4) .npy of another model's probabilities over train + val rows (e.g.
the fine-tuned MiniLM: ``finetune-<digest>.npy``, which bench/sentiment.py saves when it trains the recipe) to
blend with, weight chosen on the validation fold.
"""

from __future__ import annotations

import argparse
import copy
import os
import pickle
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sentiment import SHARED, VAL_SIZE, load_side

CACHE = Path(os.environ.get("POSTLENS_BENCH_CACHE", "/tmp/postlens-bench-cache")) / "sentiment"
MAX_TOKENS = 64


def token_states(texts: list[str], frozen: int) -> list[np.ndarray]:
    """Each text's token states after layer ``frozen`` (float16), cached per layer."""
    path = CACHE / f"mpnet-tokens-layer{frozen}-{len(texts)}.pkl"
    if path.exists():
        return pickle.loads(path.read_bytes())
    import torch
    from transformers import AutoModel, AutoTokenizer

    from postlens.encoders.text.mpnet_package import model_folder
    from postlens.encoders.text.preprocess import TextPreprocessor

    folder = model_folder()
    cleaner = TextPreprocessor.for_models()
    cleaned = [cleaner.preprocess(t) or t for t in texts]
    tokenizer, model = AutoTokenizer.from_pretrained(folder), AutoModel.from_pretrained(folder).eval()
    started, cpu = time.perf_counter(), time.process_time()
    states: list[Any] = [None] * len(texts)
    order = np.argsort([len(t) for t in cleaned])
    with torch.inference_mode():
        for start in range(0, len(order), 32):
            rows = order[start : start + 32]
            batch = tokenizer(
                [cleaned[r] for r in rows], padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt"
            )
            hidden = model(**batch, output_hidden_states=True).hidden_states[frozen]
            for i, r in enumerate(rows):
                states[r] = hidden[i, : int(batch["attention_mask"][i].sum())].to(torch.float16).numpy()
    print(
        f"  token states after layer {frozen}: {time.perf_counter() - started:.0f} s wall, "
        f"{time.process_time() - cpu:.0f} s CPU (load {os.getloadavg()[0]:.1f}), cached",
        flush=True,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(states))
    return states


def build_top(frozen: int) -> Any:
    """MPNet's layers from ``frozen`` on (relative-position bias kept frozen) + mean pooling + a 4-way head."""
    import torch
    from torch import nn
    from transformers import AutoModel

    from postlens.encoders.text.mpnet_package import model_folder

    encoder = AutoModel.from_pretrained(model_folder()).encoder

    class Top(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layers = nn.ModuleList([copy.deepcopy(layer) for layer in encoder.layer[frozen:]])
            self.drop, self.head = nn.Dropout(0.1), nn.Linear(768, 4)

        def forward(self, hidden: Any, mask: Any) -> Any:
            position_bias = encoder.compute_position_bias(hidden)
            additive = (1.0 - mask[:, None, None, :]) * torch.finfo(hidden.dtype).min
            for layer in self.layers:
                hidden = layer(hidden, additive, position_bias)[0]
            weights = mask.unsqueeze(-1)
            return self.head(self.drop((hidden * weights).sum(1) / weights.sum(1)))

    encoder.relative_attention_bias.requires_grad_(False)
    return Top()


def padded(states: list[np.ndarray], rows: Any) -> tuple[Any, Any]:
    import torch

    width = max(len(states[r]) for r in rows)
    hidden, mask = torch.zeros(len(rows), width, 768), torch.zeros(len(rows), width)
    for i, r in enumerate(rows):
        hidden[i, : len(states[r])] = torch.from_numpy(states[r].astype(np.float32))
        mask[i, : len(states[r])] = 1
    return hidden, mask


def predict(model: Any, states: list[np.ndarray], rows: np.ndarray) -> np.ndarray:
    import torch

    model.eval()
    out = np.zeros((len(rows), 4))
    order = np.argsort([len(states[r]) for r in rows])
    with torch.inference_mode():
        for start in range(0, len(order), 64):
            chunk = order[start : start + 64]
            out[chunk] = torch.softmax(model(*padded(states, rows[chunk])), -1).numpy()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frozen-layers", type=int, default=10, help="of 12; the layers above them train")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=5e-5, help="top layers' learning rate (head: 1e-3)")
    parser.add_argument("--finetuned-proba", type=Path, default=None)
    args = parser.parse_args()
    folder = SHARED / "tweeteval" / "emotion"
    if not folder.exists():
        print(f"TweetEval emotion not found at {folder}; nothing to measure (skipped)")
        return
    import torch
    from sklearn.metrics import f1_score
    from torch import nn

    from postlens.evaluation.splits import make_split
    from postlens.models.threads import available_cores

    torch.manual_seed(0)
    torch.set_num_threads(available_cores())
    train_texts, train_y = load_side(folder, "train")
    val_texts, val_y = load_side(folder, "val")
    y = np.concatenate([train_y, val_y])
    sides = np.array(["train"] * len(train_y) + ["val"] * len(val_y), dtype=object)
    split = make_split("column", len(y), y=y, values=sides, val_size=VAL_SIZE, seed=0)  # as bench/sentiment.py
    fit, dev, val = split.train, split.val, split.test
    states = token_states(train_texts + val_texts, args.frozen_layers)
    model = build_top(args.frozen_layers)
    optimizer = torch.optim.AdamW(
        [{"params": model.layers.parameters(), "lr": args.lr}, {"params": model.head.parameters(), "lr": 1e-3}],
        weight_decay=0.01,
    )
    steps = args.epochs * -(-len(fit) // 32)
    warm = max(1, steps // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / warm) * max(0.0, (steps - s) / max(1, steps - warm))
    )
    rng = np.random.default_rng(0)
    macro = lambda rows, p: float(f1_score(y[rows], p.argmax(1), average="macro"))  # noqa: E731
    best: tuple[float, int, np.ndarray, np.ndarray] | None = None
    started, cpu = time.perf_counter(), time.process_time()
    for epoch in range(1, args.epochs + 1):
        model.train()
        shuffled = rng.permutation(fit)  # length-bucketed batches in a shuffled order
        chunks = [sorted(shuffled[i : i + 320], key=lambda r: len(states[r])) for i in range(0, len(shuffled), 320)]
        batches = [np.array(c[i : i + 32]) for c in chunks for i in range(0, len(c), 32)]
        rng.shuffle(batches)  # type: ignore[arg-type]
        for rows in batches:
            loss = nn.functional.cross_entropy(model(*padded(states, rows)), torch.from_numpy(y[rows]))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
        dev_p = predict(model, states, dev)
        print(
            f"  epoch {epoch}: validation fold {macro(dev, dev_p):.3f} ({time.perf_counter() - started:.0f} s wall, "
            f"{time.process_time() - cpu:.0f} s CPU, load {os.getloadavg()[0]:.1f})",
            flush=True,
        )
        if best is None or macro(dev, dev_p) > best[0]:
            best = (macro(dev, dev_p), epoch, dev_p, predict(model, states, val))
    assert best is not None
    score, epoch, dev_p, val_p = best
    print(
        f"MPNet top {12 - args.frozen_layers} layers fine-tuned: epoch {epoch} chosen (fold {score:.3f}), "
        f"val {macro(val, val_p):.3f}; training {time.perf_counter() - started:.0f} s wall, "
        f"{time.process_time() - cpu:.0f} s CPU on {available_cores()} cores"
    )
    np.save(CACHE / f"mpnet-top{12 - args.frozen_layers}-dev-val.npy", np.vstack([dev_p, val_p]))
    if args.finetuned_proba is not None:
        other = np.load(args.finetuned_proba)
        grid = [round(w, 2) for w in np.linspace(0, 1, 21)]
        fold = {w: macro(dev, w * other[dev] + (1 - w) * dev_p) for w in grid}
        w = max(grid, key=lambda v: (round(fold[v], 12), -abs(v - 0.5)))
        print(
            f"blend with {args.finetuned_proba.name}: weight {w} chosen on the fold ({fold[w]:.3f}), "
            f"val {macro(val, w * other[val] + (1 - w) * val_p):.3f}; equal weights val "
            f"{macro(val, 0.5 * other[val] + 0.5 * val_p):.3f}"
        )


if __name__ == "__main__":
    main()
