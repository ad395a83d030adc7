"""Decoding: every common container/codec, mono + 16 kHz + loudness, the cap, and each bad input."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from postlens.encoders.audio.synth import AUDIO_FORMATS, VIDEO_FORMATS, tone, write_audio, write_video
from postlens.errors import MediaError, UnsupportedMedia
from postlens.media.audio import AudioClip, load_audio, normalize_loudness


def _dominant_hz(clip: AudioClip) -> float:
    spectrum = np.abs(np.fft.rfft(clip.samples))
    return float(np.argmax(spectrum) * clip.sr / len(clip.samples))


@pytest.mark.parametrize("suffix", sorted(AUDIO_FORMATS))
def test_audio_containers_round_trip(tmp_path: Path, suffix: str) -> None:
    path = write_audio(tmp_path / f"tone{suffix}", tone(2.0, 440.0, channels=2))
    clip = load_audio(path)
    assert clip.sr == 16000 and clip.samples.dtype == np.float32 and clip.samples.ndim == 1
    assert clip.channels == 2
    assert clip.original_sr == AUDIO_FORMATS[suffix][1]
    assert abs(clip.seconds - 2.0) < 0.1 and abs(clip.duration_s - 2.0) < 0.1
    assert abs(_dominant_hz(clip) - 440.0) < 5.0
    assert not clip.truncated


@pytest.mark.parametrize("suffix", sorted(VIDEO_FORMATS))
def test_video_sound_track_decodes(tmp_path: Path, suffix: str) -> None:
    path = write_video(tmp_path / f"clip{suffix}", 2.0, tone(2.0, 880.0, channels=2))
    clip = load_audio(path)
    assert abs(clip.seconds - 2.0) < 0.1
    assert abs(_dominant_hz(clip) - 880.0) < 5.0


def test_stereo_is_downmixed_and_loudness_normalised(tmp_path: Path) -> None:
    quiet = tone(2.0, 300.0, amp=0.01, channels=2)
    clip = load_audio(write_audio(tmp_path / "quiet.flac", quiet))
    rms_db = 20 * np.log10(np.sqrt(np.mean(clip.samples**2)))
    assert abs(rms_db - (-20.0)) < 1.0
    assert clip.gain_db > 20
    raw = load_audio(tmp_path / "quiet.flac", normalize=False)
    assert np.sqrt(np.mean(raw.samples**2)) < 0.02


def test_peak_limit_caps_gain_of_spiky_audio() -> None:
    samples = np.zeros(16000, np.float32)
    samples[::4000] = 0.9  # clicks: tiny RMS, big peaks
    samples += 0.001 * np.sin(np.arange(16000, dtype=np.float32))
    out, gain_db = normalize_loudness(samples, 16000)
    assert np.max(np.abs(out)) <= 0.99 + 1e-6
    assert gain_db <= 20 * np.log10(0.99 / 0.9) + 1e-6


def test_silence_is_left_alone(tmp_path: Path) -> None:
    clip = load_audio(write_audio(tmp_path / "silence.wav", np.zeros((1, 32000), np.float32)))
    assert clip.gain_db == 0.0 and np.all(clip.samples == 0)


def test_long_file_stops_decoding_at_max_seconds(tmp_path: Path) -> None:
    ten_minutes = tone(600.0, 200.0, amp=0.1)
    path = write_audio(tmp_path / "long.mp3", ten_minutes, rate=8000, bit_rate=8000)
    clip = load_audio(path, max_seconds=20.0)
    assert clip.seconds == pytest.approx(20.0, abs=0.01)
    assert clip.decoded_s < 21.0  # FFmpeg produced ~20 s, not 600 s that were then cut
    assert clip.truncated and clip.duration_s == pytest.approx(600.0, abs=1.0)


def test_offset_starts_later(tmp_path: Path) -> None:
    first = tone(5.0, 300.0)
    second = tone(5.0, 1200.0)
    path = write_audio(tmp_path / "two.flac", np.concatenate([first, second], axis=1))
    clip = load_audio(path, offset=6.0, max_seconds=3.0)
    assert clip.seconds == pytest.approx(3.0, abs=0.05)
    assert abs(_dominant_hz(clip) - 1200.0) < 10.0


def _raises(path: Path, code: str) -> MediaError:
    with pytest.raises(MediaError) as info:
        load_audio(path)
    assert info.value.code == code, str(info.value)
    assert str(path) in str(info.value)
    return info.value


def test_truncated_mp4(tmp_path: Path) -> None:
    whole = write_video(tmp_path / "whole.mp4", 3.0, tone(3.0, 440.0)).read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole[: len(whole) // 2])
    _raises(cut, "truncated")


def test_truncated_faststart_mp4_can_keep_its_start(tmp_path: Path) -> None:
    whole = write_video(tmp_path / "whole.mp4", 4.0, tone(4.0, 440.0), faststart=True).read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole[: len(whole) // 2])
    _raises(cut, "truncated")
    clip = load_audio(cut, allow_partial=True)
    kept_audio = clip.seconds  # audio length kept from the cut file, not a timing
    assert 0 < kept_audio < 4.0 and any("truncated" in w for w in clip.warnings)


def test_video_without_audio(tmp_path: Path) -> None:
    _raises(write_video(tmp_path / "mute.mp4", 1.0), "no_audio")


def test_zero_byte_and_zero_second_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp3"
    empty.write_bytes(b"")
    _raises(empty, "empty")
    zero = tmp_path / "zero.wav"
    with wave.open(str(zero), "wb") as out:
        out.setnchannels(1), out.setsampwidth(2), out.setframerate(16000)
        out.writeframes(b"")
    _raises(zero, "empty")


@pytest.mark.parametrize("suffix", [".mp3", ".ogg", ".flac"])
def test_corrupt_stream(tmp_path: Path, suffix: str) -> None:
    good = write_audio(tmp_path / f"good{suffix}", tone(2.0, 440.0)).read_bytes()
    bad = tmp_path / f"bad{suffix}"
    bad.write_bytes(good[:200] + np.random.default_rng(1).bytes(40_000))
    _raises(bad, "corrupt")


def test_unsupported_codec(tmp_path: Path) -> None:
    import struct

    data = np.zeros(16000, "<i2").tobytes()
    fmt = struct.pack("<HHIIHH", 0x1234, 1, 16000, 32000, 2, 16)  # format tag nobody decodes
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", len(data)) + data
    path = tmp_path / "odd.wav"
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    with pytest.raises(UnsupportedMedia) as info:
        load_audio(path)
    assert info.value.code == "unsupported"


def test_lying_extension_names_true_type(tmp_path: Path) -> None:
    path = tmp_path / "song.mp3"
    Image.new("RGB", (8, 8), "red").save(path, format="PNG")
    error = _raises(path, "wrong_type")
    assert "image/png" in str(error)


def test_html_page_saved_as_video(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    path.write_text("<!DOCTYPE html><html><body>404 not found</body></html>")
    _raises(path, "not_media")


def test_missing_file(tmp_path: Path) -> None:
    _raises(tmp_path / "nope.wav", "not_found")
