"""Issue 2's and 4c's encoder figures in one command: text and image encoders, each against the bare
model forward pass, MiniLM torch fp32 vs ONNX fp32 vs ONNX int8, EfficientNet torch vs ONNX, and OCR.

    .venv/bin/python bench/encoders.py [--part all|text|minilm|image|efficientnet|ocr] [--threads 1]

``minilm`` and ``efficientnet`` run only the runtime comparisons (posts/s or images/s and their
ratio to torch in the same run, cosine to torch, TweetEval emotion macro-F1 for MiniLM).
Figures are only meaningful on an otherwise idle machine (check `uptime`): ratios measured in the
same run, in interleaved rounds, are what to quote on a shared one.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _run import run_all  # noqa: E402

PARTS = ("all", "text", "minilm", "image", "efficientnet", "ocr")

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
