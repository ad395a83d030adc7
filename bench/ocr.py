"""OCR speed (issue 4c/9: goal >= 2x images/s on text-heavy images, CER <= 1% against the old output).

The old encoder (bench/_ocr_baseline.py) and the new one read the same fixed sample in one run, image by
image alternately so that both see the same load: rendered memes and screenshots (bench/_ocr_sample.py)
plus every k-th MediaEval image. "Text-heavy" = the rendered images plus the MediaEval images where the
old encoder read at least 2 lines. Run from bench/encoders.py (``--part ocr``) or alone:

    HF_HUB_OFFLINE=1 .venv/bin/python bench/ocr.py [--ocr-memes 48] [--ocr-photos 60]

From a worktree, point at the data with POSTLENS_SHARED_DATASETS=/work/shared/datasets (as the tests do).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from postlens.encoders.base import default_threads
from postlens.encoders.image import OCREncoder

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _ocr_baseline import BaselineOCR
from _ocr_sample import character_error_rate, render_memes

BESIDE_REPO = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
DATASETS = Path(os.environ.get("POSTLENS_SHARED_DATASETS", BESIDE_REPO))
MEDIAEVAL_IMAGES = DATASETS / "mediaeval2016" / "images"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ocr-memes", type=int, default=48, help="rendered meme-like images in the OCR sample")
    parser.add_argument("--ocr-photos", type=int, default=60, help="MediaEval images in the OCR sample")
    ocr_section(parser.parse_args())


def ocr_sample(args: argparse.Namespace, folder: Path) -> list[Path]:
    memes = render_memes(folder, args.ocr_memes, seed=0)
    photos: list[Path] = []
    if MEDIAEVAL_IMAGES.exists():
        every = sorted(p for p in MEDIAEVAL_IMAGES.rglob("*") if p.is_file() and p.suffix.lower() != ".txt")
        photos = every[:: max(1, len(every) // max(1, args.ocr_photos))][: args.ocr_photos]
    else:
        print("  (MediaEval images absent: rendered images only)")
    return memes + photos


def timed(encoder: OCREncoder, path: Path) -> tuple[str, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    text = encoder.encode([path])[0].text or ""
    return text, time.perf_counter() - wall, time.process_time() - cpu


def ocr_section(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="postlens-ocr-bench-") as folder:
        ocr_figures(args, ocr_sample(args, Path(folder)))


def ocr_figures(args: argparse.Namespace, sample: list[Path]) -> None:
    cores = default_threads()
    print(
        f"\nOCR: {len(sample)} images ({args.ocr_memes} rendered memes/screenshots/posters, "
        f"{len(sample) - args.ocr_memes} MediaEval); {cores} cores; load average {os.getloadavg()[0]:.2f}"
    )
    old, new = BaselineOCR(num_threads=1), OCREncoder(num_threads=1)
    for encoder in (old, new):  # load the models and warm up outside the timings
        encoder.encode(sample[:1])
        encoder.times = type(encoder.times)()
    runs: dict[str, list[tuple[str, float, float]]] = {"old": [], "new": []}
    for path in sample:  # alternate image by image: both see the same neighbours on the CPU
        runs["old"].append(timed(old, path))
        runs["new"].append(timed(new, path))
    old_texts = [text for text, _, _ in runs["old"]]
    heavy = [i for i, path in enumerate(sample) if i < args.ocr_memes or old_texts[i].count("\n") >= 1]

    def rate(name: str, rows: list[int]) -> tuple[float, float]:
        wall = sum(runs[name][i][1] for i in rows)
        cpu = sum(runs[name][i][2] for i in rows)
        return len(rows) / wall, len(rows) / cpu

    print(f"{'one thread (as the featurize worker runs it)':46s} {'old':>8s} {'new':>8s} {'ratio':>6s}")
    for label, rows in (("text-heavy images", heavy), ("all images", list(range(len(sample))))):
        (old_wall, old_cpu), (new_wall, new_cpu) = rate("old", rows), rate("new", rows)
        title = f"{label} ({len(rows)})"
        print(f"  {title:44s} {old_wall:8.2f} {new_wall:8.2f} {new_wall / old_wall:6.2f}  images/s (wall)")
        print(f"  {'':44s} {old_cpu:8.2f} {new_cpu:8.2f} {new_cpu / old_cpu:6.2f}  images per CPU-second")
    for name, encoder in (("old", old), ("new", new)):
        t = encoder.times
        print(
            f"  {name}: detection {t.detect_s:6.1f} CPU-s, recognition {t.recognise_s:6.1f} CPU-s, "
            f"{t.lines} lines; full-size re-detections {t.full_size_detections}/{t.images}"
        )
    cer, errors, chars = character_error_rate(old_texts, [text for text, _, _ in runs["new"]])
    print(f"  CER new vs old on the fixed sample: {100 * cer:.2f}% ({errors} edits / {chars} characters; goal <= 1%)")

    heavy_paths = [sample[i] for i in heavy]
    old_default, new_default = BaselineOCR(num_threads=2), OCREncoder()  # the defaults a user gets
    for encoder in (old_default, new_default):
        encoder.encode(heavy_paths[:1])
    best = {"old": float("inf"), "new": float("inf")}
    parallel_texts: list[str] = []
    for _ in range(2):  # interleaved, best of two
        for name, encoder in (("old", old_default), ("new", new_default)):
            started = time.perf_counter()
            out = encoder.encode(heavy_paths)
            best[name] = min(best[name], time.perf_counter() - started)
            if name == "new":
                parallel_texts = [f.text or "" for f in out]
    old_rate, new_rate = len(heavy_paths) / best["old"], len(heavy_paths) / best["new"]
    old_single = rate("old", heavy)[0]
    print(
        f"defaults, text-heavy images: old (2 ONNX threads) {old_rate:.2f} images/s, new ({new_default.num_threads} "
        f"image threads) {new_rate:.2f} images/s, ratio {new_rate / old_rate:.2f}"
    )
    print(
        f"  new on every core vs old on the featurize worker's one thread: {new_rate:.2f} / {old_single:.2f} = "
        f"{new_rate / old_single:.2f} (wall; meaningful only on an otherwise idle machine)"
    )
    same = parallel_texts == [runs["new"][i][0] for i in heavy]
    print(f"  new output with {new_default.num_threads} threads identical to one thread: {same}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
