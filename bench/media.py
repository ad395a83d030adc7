"""Issue 3's figures: audio (decode + VAD + ASR + embedding) and video (1 fps + key-frame OCR + audio track)
throughput in x real time, with the share of time per stage.

    .venv/bin/python bench/media.py

Goals on 2 cores: audio >= 10x real time, video >= 5x. Needs espeak-ng for the speech clips.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _run import run_all

if __name__ == "__main__":
    run_all([("audio.py", []), ("video.py", [])])
