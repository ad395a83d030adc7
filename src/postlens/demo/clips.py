"""Writers for demo media: mp4 (H.264 + AAC via PyAV), wav (stdlib ``wave``), animated GIF (Pillow).

Determinism matters more than compression here: x264 runs with ``preset=ultrafast`` and one
thread because, measured on this machine, ``veryfast`` with ``threads=1`` (mb-tree lookahead)
produced different bytes for identical input about 1 run in 12; ultrafast gave identical bytes
in 200 of 200 runs. AAC from FFmpeg's native encoder (fast coder) was identical in every run.
"""

from __future__ import annotations

import wave
from collections.abc import Iterable
from pathlib import Path

import av
import numpy as np
from PIL import Image

VIDEO_SAMPLE_RATE = 16000
WAV_SAMPLE_RATE = 16000
X264_OPTIONS = {"preset": "ultrafast", "crf": "26", "threads": "1"}
# FFmpeg's default AAC coder ("twoloop") costs ~2x the "fast" one; tones do not need it.
AAC_OPTIONS = {"aac_coder": "fast", "b": "48k"}
_AAC_FRAME = 1024


def synth_tones(
    rng: np.random.Generator,
    fundamental_hz: float,
    duration_s: float,
    sample_rate: int,
    *,
    change_at_s: float | None = None,
    second_hz: float | None = None,
) -> np.ndarray:
    """Mono float32 in [-1, 1]: a short note sequence on ``fundamental_hz`` plus light noise.

    The pitch carries the topic (see ``Topic.tone_hz``); when ``change_at_s`` is given, the
    fundamental switches to ``second_hz`` there, matching a scene change in the video.
    """
    n = int(round(duration_s * sample_rate))
    t = np.arange(n, dtype=np.float64) / sample_rate
    base = np.full(n, fundamental_hz)
    if change_at_s is not None and second_hz is not None:
        base[t >= change_at_s] = second_hz
    ratios = np.array([1.0, 1.25, 1.5, 2.0])[rng.permutation(4)]
    note_len = duration_s / 4.0
    ratio = ratios[np.minimum((t / note_len).astype(int), 3)]
    freq = base * ratio
    phase = 2 * np.pi * np.cumsum(freq) / sample_rate
    note_pos = (t % note_len) / note_len
    envelope = np.minimum(1.0, note_pos * 20) * np.minimum(1.0, (1 - note_pos) * 10)
    signal = 0.5 * np.sin(phase) + 0.15 * np.sin(2 * phase)
    signal = signal * envelope + rng.normal(0.0, 0.02, n)
    return np.clip(signal, -1.0, 1.0).astype(np.float32)


def write_wav(path: Path, samples: np.ndarray, sample_rate: int = WAV_SAMPLE_RATE) -> None:
    """16-bit mono PCM WAV with the standard library (no codec, byte-stable)."""
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm.tobytes())


def write_mp4(
    path: Path,
    frames: Iterable[Image.Image],
    audio: np.ndarray,
    *,
    fps: int,
    size: tuple[int, int],
    sample_rate: int = VIDEO_SAMPLE_RATE,
) -> None:
    """H.264 video + AAC mono audio in an mp4; frames are RGB images of ``size`` (even dimensions)."""
    width, height = size
    with av.open(str(path), "w", format="mp4") as container:
        video = container.add_stream("libx264", rate=fps, options=dict(X264_OPTIONS))
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        sound = container.add_stream("aac", rate=sample_rate, layout="mono", options=dict(AAC_OPTIONS))
        for index, image in enumerate(frames):
            frame = av.VideoFrame.from_image(image)
            frame.pts = index
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        for start in range(0, len(audio), _AAC_FRAME):
            chunk = np.ascontiguousarray(audio[start : start + _AAC_FRAME], dtype=np.float32)[None, :]
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
            frame.sample_rate = sample_rate
            frame.pts = start
            container.mux(sound.encode(frame))
        container.mux(sound.encode(None))


def write_gif(path: Path, frames: list[Image.Image], *, frame_ms: int) -> None:
    """Looping animated GIF; Pillow's palette quantisation is deterministic."""
    first, *rest = [f.convert("P", palette=Image.Palette.ADAPTIVE, colors=64) for f in frames]
    first.save(path, save_all=True, append_images=rest, duration=frame_ms, loop=0, optimize=False)
