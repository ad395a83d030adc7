"""Issue 2's figures: text and image encoder throughput, each against the bare model forward pass, and OCR.

    .venv/bin/python bench/encoders.py

Goals on 2 cores: text >= 300 posts/s, EfficientNet >= 30 images/s, pipeline >= 0.8x bare forward.
Figures are only meaningful on an otherwise idle machine (check `uptime`).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _run import run_all  # noqa: E402

if __name__ == "__main__":
    run_all([("text_encoders.py", ["--n", "2000", "--e5-n", "200"]), ("image_encoders.py", [])])
