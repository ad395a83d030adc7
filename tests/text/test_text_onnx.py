"""MiniLM through ONNX Runtime: same vectors as torch, a disk cache that is reused and repaired, torch fallback."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import numpy as np
import pytest

from postlens.encoders.base import cache_key
from postlens.encoders.onnx_cache import CACHE_ENV, OnnxArtifact, default_cache_dir
from postlens.encoders.text import onnx_runtime
from postlens.encoders.text.onnx_runtime import OnnxSentenceModel
from postlens.encoders.text.sentence import MiniLMEncoder, _TorchMiniLM
from postlens.errors import ConfigError

FALLBACK = "postlens.encoders.text.sentence"


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One export per precision for the whole module (an int8 export takes ~10-30 s here)."""
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="module")
def torch_minilm() -> MiniLMEncoder:
    return MiniLMEncoder(runtime="torch")


def _tweets(dataset, count: int) -> list[str]:  # type: ignore[no-untyped-def]
    lines = (dataset("tweeteval") / "emotion" / "val_text.txt").read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip()][:count]


def _matrix(encoder: MiniLMEncoder, texts: list[str]) -> np.ndarray:
    features = encoder.encode(texts)
    assert all(f.error is None for f in features), [f.error for f in features if f.error]
    return np.stack([f.vector for f in features])  # type: ignore[misc]


def _onnx_files(cache_dir: Path, precision: str) -> list[Path]:
    return sorted((cache_dir / "onnx").glob(f"minilm-l6-{precision}-*.onnx"))


@pytest.mark.slow
@pytest.mark.shared
def test_onnx_vectors_match_torch_on_real_tweets(  # type: ignore[no-untyped-def]
    dataset, cache_dir: Path, torch_minilm: MiniLMEncoder
) -> None:
    texts = _tweets(dataset, 300)
    reference = _matrix(torch_minilm, texts)
    fp32 = MiniLMEncoder(runtime="onnx", cache_dir=cache_dir)
    int8 = MiniLMEncoder(runtime="onnx-int8", cache_dir=cache_dir)
    assert isinstance(fp32.model, OnnxSentenceModel) and isinstance(int8.model, OnnxSentenceModel)
    fp32_cosines = (_matrix(fp32, texts) * reference).sum(axis=1)
    int8_cosines = (_matrix(int8, texts) * reference).sum(axis=1)
    assert fp32_cosines.min() >= 0.999
    # int8 moves vectors a little; its F1 cost is measured in bench/encoders.py, this bounds the drift
    assert int8_cosines.mean() >= 0.99 and int8_cosines.min() >= 0.97


@pytest.mark.slow
@pytest.mark.shared
def test_int8_vector_does_not_depend_on_the_batch(dataset, cache_dir: Path) -> None:  # type: ignore[no-untyped-def]
    texts = _tweets(dataset, 64)
    encoder = MiniLMEncoder(runtime="onnx-int8", cache_dir=cache_dir)
    in_batch = _matrix(encoder, texts)
    alone = np.stack([_matrix(encoder, [text])[0] for text in texts[:8]])
    assert np.abs(in_batch[:8] - alone).max() < 1e-4


