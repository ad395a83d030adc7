"""Log-mel / MFCC features: shapes, physics (a tone lights its own band), deltas, statistics."""

from __future__ import annotations

import numpy as np

from postlens.encoders.audio import spectral
from postlens.encoders.audio.synth import tone


def test_shapes_and_frame_rate() -> None:
    spec = spectral.analyse(tone(3.0, 440.0)[0])
    assert spec.log_mel.shape == (spectral.N_MELS, 301)
    assert spec.mfcc.shape == (spectral.N_MFCC, 301)
    assert spec.hop_seconds == 0.01
    assert spectral.mfcc_statistics(spec.mfcc).shape == (spectral.MFCC_STATS_DIM,)
    assert spectral.per_second_sequence(spec).shape == (3, spectral.SEQUENCE_DIM)


def test_tone_energy_lands_in_the_right_mel_band() -> None:
    filters = spectral.mel_filterbank(16000, 512, spectral.N_MELS)
    low = spectral.analyse(tone(1.0, 300.0)[0]).log_mel.mean(axis=1).argmax()
    high = spectral.analyse(tone(1.0, 3000.0)[0]).log_mel.mean(axis=1).argmax()
    bin_hz = 16000 / 512
    assert filters[low, round(300 / bin_hz)] > 0 and filters[high, round(3000 / bin_hz)] > 0
    assert high > low + 10


def test_tone_is_tonal_and_noise_is_flat() -> None:
    noise = np.random.default_rng(0).standard_normal(16000).astype(np.float32) * 0.1
    tonal = spectral.summary(spectral.analyse(tone(1.0, 1000.0)[0]))
    flat = spectral.summary(spectral.analyse(noise))
    assert tonal["flatness_mean"] < 0.05 < 0.4 < flat["flatness_mean"]
    assert abs(tonal["centroid_hz_mean"] - 1000) < 100
    assert flat["centroid_hz_mean"] > 3000


def test_deltas_of_a_ramp_are_its_slope() -> None:
    ramp = np.tile(np.arange(50, dtype=np.float32) * 0.5, (3, 1))
    d = spectral.deltas(ramp)
    assert np.allclose(d[:, 5:-5], 0.5)
    assert np.allclose(spectral.deltas(d)[:, 10:-10], 0.0)


def test_statistics_tell_clips_apart() -> None:
    a = spectral.mfcc_statistics(spectral.analyse(tone(1.0, 300.0)[0]).mfcc)
    b = spectral.mfcc_statistics(spectral.analyse(tone(1.0, 3000.0)[0]).mfcc)
    c = spectral.mfcc_statistics(spectral.analyse(tone(1.0, 310.0)[0]).mfcc)
    assert np.linalg.norm(a - c) < np.linalg.norm(a - b)


def test_tiny_and_empty_clips_do_not_crash() -> None:
    spec = spectral.analyse(np.zeros(10, np.float32))
    assert spec.mfcc.shape[1] >= 1
    assert np.all(np.isfinite(spectral.mfcc_statistics(spec.mfcc)))
