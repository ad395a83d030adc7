"""Issue 2's and 4c's encoder figures in one command: text and image encoders, each against the bare
model forward pass, MiniLM torch fp32 vs ONNX fp32 vs ONNX int8, EfficientNet torch vs ONNX, and OCR.

    .venv/bin/python bench/encoders.py [--part all|text|minilm|image|efficientnet|ocr] [--threads 1]

``minilm`` and ``efficientnet`` run only the runtime comparisons (posts/s or images/s and their
ratio to torch in the same run, cosine to torch, TweetEval emotion macro-F1 for MiniLM).
Figures are only meaningful on an otherwise idle machine (check `uptime`): ratios measured in the
same run, in interleaved rounds, are what to quote on a shared one.
"""

import argparse
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _run import run_all

PARTS = ("all", "text", "minilm", "image", "efficientnet", "ocr")


def suite_rows(quick: bool = False) -> list[dict[str, Any]]:
    """The suite's rows: posts/s (images/s) of ``encode`` per runtime of MiniLM and EfficientNet, and its
    ratio to the bare model forward on the same pre-tokenized / pre-decoded batches (1 thread per model)."""
    from _rows import row
    from image_encoders import compare_efficientnet_runtimes, pick_images
    from text_encoders import compare_minilm_runtimes, load_texts

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    texts, origin = load_texts(500 if quick else 2000)
    _, minilm = compare_minilm_runtimes(texts, 1, 2 if quick else 3, quality=False)
    rows = []
    for runtime, f in minilm.items():
        name = f"MiniLM {runtime} ({len(texts):,} {origin.split(' ')[0]} posts)"
        rows.append(row("encoders", f"{name}: encode", f["posts_s"], "posts/s"))
        rows.append(row("encoders", f"{name}: encode / bare forward", f["posts_s"] / f["bare_posts_s"], "x"))
    paths, origin = pick_images(32 if quick else 256)
    _, efficientnet = compare_efficientnet_runtimes(paths, 1, 2 if quick else 3)
    for runtime, f in efficientnet.items():
        name = f"EfficientNet-Lite0 {runtime} ({len(paths)} {origin.split(' ')[0]} images)"
        rows.append(row("encoders", f"{name}: encode(paths)", f["images_s"], "images/s"))
        rows.append(row("encoders", f"{name}: encode / bare forward", f["end_to_end_over_bare"], "x"))
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=PARTS, default="all")
    parser.add_argument("--threads", type=int, default=1, help="threads per model (the issue's figures use 1)")
    args = parser.parse_args()
    threads = ["--threads", str(args.threads)]
    text = ("text_encoders.py", ["--n", "2000", "--e5-n", "200", *threads])
    image = ("image_encoders.py", threads)
    ocr = ("ocr.py", [])
    runs = {
        "all": [text, image, ocr],
        "text": [text],
        "minilm": [("text_encoders.py", ["--n", "2000", "--minilm-only", *threads])],
        "image": [image, ocr],
        "efficientnet": [("image_encoders.py", ["--efficientnet-only", *threads])],
        "ocr": [ocr],
    }
    run_all(runs[args.part])
