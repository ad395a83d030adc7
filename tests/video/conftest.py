"""Video fixtures; the synthesis itself is in video_synth.py (importable by test modules)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from video_synth import BLUE, RED, Segment, write_video


@pytest.fixture
def make_video(tmp_path: Path) -> Callable[..., Path]:
    """``make_video(name, segments, **write_video options)`` -> path inside tmp_path."""

    def factory(name: str, segments: Sequence[Segment], **options: object) -> Path:
        return write_video(tmp_path / name, segments, **options)  # type: ignore[arg-type]

    return factory


@pytest.fixture
def red_blue_video(make_video: Callable[..., Path]) -> Path:
    """4 s: red for 2.5 s then blue (the cut falls between 1 fps samples), 10 fps, with audio."""
    return make_video("red_blue.mp4", [Segment(2.5, RED), Segment(1.5, BLUE)])
