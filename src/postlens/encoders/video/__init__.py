"""Video understanding: VideoPipeline (frames + on-screen text + audio) and a trainable TemporalEncoder.

TemporalEncoder needs torch; it is imported on first use so that importing the pipeline stays light.
"""

from __future__ import annotations

from typing import Any

from postlens.encoders.video.pipeline import META_FIELDS, VideoPipeline

__all__ = ["META_FIELDS", "TemporalEncoder", "VideoPipeline", "pad_sequences"]


def __getattr__(name: str) -> Any:
    if name in ("TemporalEncoder", "pad_sequences"):
        from postlens.encoders.video import temporal

        return getattr(temporal, name)
    raise AttributeError(f"module 'postlens.encoders.video' has no attribute {name!r}")
