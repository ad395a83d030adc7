"""Throughput of the image encoders (prints figures; no assertions).

EfficientNet: images/s of ``encode(paths)`` end to end (read, decode, resize, crop, forward, labels)
and its ratio to the bare forward pass on the same already-prepared batch (goal >= 0.8; goal >= 30
images/s on 2 cores). OCR and stats: images/s. Uses the MediaEval images when present, otherwise
synthesised JPEGs. Other processes share the CPU: the load average is printed, each figure is the
best of a few interleaved repetitions.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/image_encoders.py [--images 256] [--ocr-images 40]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from postlens.encoders.image import EfficientNetEncoder, ImageStatsEncoder, OCREncoder
from postlens.media.image import EFFICIENTNET_RESIZE, efficientnet_array, load_image

MEDIAEVAL_IMAGES = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "mediaeval2016" / "images"


def pick_images(count: int) -> tuple[list[Path], str]:
    if MEDIAEVAL_IMAGES.exists():
        paths = sorted(p for p in MEDIAEVAL_IMAGES.rglob("*") if p.is_file() and p.suffix.lower() != ".txt")
        return (paths * (count // len(paths) + 1))[:count], "MediaEval 2016 images"
    folder = Path(tempfile.mkdtemp(prefix="postlens-bench-"))
    rng = np.random.default_rng(0)
    font = ImageFont.load_default(size=40)
    paths = []
    for i in range(count):
        image = Image.fromarray(rng.integers(0, 256, (600, 800, 3), dtype=np.uint8))
        ImageDraw.Draw(image).text((40, 40), f"synthetic {i}", fill="white", font=font)
        paths.append(folder / f"img_{i}.jpg")
        image.save(paths[-1], quality=85)
    return paths, "synthesised 800x600 JPEGs"


def best_rate(run, items: int, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return items / best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--ocr-images", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    paths, origin = pick_images(args.images)
    print(f"{len(paths)} images ({origin}); load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")

    encoder = EfficientNetEncoder(batch_size=32)
    started = time.perf_counter()
    encoder.encode(paths[:2])
    print(f"EfficientNet load + first batch: {time.perf_counter() - started:.2f} s")
    frames = [f for p in paths for f in load_image(p, min_side=EFFICIENTNET_RESIZE, max_frames=encoder.max_frames).frames]
    prepared = efficientnet_array(frames)

    def bare() -> None:
        for start in range(0, len(prepared), encoder.batch_size):
            encoder.forward(prepared[start : start + encoder.batch_size])

    def pipeline() -> None:
        encoder.encode(paths)

    rates = {"bare": [], "pipeline": []}
    for _ in range(args.repeats):  # interleaved so that both see the same neighbours on the CPU
        rates["bare"].append(best_rate(bare, len(paths), 1))
        rates["pipeline"].append(best_rate(pipeline, len(paths), 1))
    bare_rate, pipe_rate = max(rates["bare"]), max(rates["pipeline"])
    print(f"EfficientNet bare forward (batch 32, prepared input): {bare_rate:6.1f} images/s  runs {np.round(rates['bare'], 1).tolist()}")
    print(f"EfficientNet encode(paths) end to end:                {pipe_rate:6.1f} images/s  runs {np.round(rates['pipeline'], 1).tolist()}")
    print(f"  ratio end-to-end / bare forward (best of each):     {pipe_rate / bare_rate:6.2f}")
    started = time.perf_counter()
    for p in paths:
        load_image(p, min_side=EFFICIENTNET_RESIZE)
    print(f"  decode only: {len(paths) / (time.perf_counter() - started):.0f} images/s")

    stats = ImageStatsEncoder()
    print(f"ImageStatsEncoder: {best_rate(lambda: stats.encode(paths), len(paths), args.repeats):6.1f} images/s")

    ocr = OCREncoder()
    subset = paths[:: max(1, len(paths) // args.ocr_images)][: args.ocr_images]
    ocr.encode(subset[:1])
    started = time.perf_counter()
    texts = ocr.encode(subset)
    elapsed = time.perf_counter() - started
    with_text = sum(1 for f in texts if f.text)
    print(f"OCREncoder: {len(subset) / elapsed:6.2f} images/s ({elapsed / len(subset):.2f} s/image; {with_text}/{len(subset)} had text)")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
