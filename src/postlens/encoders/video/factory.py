"""Build the default VideoPipeline from the image and audio encoders (for the encoder registry).

The injected encoders are imported here, at call time, never when postlens.encoders.video is
imported. Models still load lazily on the first video.
"""

from __future__ import annotations

import importlib.util
import warnings
from typing import Any, Literal

from postlens.encoders.video.pipeline import VideoPipeline


def build_video_pipeline(
    *,
    frames: bool = True,
    ocr: bool = True,
    audio: bool | Literal["auto"] = "auto",
    **options: Any,
) -> VideoPipeline:
    """EfficientNet-Lite0 frames (1280-d) + RapidOCR key frames + the audio pipeline (504-d when present).

    ``audio="auto"`` uses the audio encoder when the 'audio' extra is installed and warns otherwise;
    the pipeline's ``dim`` and ``version`` then say which layout was built, so cached features from
    one layout are never mixed with another. Other keyword options go to :class:`VideoPipeline`.
    """
    frame_encoder = ocr_encoder = audio_encoder = None
    if frames:
        from postlens.encoders.image.efficientnet import EfficientNetEncoder

        frame_encoder = EfficientNetEncoder()
    if ocr:
        from postlens.encoders.image.ocr import OCREncoder

        ocr_encoder = OCREncoder()
    if audio:
        audio_encoder = _audio_encoder(required=audio is True)
    return VideoPipeline(frame_encoder, ocr_encoder, audio_encoder, **options)


def _audio_encoder(*, required: bool) -> Any:
    if importlib.util.find_spec("faster_whisper") is None:
        if required:
            from postlens.errors import MissingDependency

            raise MissingDependency("faster-whisper", "audio")
        warnings.warn(
            "video: the 'audio' extra is not installed; sound tracks are skipped (pip install 'postlens[audio]')",
            stacklevel=3,
        )
        return None
    from postlens.encoders.audio.pipeline import AudioPipeline

    return AudioPipeline()
