"""A trainable end-to-end waveform encoder (RawNet2-style) and cached fixed-length training crops.

The pretrained Whisper features know speech; they know little about what makes a clip go viral
(a sound, a beat, a voice). A training stage can learn that straight from the waveform with this
small network: a sinc (learnable band-pass) or plain conv front end, residual 1-D conv blocks
with max-pooling, a GRU over time, and a linear embedding. CPU-sized: ~0.3 M parameters.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

SAMPLE_RATE = 16000


class SincConv1d(nn.Module):
    """Band-pass filters parameterised only by their low cut-off and bandwidth (Ravanelli & Bengio).

    Two numbers per filter instead of ``kernel_size`` weights: it trains from few examples and
    its filters stay interpretable as frequency bands. Initialised on the mel scale.
    """

    time: torch.Tensor  # buffers (register_buffer), declared for the type checker
    window: torch.Tensor

    def __init__(
        self,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        sample_rate: int = SAMPLE_RATE,
        min_low_hz: float = 30.0,
        min_band_hz: float = 50.0,
    ):
        super().__init__()
        if kernel_size % 2 == 0:
            kernel_size += 1
        self.kernel_size, self.stride, self.sample_rate = kernel_size, stride, sample_rate
        self.min_low_hz, self.min_band_hz = min_low_hz, min_band_hz
        mel = np.linspace(_hz_to_mel(min_low_hz), _hz_to_mel(sample_rate / 2 - min_band_hz), out_channels + 1)
        hz = _mel_to_hz(mel)
        self.low_hz = nn.Parameter(torch.tensor(hz[:-1], dtype=torch.float32).unsqueeze(1))
        self.band_hz = nn.Parameter(torch.tensor(np.diff(hz), dtype=torch.float32).unsqueeze(1))
        half = kernel_size // 2
        self.register_buffer("time", torch.arange(-half, half + 1, dtype=torch.float32) / sample_rate)
        self.register_buffer("window", torch.hamming_window(kernel_size, periodic=False))

    def filters(self) -> torch.Tensor:
        low = self.min_low_hz + self.low_hz.abs()
        high = torch.clamp(low + self.min_band_hz + self.band_hz.abs(), self.min_low_hz, self.sample_rate / 2)

        def lowpass(cut: torch.Tensor) -> torch.Tensor:
            return 2 * cut * torch.special.sinc(2 * cut * self.time)

        band = (lowpass(high) - lowpass(low)) * self.window
        return (band / band.abs().amax(dim=1, keepdim=True).clamp_min(1e-8)).unsqueeze(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, 1, T) -> (B, C, T / stride)
        return strided_filter(x, self.filters(), self.stride)


class ConvFrontend(nn.Module):
    """Plain learnable FIR filters: the non-sinc front end, same shapes as SincConv1d."""

    def __init__(self, out_channels: int, kernel_size: int, stride: int = 1):
        super().__init__()
        self.stride = stride
        self.weight = nn.Parameter(torch.randn(out_channels, 1, kernel_size) / math.sqrt(kernel_size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return strided_filter(x, self.weight, self.stride)


def strided_filter(x: torch.Tensor, weight: torch.Tensor, stride: int) -> torch.Tensor:
    """conv1d(x, weight, stride, 'same' padding) as unfold + matmul.

    Same result as F.conv1d, but on CPU the backward pass of a long-kernel strided conv1d is
    very slow: a whole training step on 16 x 0.25 s took 1.2 s CPU with conv1d, 0.27 s with this.
    """
    kernel = weight.shape[-1]
    padded = F.pad(x[:, 0], (kernel // 2, kernel // 2))
    frames = padded.unfold(-1, kernel, stride)  # (B, L, K), a view
    return (frames @ weight[:, 0].T).transpose(1, 2)  # (B, C, L)


class ResidualBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, pool: int = 3):
        super().__init__()
        self.bn1 = nn.BatchNorm1d(in_channels)
        self.conv1 = nn.Conv1d(in_channels, out_channels, 3, padding=1)
        self.bn2 = nn.BatchNorm1d(out_channels)
        self.conv2 = nn.Conv1d(out_channels, out_channels, 3, padding=1)
        self.skip = nn.Conv1d(in_channels, out_channels, 1) if in_channels != out_channels else nn.Identity()
        self.pool = nn.MaxPool1d(pool)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(F.leaky_relu(self.bn1(x), 0.3))
        out = self.conv2(F.leaky_relu(self.bn2(out), 0.3))
        return self.pool(out + self.skip(x))


class RawNetEncoder(nn.Module):
    """forward(waveform (B, T) at 16 kHz) -> embedding (B, embed_dim); optional classifier head.

    Waveforms are standardised per example inside the model, so loudness does not leak in.
    """

    def __init__(
        self,
        embed_dim: int = 128,
        *,
        n_classes: int | None = None,
        frontend: str = "sinc",
        filters: int = 32,
        channels: tuple[int, ...] = (32, 64, 64, 64),
        gru_hidden: int = 128,
        frontend_kernel: int = 129,
        frontend_stride: int = 4,
    ):
        super().__init__()
        if frontend not in ("sinc", "conv"):
            raise ValueError(f"frontend must be 'sinc' or 'conv', not {frontend!r}")
        self.embed_dim = embed_dim
        self.frontend = (
            SincConv1d(filters, frontend_kernel, stride=frontend_stride)
            if frontend == "sinc"
            else ConvFrontend(filters, frontend_kernel, stride=frontend_stride)
        )
        self.frontend_norm = nn.BatchNorm1d(filters)
        blocks, width = [], filters
        for out in channels:
            blocks.append(ResidualBlock(width, out))
            width = out
        self.blocks = nn.Sequential(*blocks)
        self.gru = nn.GRU(width, gru_hidden, batch_first=True)
        self.embed = nn.Linear(gru_hidden, embed_dim)
        self.head = nn.Linear(embed_dim, n_classes) if n_classes else None

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        x = waveform.float()
        x = (x - x.mean(dim=1, keepdim=True)) / x.std(dim=1, keepdim=True).clamp_min(1e-5)
        x = self.frontend(x.unsqueeze(1))
        x = F.leaky_relu(self.frontend_norm(F.max_pool1d(x.abs(), 3)), 0.3)
        x = self.blocks(x)  # (B, C, T')
        _, hidden = self.gru(x.transpose(1, 2))
        return self.embed(hidden[-1])

    def classify(self, waveform: torch.Tensor) -> torch.Tensor:
        """Logits (B, n_classes); needs ``n_classes`` at construction."""
        if self.head is None:
            raise ValueError("RawNetEncoder was built without n_classes; no classifier head")
        return self.head(F.leaky_relu(self.forward(waveform), 0.3))


def waveform_crops(
    samples: np.ndarray, *, seconds: float = 4.0, sr: int = SAMPLE_RATE, max_crops: int = 4
) -> np.ndarray:
    """Fixed-length crops (n, seconds*sr), evenly spread over the clip; short clips are tiled.

    Tiling (repeating) a short clip keeps its real content instead of padding with silence,
    as RawNet training does.
    """
    length = int(round(seconds * sr))
    samples = np.asarray(samples, dtype=np.float32)
    if len(samples) == 0:
        raise ValueError("cannot crop an empty clip")
    if len(samples) < length:
        samples = np.tile(samples, math.ceil(length / len(samples)))[:length]
    n = max(1, min(max_crops, len(samples) // length))
    starts = np.linspace(0, len(samples) - length, n).round().astype(int)
    return np.stack([samples[s : s + length] for s in starts])


@dataclass(slots=True)
class CropResult:
    path: str
    crops: np.ndarray | None  # (n, seconds*sr) float32
    error: str | None = None


class CropCache:
    """Decode each file once and keep its training crops as .npy (float16) under ``folder``.

    Keyed by file content (sha256) and crop settings, so renamed files hit the cache and edited
    files miss it. Bad files come back with ``error`` set; the batch goes on.
    """

    def __init__(
        self, folder: str | Path, *, seconds: float = 4.0, max_crops: int = 4, max_decode_seconds: float = 120.0
    ):
        self.folder = Path(folder)
        self.seconds, self.max_crops, self.max_decode_seconds = seconds, max_crops, max_decode_seconds

    def get(self, paths: list[str | Path]) -> list[CropResult]:
        from postlens.errors import MediaError
        from postlens.media.audio import load_audio

        results = []
        self.folder.mkdir(parents=True, exist_ok=True)
        for path in paths:
            try:
                cached = self.folder / f"{self._key(Path(path))}.npy"
                if cached.exists():
                    results.append(CropResult(str(path), np.load(cached).astype(np.float32)))
                    continue
                clip = load_audio(path, max_seconds=self.max_decode_seconds)
                crops = waveform_crops(clip.samples, seconds=self.seconds, max_crops=self.max_crops)
                np.save(cached, crops.astype(np.float16))
                results.append(CropResult(str(path), crops))
            except MediaError as exc:
                results.append(CropResult(str(path), None, f"{exc.code}: {exc}"))
            except (OSError, ValueError) as exc:
                results.append(CropResult(str(path), None, f"crop_error: {path}: {exc}"))
        return results

    def _key(self, path: Path) -> str:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        digest.update(f"{self.seconds}:{self.max_crops}:{self.max_decode_seconds}".encode())
        return digest.hexdigest()[:32]


def _hz_to_mel(hz: float | np.ndarray) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + np.asarray(hz) / 700.0)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    return 700.0 * (10 ** (mel / 2595.0) - 1.0)
