"""The trainable waveform encoder learns, and training crops are fixed-length and cached."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from postlens.encoders.audio.rawnet import CropCache, RawNetEncoder, SincConv1d, waveform_crops
from postlens.encoders.audio.synth import tone, write_audio


def _tones(rng: np.random.Generator, n: int, low: float, high: float, samples: int) -> np.ndarray:
    t = np.arange(samples) / 16000
    freqs = rng.uniform(low, high, size=(n, 1))
    amps = rng.uniform(0.1, 1.0, size=(n, 1))
    waves = amps * np.sin(2 * np.pi * freqs * t + rng.uniform(0, 6, size=(n, 1)))
    return (waves + 0.05 * rng.standard_normal(waves.shape)).astype(np.float32)


@pytest.mark.parametrize("frontend", ["sinc", "conv"])
def test_a_few_steps_on_two_tone_classes_reduce_the_loss(frontend: str) -> None:
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    samples = 4000  # 0.25 s keeps the test quick; 4 s crops work the same way
    x = torch.from_numpy(np.concatenate([_tones(rng, 8, 150, 400, samples), _tones(rng, 8, 1500, 3000, samples)]))
    y = torch.tensor([0] * 8 + [1] * 8)
    model = RawNetEncoder(32, n_classes=2, frontend=frontend, channels=(16, 32, 32), gru_hidden=32)
    optimiser = torch.optim.Adam(model.parameters(), lr=2e-3)
    losses = []
    for _ in range(8):
        optimiser.zero_grad()
        loss = F.cross_entropy(model.classify(x), y)
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert np.mean(losses[-2:]) < 0.7 * np.mean(losses[:2]), losses


def test_forward_shape_and_gain_invariance() -> None:
    torch.manual_seed(0)
    model = RawNetEncoder(48).eval()
    x = torch.randn(3, 8000)
    with torch.no_grad():
        out = model(x)
        louder = model(x * 10)
    assert out.shape == (3, 48)
    assert torch.allclose(out, louder, atol=1e-4)
    with pytest.raises(ValueError):
        model.classify(x)


def test_sinc_filters_are_band_passes() -> None:
    conv = SincConv1d(8, 129)
    filters = conv.filters().detach().numpy()[:, 0]
    response = np.abs(np.fft.rfft(filters, 1024, axis=1))
    peaks_hz = response.argmax(axis=1) * 16000 / 1024
    assert np.all(np.diff(peaks_hz) >= 0)  # mel-spaced, low to high
    peaks = response.max(axis=1)
    assert np.all(response[1:, 0] < 0.1 * peaks[1:])  # band-passes: above the lowest band, no DC


def test_crops_are_fixed_length_and_short_clips_tile() -> None:
    long = waveform_crops(np.arange(16000 * 20, dtype=np.float32), seconds=4.0, max_crops=3)
    assert long.shape == (3, 64000)
    assert long[0, 0] == 0 and long[-1, -1] == 16000 * 20 - 1  # spread over the whole clip
    short = waveform_crops(np.arange(1000, dtype=np.float32), seconds=0.5)
    assert short.shape == (1, 8000) and short[0, 1000] == 0  # repeated, not zero-padded
    with pytest.raises(ValueError):
        waveform_crops(np.zeros(0, np.float32))


def test_crop_cache_reuses_results_and_reports_bad_files(tmp_path: Path) -> None:
    good = write_audio(tmp_path / "a.flac", tone(5.0, 440.0))
    bad = tmp_path / "b.mp3"
    bad.write_text("<html>not audio</html>")
    cache = CropCache(tmp_path / "cache", seconds=2.0, max_crops=2)
    first = cache.get([good, bad])
    assert first[0].crops is not None and first[0].crops.shape == (2, 32000)
    assert first[1].crops is None and first[1].error.startswith("not_media")
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 1
    again = cache.get([good])
    assert np.allclose(again[0].crops, first[0].crops, atol=1e-3)
