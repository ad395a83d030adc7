"""Log-mel spectrogram, MFCC + deltas and their summary statistics, in plain numpy/scipy.

librosa would do this too, but its numba start costs ~13 s per process; these few lines cost
milliseconds. Conventions follow librosa/HTK closely enough for features (not bit-exactness):
25 ms Hann windows, 10 ms hop, HTK mel scale, power spectrum, log10, orthonormal DCT-II.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

N_MELS = 64
N_MFCC = 20
MFCC_STATS_DIM = N_MFCC * 3 * 2  # (mfcc, delta, delta-delta) x (mean, std)
SEQUENCE_DIM = N_MFCC + N_MELS  # per-second MFCC and log-mel means
_EPS = 1e-10


@dataclass(slots=True)
class SpectralFeatures:
    log_mel: np.ndarray  # (n_mels, frames), log10 power
    mfcc: np.ndarray  # (n_mfcc, frames)
    frame_rms: np.ndarray  # (frames,), linear RMS per frame
    centroid_hz: np.ndarray  # (frames,)
    flatness: np.ndarray  # (frames,), 0 = tonal, 1 = noise
    hop_seconds: float


@lru_cache(maxsize=8)
def mel_filterbank(sr: int, n_fft: int, n_mels: int, fmin: float = 0.0, fmax: float | None = None) -> np.ndarray:
    """Triangular HTK-mel filters, shape (n_mels, n_fft // 2 + 1), area-normalised (Slaney)."""
    fmax = fmax or sr / 2

    def hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
        return 2595.0 * np.log10(1.0 + np.asarray(hz) / 700.0)

    def mel_to_hz(mel: np.ndarray) -> np.ndarray:
        return 700.0 * (10 ** (mel / 2595.0) - 1.0)

    edges_hz = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    bins_hz = np.linspace(0, sr / 2, n_fft // 2 + 1)
    lower, centre, upper = edges_hz[:-2, None], edges_hz[1:-1, None], edges_hz[2:, None]
    rising = (bins_hz - lower) / np.maximum(centre - lower, _EPS)
    falling = (upper - bins_hz) / np.maximum(upper - centre, _EPS)
    filters = np.maximum(0.0, np.minimum(rising, falling))
    filters *= 2.0 / (upper - lower)  # equal area, so wide high bands do not dominate
    return filters.astype(np.float32)


def _frames(samples: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """Centre-padded overlapping frames (frames, n_fft) as a strided view, no copy of the clip."""
    padded = np.pad(
        samples.astype(np.float32, copy=False),
        (n_fft // 2, n_fft // 2),
        mode="reflect" if len(samples) > n_fft // 2 else "constant",
    )
    if len(padded) < n_fft:
        padded = np.pad(padded, (0, n_fft - len(padded)))
    return np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop]


def analyse(
    samples: np.ndarray,
    sr: int = 16000,
    *,
    n_mels: int = N_MELS,
    n_mfcc: int = N_MFCC,
    win_seconds: float = 0.025,
    hop_seconds: float = 0.010,
) -> SpectralFeatures:
    """All frame-level spectral features of a mono clip in one STFT pass."""
    from scipy.fft import dct  # scipy.fft costs ~0.3 s to import: only when features are made

    win = int(round(win_seconds * sr))
    n_fft = 1 << (win - 1).bit_length()
    hop = int(round(hop_seconds * sr))
    frames = _frames(samples, n_fft, hop)
    window = np.zeros(n_fft, np.float32)
    start = (n_fft - win) // 2
    window[start : start + win] = np.hanning(win + 2)[1:-1]
    spectrum = np.fft.rfft(frames * window, axis=1)
    power = (spectrum.real**2 + spectrum.imag**2).astype(np.float32).T  # (bins, frames)
    mel = mel_filterbank(sr, n_fft, n_mels) @ power
    log_mel = np.log10(mel + _EPS)
    mfcc = dct(log_mel, type=2, axis=0, norm="ortho")[:n_mfcc]
    bins_hz = np.linspace(0, sr / 2, power.shape[0], dtype=np.float32)
    total = power.sum(axis=0) + _EPS
    centroid = (bins_hz[:, None] * power).sum(axis=0) / total
    flatness = np.exp(np.mean(np.log(power + _EPS), axis=0)) / (np.mean(power, axis=0) + _EPS)
    frame_rms = np.sqrt(np.mean(frames.astype(np.float32) ** 2, axis=1))
    return SpectralFeatures(
        log_mel.astype(np.float32),
        mfcc.astype(np.float32),
        frame_rms,
        centroid.astype(np.float32),
        flatness.astype(np.float32),
        hop / sr,
    )


def deltas(features: np.ndarray, width: int = 2) -> np.ndarray:
    """Regression deltas along time (axis 1), as in HTK: sum_n n (c[t+n] - c[t-n]) / 2 sum n^2."""
    if features.shape[1] == 0:
        return features.copy()
    padded = np.pad(features, ((0, 0), (width, width)), mode="edge")
    total = features.shape[1]
    num = sum(
        n * (padded[:, width + n : width + n + total] - padded[:, width - n : width - n + total])
        for n in range(1, width + 1)
    )
    return (num / (2 * sum(n * n for n in range(1, width + 1)))).astype(np.float32)


def mfcc_statistics(mfcc: np.ndarray) -> np.ndarray:
    """Mean and std of MFCC, delta and delta-delta per coefficient: a (120,) clip descriptor."""
    d1 = deltas(mfcc)
    d2 = deltas(d1)
    stacked = np.concatenate([mfcc, d1, d2], axis=0)
    return np.concatenate([stacked.mean(axis=1), stacked.std(axis=1)]).astype(np.float32)


def per_second_sequence(spec: SpectralFeatures) -> np.ndarray:
    """(seconds, 84) of MFCC and log-mel means per 1 s window, for temporal models."""
    per = max(1, int(round(1.0 / spec.hop_seconds)))
    stacked = np.concatenate([spec.mfcc, spec.log_mel], axis=0)
    n = max(1, stacked.shape[1] // per)
    usable = stacked[:, : n * per] if stacked.shape[1] >= per else stacked
    return usable.reshape(stacked.shape[0], n, -1).mean(axis=2).T.astype(np.float32)


def summary(spec: SpectralFeatures, digits: int = 3) -> dict[str, object]:
    """A small JSON-able description: loudness, brightness, noisiness, MFCC means."""
    rms_db = 20 * np.log10(spec.frame_rms + _EPS)
    return {
        "rms_db_mean": round(float(rms_db.mean()), digits),
        "rms_db_std": round(float(rms_db.std()), digits),
        "centroid_hz_mean": round(float(spec.centroid_hz.mean()), 1),
        "flatness_mean": round(float(spec.flatness.mean()), digits),
        "log_mel_mean": round(float(spec.log_mel.mean()), digits),
        "mfcc_mean": [round(float(v), digits) for v in spec.mfcc.mean(axis=1)],
    }
