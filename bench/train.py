"""Training speed with cached features: seconds per epoch per 10k posts (synthetic 10k posts).

    .venv/bin/python bench/train.py [--posts 10000] [--epochs 2] [--parts baselines,fusion,student,waveform]

Shapes match a real workspace: MiniLM text 384-d (all posts), EfficientNet image 1280-d (60% of
posts), 17 metadata columns, 4 classes. Prints per-epoch time for the fusion network (attention and
concat, 1 and 2 threads), the distillation student and the RawNet waveform path, and fit time and
accuracy for the baselines (logreg; LightGBM at 1 and 2 threads, with and without early stopping).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

from postlens.models.baselines import BaselineModel
from postlens.models.distill import StudentModel
from postlens.models.fusion import FusionModel
from postlens.models.inputs import PostData


def synthetic(n: int, seed: int = 0) -> tuple[PostData, np.ndarray]:
    centres = np.random.default_rng(1234)  # the same classes in every sample (train and val agree)
    text_centres, image_centres = centres.normal(size=(4, 384)), centres.normal(size=(4, 1280))
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    text = (text_centres[y] * 0.3 + rng.normal(size=(n, 384))).astype(np.float32)
    image = (image_centres[y] * 0.3 + rng.normal(size=(n, 1280))).astype(np.float32)
    has_image = rng.random(n) < 0.6
    image[~has_image] = 0
    meta = rng.normal(size=(n, 17)).astype(np.float32)
    return PostData(
        {"text": text, "image": image},
        {"text": np.ones(n, bool), "image": has_image},
        meta,
        [f"m{i}" for i in range(17)],
    ), y


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument(
        "--parts",
        default="baselines,fusion,student,waveform",
        help="comma list of: baselines, fusion, student, waveform",
    )
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    data, y = synthetic(args.posts)
    val = synthetic(1000, seed=1)
    per10k = 10_000 / args.posts
    print(
        f"{args.posts} posts, text 384 + image 1280 (60% present) + 17 metadata, 4 classes; "
        f"flat features {data.flat().shape[1]}; OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}"
    )
    if "baselines" in parts:  # first: LightGBM's OpenMP runtime is configured when it first loads
        bench_baselines(data, y, val, per10k)
    if "fusion" in parts:
        bench_fusion(data, y, val, args.epochs, ("attention", "concat"), (1, 2))
    if "student" in parts:
        bench_student(data, y, args.epochs, (1, 2))
    if "waveform" in parts:
        bench_waveform(args.epochs)


def bench_fusion(
    data: PostData, y: np.ndarray, val: tuple[PostData, np.ndarray], epochs: int, fusions, threads_list
) -> list[tuple[str, int, float]]:
    """(fusion, threads, seconds per epoch per 10k posts) of the fusion network, width 128, batch 64."""
    per10k = 10_000 / len(y)
    figures = []
    for fusion in fusions:
        for threads in threads_list:
            model = FusionModel(fusion=fusion, epochs=epochs, patience=99, num_threads=threads, batch_size=64)
            model.fit(data, y, val=(val[0], val[1], None))
            per_epoch = model.train_seconds_ / model.epochs_run_
            figures.append((fusion, threads, per_epoch * per10k))
            print(
                f"  fusion {fusion:<9} width 128, batch 64, {threads} thread(s): "
                f"{per_epoch * per10k:6.1f} s/epoch per 10k posts (incl. validation on 1k)",
                flush=True,
            )
    return figures


def bench_student(data: PostData, y: np.ndarray, epochs: int, threads_list) -> list[tuple[int, float]]:
    """(threads, seconds per epoch per 10k posts) of the distillation student MLP (text + metadata)."""
    per10k = 10_000 / len(y)
    teacher_logits = np.random.default_rng(0).normal(size=(len(y), 4)).astype(np.float32)
    figures = []
    for threads in threads_list:
        student = StudentModel(epochs=epochs, patience=99, num_threads=threads)
        student.fit(data, y, teacher_logits=teacher_logits)
        figures.append((threads, student.train_seconds_ / epochs * per10k))
        print(
            f"  student MLP (text+meta), {threads} thread(s): "
            f"{student.train_seconds_ / epochs * per10k:6.1f} s/epoch per 10k posts",
            flush=True,
        )
    return figures


def suite_rows(quick: bool = False) -> list[dict]:
    """The suite's rows: seconds per epoch per 10k posts (cached-feature shapes) of the fusion network
    (attention and concat) and of the student, at 1 and 2 threads (quick: 2,000 posts, 1 epoch)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _rows import row

    posts, epochs = (2_000, 1) if quick else (10_000, 2)
    data, y = synthetic(posts)
    val = synthetic(1000, seed=1)
    threads_list = sorted({1, min(2, len(os.sched_getaffinity(0)))})
    rows = []
    for fusion, threads, seconds in bench_fusion(data, y, val, epochs, ("attention", "concat"), threads_list):
        metric = f"fusion ({fusion}) epoch, {threads} thread(s), measured on {posts:,} posts"
        rows.append(row("train", metric, seconds, "s per 10k posts"))
    for threads, seconds in bench_student(data, y, epochs, threads_list):
        metric = f"student MLP epoch, {threads} thread(s), measured on {posts:,} posts"
        rows.append(row("train", metric, seconds, "s per 10k posts"))
    return rows


