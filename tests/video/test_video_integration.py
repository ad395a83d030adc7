"""VideoPipeline with the real encoders (EfficientNet-Lite0 frames, RapidOCR, Whisper audio). Slow."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from video_synth import BLUE, RED, Segment

from postlens.encoders.base import Features
from postlens.encoders.video import VideoPipeline
from postlens.types import Modality

pytestmark = pytest.mark.slow


def _real_frame_encoder() -> Any:
    if importlib.util.find_spec("postlens.encoders.image.efficientnet") is None:
        pytest.skip("postlens.encoders.image.efficientnet is not there yet")
    from postlens.encoders.image import EfficientNetEncoder

    return EfficientNetEncoder()


class _RapidOCRAdapter:
    """Stand-in used only while the image helper's OCREncoder does not exist: same contract."""

    name, version, modality, dim = "rapidocr-test", "1", Modality.IMAGE, 0

    def __init__(self) -> None:
        from rapidocr import RapidOCR

        self.engine = RapidOCR()

    def encode(self, items: Sequence[str | Path]) -> list[Features]:
        return [Features(text="\n".join(self.engine(str(p)).txts or ())) for p in items]


def _real_ocr() -> Any:
    if importlib.util.find_spec("postlens.encoders.image.ocr") is not None:
        from postlens.encoders.image import OCREncoder

        return OCREncoder()
    if importlib.util.find_spec("rapidocr") is None:
        pytest.skip("rapidocr is not installed")
    return _RapidOCRAdapter()


def _real_audio() -> Any:
    if importlib.util.find_spec("postlens.encoders.audio.pipeline") is None:
        pytest.skip("postlens.encoders.audio is not there yet")
    from postlens.encoders.audio import AudioPipeline

    return AudioPipeline()


def test_real_encoders_on_a_captioned_video(make_video) -> None:
    path = make_video(
        "captioned.mp4",
        [Segment(3, RED, "FLOOD WARNING TONIGHT"), Segment(3, BLUE, "ROADS CLOSED NORTH")],
        size=(640, 360),
    )
    frame_encoder = _real_frame_encoder()
    pipeline = VideoPipeline(frame_encoder, _real_ocr(), _real_audio())
    [result] = pipeline.encode([path])
    assert result.error is None, result.error
    assert result.vector.shape == (pipeline.dim,) and np.isfinite(result.vector).all()
    assert result.sequence.shape[1] == frame_encoder.dim == 1280
    lines = [line.upper() for line in result.info["onscreen_text"]]
    assert any("FLOOD WARNING" in line for line in lines), lines
    assert any("ROADS CLOSED" in line for line in lines), lines
    assert len([line for line in lines if "FLOOD" in line]) == 1  # read on several frames, kept once
    assert set(result.info["timings_s"]) == {"decode", "frames", "ocr", "audio"}
