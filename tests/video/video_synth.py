"""Synthesise small H.264 + AAC videos with known coloured segments and captions (shared by video tests)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFont


@dataclass(frozen=True)
class Segment:
    """``seconds`` of a solid ``color`` (with light noise), optionally with a caption drawn on it."""

    seconds: float
    color: tuple[int, int, int]
    caption: str | None = None


RED, BLUE, GREEN, WHITE = (220, 30, 30), (30, 30, 220), (30, 200, 60), (240, 240, 240)


def write_video(
    path: Path,
    segments: Sequence[Segment],
    *,
    fps: int = 10,
    size: tuple[int, int] = (160, 96),
    audio: bool = True,
    codec: str = "libx264",
    gop: int | None = None,
    rotation: int | None = None,
) -> Path:
    """An mp4 (or any container PyAV infers from the name) with the given segments and a 440 Hz tone."""
    rng = np.random.default_rng(0)
    font = ImageFont.load_default(size=max(10, size[1] // 6))
    container = av.open(str(path), "w")
    video = container.add_stream(codec, rate=fps)
    video.width, video.height = size
    video.pix_fmt = "yuv420p"
    if gop is not None:
        video.codec_context.gop_size = gop
        video.codec_context.options = {"sc_threshold": "0"} if codec == "libx264" else {}
    if rotation is not None:
        video.set_display_rotation(rotation)
    sound = container.add_stream("aac", rate=16000, layout="mono") if audio else None
    cache: dict[Segment, Image.Image] = {}
    for segment in segments:
        if segment not in cache:
            image = Image.new("RGB", size, segment.color)
            if segment.caption:
                draw = ImageDraw.Draw(image)
                draw.rectangle((0, size[1] * 2 // 3, size[0], size[1]), fill=(0, 0, 0))
                draw.text((6, size[1] * 2 // 3 + 4), segment.caption, fill=WHITE, font=font)
            cache[segment] = image
        base = np.asarray(cache[segment], dtype=np.int16)
        for _ in range(int(round(segment.seconds * fps))):
            noisy = np.clip(base + rng.integers(-4, 5, base.shape), 0, 255).astype(np.uint8)
            for packet in video.encode(av.VideoFrame.from_ndarray(noisy, format="rgb24")):
                container.mux(packet)
    for packet in video.encode():
        container.mux(packet)
    if sound is not None:
        _write_tone(container, sound, sum(s.seconds for s in segments))
    container.close()
    return path


def _write_tone(container: av.container.OutputContainer, stream: av.AudioStream, seconds: float) -> None:
    rate, block, done = 16000, 1024, 0
    total = int(seconds * rate)
    while done < total:
        t = np.arange(done, done + block) / rate
        samples = (0.1 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None, :]
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        frame.sample_rate, frame.pts = rate, done
        for packet in stream.encode(frame):
            container.mux(packet)
        done += block
    for packet in stream.encode():
        container.mux(packet)
