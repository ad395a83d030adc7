"""Make test and benchmark media without any fixture files: tones, noise, speech, any container.

Tests must not depend on downloaded media, and the repository must not carry binary blobs,
so the audio tests and ``bench/audio.py`` synthesise what they need with PyAV and espeak-ng.
"""

from __future__ import annotations

import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np

# container suffix -> (audio codec, codec sample rate); opus only runs at 48 kHz
AUDIO_FORMATS: dict[str, tuple[str, int]] = {
    ".wav": ("pcm_s16le", 16000),
    ".mp3": ("libmp3lame", 22050),
    ".m4a": ("aac", 16000),
    ".ogg": ("libopus", 48000),
    ".opus": ("libopus", 48000),
    ".flac": ("flac", 16000),
    ".mka": ("ac3", 48000),
}
# video container suffix -> (video codec, audio codec, audio rate)
VIDEO_FORMATS: dict[str, tuple[str, str, int]] = {
    ".mp4": ("libx264", "aac", 44100),
    ".mov": ("libx264", "aac", 44100),
    ".webm": ("libvpx", "libopus", 48000),
}


def tone(seconds: float, freq: float = 440.0, sr: int = 16000, amp: float = 0.3, channels: int = 1) -> np.ndarray:
    """A sine tone shaped (channels, n) as PyAV's planar float frames want it."""
    t = np.arange(int(seconds * sr), dtype=np.float32) / sr
    wave = (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return np.repeat(wave[None, :], channels, axis=0)


def chord_music(seconds: float, sr: int = 16000, seed: int = 0) -> np.ndarray:
    """A crude 'music' signal: changing chords with a beat, mono (1, n)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    t = np.arange(n, dtype=np.float32) / sr
    out = np.zeros(n, np.float32)
    beat = int(0.5 * sr)
    for start in range(0, n, beat):
        root = rng.choice([220.0, 261.6, 293.7, 329.6, 392.0])
        seg = slice(start, min(n, start + beat))
        for ratio in (1.0, 1.26, 1.5):
            out[seg] += 0.1 * np.sin(2 * np.pi * root * ratio * t[seg])
        out[seg] *= np.exp(-3 * (t[seg] - t[start]))
    return out[None, :]


def write_audio(
    path: str | Path,
    samples: np.ndarray,
    sr: int = 16000,
    *,
    codec: str | None = None,
    rate: int | None = None,
    bit_rate: int | None = None,
) -> Path:
    """Encode float samples shaped (channels, n) into ``path``; the suffix picks the container."""
    import av

    path = Path(path)
    samples = np.atleast_2d(np.asarray(samples, dtype=np.float32))
    default_codec, default_rate = AUDIO_FORMATS.get(path.suffix.lower(), ("pcm_s16le", sr))
    codec, rate = codec or default_codec, rate or default_rate
    layout = "mono" if samples.shape[0] == 1 else "stereo"
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=rate, layout=layout)
        assert isinstance(stream, av.AudioStream)  # the codec is a name chosen at run time
        if bit_rate:
            stream.bit_rate = bit_rate
        _mux_audio(container, stream, samples, sr, layout)
    return path


def write_video(
    path: str | Path,
    seconds: float,
    audio: np.ndarray | None = None,
    sr: int = 16000,
    *,
    size: int = 64,
    fps: int = 10,
    faststart: bool = False,
) -> Path:
    """A small moving-gradient video, with ``audio`` (channels, n) as its sound track if given."""
    import av

    path = Path(path)
    vcodec, acodec, arate = VIDEO_FORMATS.get(path.suffix.lower(), VIDEO_FORMATS[".mp4"])
    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), "w", options=options) as container:
        video = container.add_stream(vcodec, rate=fps)
        assert isinstance(video, av.VideoStream)
        video.width = video.height = size
        video.pix_fmt = "yuv420p"
        astream = None
        if audio is not None:
            layout = "mono" if np.atleast_2d(audio).shape[0] == 1 else "stereo"
            astream = container.add_stream(acodec, rate=arate, layout=layout)
        for i in range(int(seconds * fps)):
            img = np.full((size, size, 3), (i * 7) % 255, np.uint8)
            img[:, : size // 2, 1] = 255 - (i * 5) % 255
            for packet in video.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
        if audio is not None and astream is not None:
            _mux_audio(container, astream, np.atleast_2d(audio).astype(np.float32), sr, layout)
    return path


def _mux_audio(container, stream, samples: np.ndarray, sr: int, layout: str) -> None:
    import av

    resampler = av.AudioResampler(
        format=stream.codec_context.format.name, layout=layout, rate=stream.codec_context.sample_rate
    )
    block = sr  # one second per input frame keeps memory flat for long files
    for start in range(0, samples.shape[1], block):
        piece = np.ascontiguousarray(samples[:, start : start + block])
        frame = av.AudioFrame.from_ndarray(piece, format="fltp", layout=layout)
        frame.sample_rate = sr
        frame.pts = start
        frame.time_base = Fraction(1, sr)
        for out in resampler.resample(frame):
            for packet in stream.encode(out):
                container.mux(packet)
    for out in resampler.resample(None):
        for packet in stream.encode(out):
            container.mux(packet)
    for packet in stream.encode(None):
        container.mux(packet)


def espeak_available() -> bool:
    return shutil.which("espeak-ng") is not None


def speak(path: str | Path, text: str, *, voice: str = "en-us", words_per_minute: int = 150) -> Path:
    """Synthesise speech with espeak-ng (Debian package ``espeak-ng``) into a WAV file."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise RuntimeError("espeak-ng is not installed: apt-get install -y espeak-ng")
    subprocess.run(
        [exe, "-v", voice, "-s", str(words_per_minute), "-w", str(path), text],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return Path(path)
