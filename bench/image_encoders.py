"""Throughput of the image encoders (prints figures; no assertions).

EfficientNet, torch vs ONNX Runtime in one run: images/s of ``encode(paths)`` end to end (read,
decode, resize, crop, forward, labels) and of the bare forward pass on the same already-prepared
batches, embedding cosine and top-1 label agreement between the two. OCR and stats: images/s. Uses the MediaEval images when present, otherwise
synthesised JPEGs. Other processes share the CPU: the load average is printed, each figure is the
best of a few interleaved repetitions.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/image_encoders.py [--images 256] [--ocr-images 40] [--threads 1]
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

SHARED = Path(
    os.environ.get("POSTLENS_SHARED_DATASETS", Path(__file__).resolve().parents[1].parent / "shared" / "datasets")
)
MEDIAEVAL_IMAGES = SHARED / "mediaeval2016" / "images"


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


def compare_efficientnet_runtimes(
    paths: list[Path], threads: int, repeats: int
) -> tuple[EfficientNetEncoder, dict[str, dict[str, float]]]:
    """EfficientNet-Lite0 torch (channels-last) vs ONNX Runtime on the same images in ONE run.

    images/s of the bare forward (prepared images in the batches ``encode`` runs) and of ``encode(paths)`` end to end, in
    interleaved rounds; ratios are medians of per-round ratios. Agreement: cosine of the 1280-d
    embeddings and top-1 ImageNet label agreement, ONNX vs torch. Returns the ONNX encoder and, per
    runtime, images/s end to end and of the bare forward.
    """
    encoders = {
        runtime: EfficientNetEncoder(batch_size=32, num_threads=threads, runtime=runtime)
        for runtime in ("torch", "onnx")
    }
    for runtime, encoder in encoders.items():
        started = time.perf_counter()
        encoder.encode(paths[:2])
        print(
            f"EfficientNet {runtime}: load (+ export on a first run) + first batch {time.perf_counter() - started:.2f} s;"
            f" {type(encoder.model).__name__}, version {encoder.version}",
            flush=True,
        )
    frames = [f for p in paths for f in load_image(p, min_side=EFFICIENTNET_RESIZE, max_frames=8).frames]
    prepared = efficientnet_array(frames)
    bare_seconds: dict[str, list[float]] = {runtime: [] for runtime in encoders}
    pipe_seconds: dict[str, list[float]] = {runtime: [] for runtime in encoders}
    outputs: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for _ in range(repeats):  # interleaved so that both see the same neighbours on the CPU
        for runtime, encoder in encoders.items():
            started = time.perf_counter()
            step = encoder.forward_batch  # the batches ``encode`` runs (2 on one thread), so the ratio compares like
            parts = [encoder.forward(prepared[i : i + step]) for i in range(0, len(prepared), step)]
            bare_seconds[runtime].append(time.perf_counter() - started)
            outputs[runtime] = (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
            started = time.perf_counter()
            encoder.encode(paths)
            pipe_seconds[runtime].append(time.perf_counter() - started)
    (torch_vectors, torch_probs), (onnx_vectors, onnx_probs) = outputs["torch"], outputs["onnx"]
    cosines = (torch_vectors * onnx_vectors).sum(1) / (
        np.linalg.norm(torch_vectors, axis=1) * np.linalg.norm(onnx_vectors, axis=1)
    )
    agreement = float((torch_probs.argmax(1) == onnx_probs.argmax(1)).mean())
    print(
        f"\n| EfficientNet-Lite0 ({threads} thread(s)) | bare forward images/s | x torch | encode(paths) images/s |"
        " x torch | end-to-end / bare |"
    )
    print("|---|---|---|---|---|---|")
    figures: dict[str, dict[str, float]] = {}
    for runtime in encoders:
        figures[runtime] = {
            "images_s": len(paths) / min(pipe_seconds[runtime]),
            "bare_frames_s": len(prepared) / min(bare_seconds[runtime]),
            "end_to_end_over_bare": min(bare_seconds[runtime])
            * len(paths)
            / len(prepared)
            / min(pipe_seconds[runtime]),
        }
        bare_ratio = sorted(t / r for t, r in zip(bare_seconds["torch"], bare_seconds[runtime]))
        pipe_ratio = sorted(t / r for t, r in zip(pipe_seconds["torch"], pipe_seconds[runtime]))
        print(
            f"| {runtime} | {len(prepared) / min(bare_seconds[runtime]):.1f} | {bare_ratio[len(bare_ratio) // 2]:.2f}x |"
            f" {len(paths) / min(pipe_seconds[runtime]):.1f} | {pipe_ratio[len(pipe_ratio) // 2]:.2f}x |"
            f" {min(bare_seconds[runtime]) * len(paths) / len(prepared) / min(pipe_seconds[runtime]):.2f} |"
        )
    print(
        f"ONNX vs torch on {len(prepared)} frames: embedding cosine mean {cosines.mean():.6f} min {cosines.min():.6f};"
        f" top-1 label agreement {agreement:.3f}; load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    return encoders["onnx"], figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--ocr-images", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="threads per model")
    parser.add_argument("--efficientnet-only", action="store_true")
    args = parser.parse_args()
    paths, origin = pick_images(args.images)
    print(f"{len(paths)} images ({origin}); load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    compare_efficientnet_runtimes(paths, args.threads, args.repeats)
    if args.efficientnet_only:
        return
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
    print(
        f"OCREncoder: {len(subset) / elapsed:6.2f} images/s ({elapsed / len(subset):.2f} s/image; {with_text}/{len(subset)} had text)"
    )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