@pytest.mark.slow
def test_cached_file_is_reused_without_exporting_again(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = MiniLMEncoder(runtime="onnx", cache_dir=cache_dir)
    expected = _matrix(first, ["reuse me", "a second post"])
    files = _onnx_files(cache_dir, "fp32")
    assert len(files) == 1 and files[0].with_suffix(".json").is_file()
    mtime = files[0].stat().st_mtime_ns

    def no_export(*args: object) -> None:
        raise AssertionError("the cached ONNX file should have been loaded, not exported again")

    monkeypatch.setattr(onnx_runtime, "export_minilm", no_export)
    second = MiniLMEncoder(runtime="onnx", cache_dir=cache_dir)
    assert isinstance(second.model, OnnxSentenceModel)
    assert np.allclose(_matrix(second, ["reuse me", "a second post"]), expected, atol=1e-6)
    assert files[0].stat().st_mtime_ns == mtime and second.version == first.version


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["flipped_bytes", "truncated", "unloadable_with_matching_hash", "no_sidecar"])
def test_corrupt_cached_file_is_exported_again(damage: str, cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reference = _matrix(MiniLMEncoder(runtime="onnx", cache_dir=cache_dir), ["repair me"])
    [path] = _onnx_files(cache_dir, "fp32")
    sidecar = path.with_suffix(".json")
    data = bytearray(path.read_bytes())
    if damage == "flipped_bytes":
        data[len(data) // 2 : len(data) // 2 + 64] = bytes(64)
        path.write_bytes(bytes(data))
    elif damage == "truncated":
        path.write_bytes(bytes(data[: len(data) // 3]))
    elif damage == "unloadable_with_matching_hash":  # passes the hash check, fails in ONNX Runtime
        path.write_bytes(b"not an onnx model")
        meta = json.loads(sidecar.read_text())
        import hashlib

        meta["sha256"] = hashlib.sha256(b"not an onnx model").hexdigest()
        sidecar.write_text(json.dumps(meta))
    else:
        sidecar.unlink()
    exports: list[Path] = []
    real_export = onnx_runtime.export_minilm

    def counting_export(model_dir: Path, destination: Path, precision: str, max_seq_length: int) -> None:
        exports.append(destination)
        real_export(model_dir, destination, precision, max_seq_length)

    monkeypatch.setattr(onnx_runtime, "export_minilm", counting_export)  # looked up when a build runs
    repaired = MiniLMEncoder(runtime="onnx", cache_dir=cache_dir)
    assert isinstance(repaired.model, OnnxSentenceModel)
    assert len(exports) == 1
    assert np.allclose(_matrix(repaired, ["repair me"]), reference, atol=1e-5)
    assert not list((cache_dir / "onnx").glob("*.tmp"))  # no temp file left behind


@pytest.mark.slow
def test_without_onnxruntime_falls_back_to_torch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, torch_minilm: MiniLMEncoder
) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime -> ImportError
    encoder = MiniLMEncoder(runtime="onnx-int8", cache_dir=tmp_path)
    with caplog.at_level(logging.WARNING, logger=FALLBACK):
        vectors = _matrix(encoder, ["falls back", "to torch"])
    warnings = [r for r in caplog.records if r.name == FALLBACK]
    assert len(warnings) == 1 and "onnxruntime" in warnings[0].getMessage() and "torch" in warnings[0].getMessage()
    assert "\n" not in warnings[0].getMessage()
    assert isinstance(encoder.model, _TorchMiniLM)
    assert encoder.version == torch_minilm.version  # the cache key says what produced the vectors
    assert np.allclose(vectors, _matrix(torch_minilm, ["falls back", "to torch"]), atol=1e-5)
    assert not _onnx_files(tmp_path, "int8")


@pytest.mark.slow
def test_failed_export_falls_back_to_torch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, torch_minilm: MiniLMEncoder
) -> None:
    def broken_export(*args: object) -> None:
        raise RuntimeError("exporter exploded\nwith a long traceback")

    monkeypatch.setattr(onnx_runtime, "export_minilm", broken_export)
    encoder = MiniLMEncoder(runtime="onnx", cache_dir=tmp_path)
    assert encoder.version != torch_minilm.version  # before loading: ONNX is what would run
    with caplog.at_level(logging.WARNING, logger=FALLBACK):
        encoder.model  # noqa: B018 - loading falls back; featurize reads the key again after loading
        assert encoder.version == torch_minilm.version
    [warning] = [r for r in caplog.records if r.name == FALLBACK]
    assert warning.getMessage() == "MiniLM runtime onnx unavailable (exporter exploded); using torch"
    assert not _onnx_files(tmp_path, "fp32") and not list((tmp_path / "onnx").glob("*.tmp"))


@pytest.mark.slow
def test_each_runtime_has_its_own_cache_version(cache_dir: Path, torch_minilm: MiniLMEncoder) -> None:
    fp32 = MiniLMEncoder(runtime="onnx", cache_dir=cache_dir)
    int8 = MiniLMEncoder(runtime="onnx-int8", cache_dir=cache_dir)
    keys = {cache_key(torch_minilm), cache_key(fp32), cache_key(int8)}
    assert len(keys) == 3
    # where the file is cached and how fast it runs do not change the vectors
    assert cache_key(MiniLMEncoder(runtime="onnx", cache_dir=cache_dir, batch_size=8, num_threads=1)) == cache_key(fp32)
    # switching the runtime of a loaded encoder reloads it and changes its version
    fp32.set_params(runtime="torch")
    assert fp32.version == torch_minilm.version and isinstance(fp32.model, _TorchMiniLM)


def test_unknown_runtime_lists_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match="onnx-int8, onnx, torch"):
        MiniLMEncoder(runtime="tensorrt")


def test_cache_dir_defaults_to_env_then_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "here"))
    assert default_cache_dir() == tmp_path / "here"
    monkeypatch.delenv(CACHE_ENV)
    assert default_cache_dir() == Path.home() / ".cache" / "postlens"


def test_artifact_key_follows_weights_and_settings(tmp_path: Path) -> None:
    weights = tmp_path / "weights.bin"
    weights.write_bytes(b"one")

    def never(destination: Path) -> None:
        raise AssertionError("not built in this test")

    base = OnnxArtifact("m", [weights], {"precision": "fp32"}, never, cache_dir=tmp_path).path
    assert OnnxArtifact("m", [weights], {"precision": "int8"}, never, cache_dir=tmp_path).path != base
    weights.write_bytes(b"two")
    assert OnnxArtifact("m", [weights], {"precision": "fp32"}, never, cache_dir=tmp_path).path != base


def test_failed_build_leaves_nothing_behind(tmp_path: Path) -> None:
    weights = tmp_path / "weights.bin"
    weights.write_bytes(b"w")

    def half_written(destination: Path) -> None:
        destination.write_bytes(b"partial")
        raise OSError("disk full")

    artifact = OnnxArtifact("m", [weights], {}, half_written, cache_dir=tmp_path)
    with pytest.raises(OSError, match="disk full"):
        artifact.ensure()
    assert not artifact.path.exists() and not artifact.is_intact()
    assert [p.name for p in (tmp_path / "onnx").iterdir() if not p.name.endswith(".lock")] == []
