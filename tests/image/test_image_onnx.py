"""EfficientNet-Lite0 through ONNX Runtime: same embeddings and labels as torch, cached export, torch fallback."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import numpy as np
import pytest
from _image_fixtures import draw_clock, draw_crossword

from postlens.encoders.base import cache_key
from postlens.encoders.image import efficientnet_onnx
from postlens.encoders.image.efficientnet import EfficientNetEncoder
from postlens.encoders.image.efficientnet_onnx import OnnxEfficientNet
from postlens.errors import ConfigError

FALLBACK = "postlens.encoders.image.efficientnet"


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("images")
    paths = [folder / "clock.png", folder / "crossword.jpg"]
    draw_clock().save(paths[0])
    draw_crossword().save(paths[1], quality=92)
    return paths


def _real_images(dataset, count: int) -> list[Path]:  # type: ignore[no-untyped-def]
    folder = dataset("mediaeval2016") / "images"
    found = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in {".jpg", ".jpeg", ".png"})
    return found[:count]


def _vectors(encoder: EfficientNetEncoder, paths: list[Path]) -> tuple[np.ndarray, list[int]]:
    features = [f for f in encoder.encode(paths) if f.error is None]
    return np.stack([f.vector for f in features]), [f.info["labels"][0]["index"] for f in features]  # type: ignore[misc]


@pytest.mark.slow
@pytest.mark.shared
def test_onnx_matches_torch_on_real_images(dataset, images: list[Path], cache_dir: Path) -> None:  # type: ignore[no-untyped-def]
    paths = images + _real_images(dataset, 24)
    onnx_encoder = EfficientNetEncoder(cache_dir=cache_dir)
    assert isinstance(onnx_encoder.model, OnnxEfficientNet)
    onnx_vectors, onnx_labels = _vectors(onnx_encoder, paths)
    torch_vectors, torch_labels = _vectors(EfficientNetEncoder(runtime="torch"), paths)
    cosines = (onnx_vectors * torch_vectors).sum(1) / (
        np.linalg.norm(onnx_vectors, axis=1) * np.linalg.norm(torch_vectors, axis=1)
    )
    assert len(cosines) == len(paths) and cosines.min() >= 0.999
    assert onnx_labels == torch_labels
    assert onnx_labels[1] == 918  # the drawn crossword is still a crossword puzzle


@pytest.mark.slow
def test_cached_export_is_reused(images: list[Path], cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, _ = _vectors(EfficientNetEncoder(cache_dir=cache_dir), images)
    assert len(list((cache_dir / "onnx").glob("efficientnet-lite0-fp32-*.onnx"))) == 1

    def no_export(destination: Path) -> None:
        raise AssertionError("the cached file should have been loaded")

    monkeypatch.setattr(efficientnet_onnx, "export_efficientnet", no_export)  # read when a new encoder loads
    second = EfficientNetEncoder(cache_dir=cache_dir)
    again, _ = _vectors(second, images)
    assert isinstance(second.model, OnnxEfficientNet) and np.allclose(first, again, atol=1e-5)


@pytest.mark.slow
def test_without_onnxruntime_falls_back_to_torch(
    images: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    encoder = EfficientNetEncoder(cache_dir=tmp_path)
    with caplog.at_level(logging.WARNING, logger=FALLBACK):
        vectors, labels = _vectors(encoder, images)
    [warning] = [r for r in caplog.records if r.name == FALLBACK]
    assert "onnxruntime" in warning.getMessage() and warning.getMessage().endswith("using torch")
    assert not isinstance(encoder.model, OnnxEfficientNet)
    assert encoder.version == EfficientNetEncoder(runtime="torch").version
    assert vectors.shape == (2, 1280) and labels[1] == 918


@pytest.mark.slow
def test_version_follows_runtime_and_settings(cache_dir: Path) -> None:
    torch_version = EfficientNetEncoder(runtime="torch").version
    assert EfficientNetEncoder(runtime="torch", top_k=3).version != torch_version
    assert EfficientNetEncoder(runtime="torch", batch_size=4, num_threads=1).version == torch_version
    assert cache_key(EfficientNetEncoder(cache_dir=cache_dir)) != cache_key(EfficientNetEncoder(runtime="torch"))


def test_unknown_runtime_lists_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match="onnx, torch"):
        EfficientNetEncoder(runtime="openvino")
