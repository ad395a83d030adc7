"""Training speed with cached features: seconds per epoch per 10k posts (synthetic 10k posts).

    .venv/bin/python bench/train.py [--posts 10000] [--epochs 2]

Shapes match a real workspace: MiniLM text 384-d (all posts), EfficientNet image 1280-d (60% of
posts), 17 metadata columns, 4 classes. Prints per-epoch time for the fusion network (attention and
concat, 1 and 2 threads) and fit time for the baselines.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from postlens.models.baselines import BaselineModel
from postlens.models.distill import StudentModel
from postlens.models.fusion import FusionModel
from postlens.models.inputs import PostData


def synthetic(n: int, seed: int = 0) -> tuple[PostData, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    text = (rng.normal(size=(4, 384))[y] * 0.3 + rng.normal(size=(n, 384))).astype(np.float32)
    image = (rng.normal(size=(4, 1280))[y] * 0.3 + rng.normal(size=(n, 1280))).astype(np.float32)
    has_image = rng.random(n) < 0.6
    image[~has_image] = 0
    meta = rng.normal(size=(n, 17)).astype(np.float32)
    return PostData({"text": text, "image": image}, {"text": np.ones(n, bool), "image": has_image}, meta,
                    [f"m{i}" for i in range(17)]), y


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    data, y = synthetic(args.posts)
    val = synthetic(1000, seed=1)
    per10k = 10_000 / args.posts
    print(f"{args.posts} posts, text 384 + image 1280 (60% present) + 17 metadata, 4 classes")
    for fusion in ("attention", "concat"):
        for threads in (1, 2):
            model = FusionModel(fusion=fusion, epochs=args.epochs, patience=99, num_threads=threads, batch_size=64)
            model.fit(data, y, val=(val[0], val[1], None))
            per_epoch = model.train_seconds_ / model.epochs_run_
            print(f"  fusion {fusion:<9} width 128, batch 64, {threads} thread(s): "
                  f"{per_epoch * per10k:6.1f} s/epoch per 10k posts (incl. validation on 1k)", flush=True)
    teacher_logits = np.random.default_rng(0).normal(size=(args.posts, 4)).astype(np.float32)
    student = StudentModel(epochs=args.epochs, patience=99, num_threads=1)
    student.fit(data, y, teacher_logits=teacher_logits)
    print(f"  student MLP (text+meta), 1 thread: {student.train_seconds_ / args.epochs * per10k:6.1f} s/epoch per 10k posts")
    for kind in ("logreg", "lightgbm"):
        started = time.perf_counter()
        BaselineModel(kind=kind, n_estimators=300, num_threads=2).fit(data, y)
        print(f"  {kind:<9} full fit: {(time.perf_counter() - started) * per10k:6.1f} s per 10k posts", flush=True)


if __name__ == "__main__":
    main()