def bench_baselines(data: PostData, y: np.ndarray, val: tuple[PostData, np.ndarray], per10k: float) -> None:
    from postlens.models.baselines import idle_threads

    print(f"  idle cores now: {idle_threads(os.cpu_count() or 2)} (LightGBM threads are capped to these)")
    runs = [
        ("logreg", {}, None),
        ("lightgbm", {"num_threads": 1}, None),
        ("lightgbm", {"num_threads": 2}, None),
        ("lightgbm", {"num_threads": 2}, val),
    ]
    for kind, options, early in runs:
        model = BaselineModel(kind=kind, n_estimators=300, **options)
        started = time.perf_counter()
        model.fit(data, y, val=early)
        seconds = time.perf_counter() - started
        accuracy = float((model.predict(val[0]) == val[1]).mean())
        detail = ""
        if kind == "lightgbm":
            detail = (
                f", {options['num_threads']} thread(s) asked, {model.threads_used_} used, "
                f"{'early stopping at ' + str(model.epochs_run_) if early else '300'} rounds"
            )
        print(
            f"  {kind:<9} full fit: {seconds * per10k:6.1f} s per 10k posts{detail}; val accuracy {accuracy:.3f}",
            flush=True,
        )


def bench_waveform(epochs: int, posts: int = 256, seconds: float = 1.0) -> None:
    """RawNet trained inside the fusion network on 1 s crops, scaled to 10k posts."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, posts)
    t = np.arange(int(seconds * 16000)) / 16000
    crops = [
        np.stack([np.sin(2 * np.pi * (200 + 300 * c) * t + p) for p in rng.uniform(0, 6, 4)]).astype(np.float16)
        for c in y
    ]
    meta = rng.normal(size=(posts, 17)).astype(np.float32)
    data = PostData(
        {}, {"waveform": np.ones(posts, bool)}, meta, [f"m{i}" for i in range(17)], waveforms={"waveform": crops}
    )
    for threads in (1, 2):
        model = FusionModel(epochs=epochs, patience=99, num_threads=threads, batch_size=64, val_fraction=0.1)
        model.fit(data, y)
        per_epoch = model.train_seconds_ / model.epochs_run_
        print(
            f"  fusion + RawNet on {seconds:g} s crops (4 per post, mean at eval), {threads} thread(s): "
            f"{per_epoch * 10_000 / posts:7.1f} s/epoch per 10k posts",
            flush=True,
        )


if __name__ == "__main__":
    main()
