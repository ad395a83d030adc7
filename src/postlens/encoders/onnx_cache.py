"""ONNX models exported locally from packaged weights, cached on disk and reused by later runs.

No ONNX file ships with postlens: the first use of an ONNX-backed encoder exports one from the
weights inside its registry package (torch needed then, once) and stores it under
``<cache_dir>/onnx/``. Later runs load that file straight into ONNX Runtime, without importing torch.

The file name is a key over everything that changes the bytes: the source weights' sha256, the
export settings and the torch / onnx / onnxruntime versions. Files are written under a temporary
name and renamed, with a sidecar ``.json`` holding the file's own sha256: a truncated or corrupted
file (a crash, a full disk, a bad copy) fails that check or fails to load, and is exported again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

from postlens.errors import MissingDependency

LOG = logging.getLogger(__name__)
CACHE_ENV = "POSTLENS_CACHE_DIR"
_HASH_CHUNK = 1 << 20
_hash_memo: dict[tuple[str, int, int], str] = {}
_memo_lock = threading.Lock()


def default_cache_dir() -> Path:
    """``$POSTLENS_CACHE_DIR`` or ``~/.cache/postlens`` (featurize passes ``<workspace>/cache``)."""
    configured = os.environ.get(CACHE_ENV, "").strip()
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "postlens"


def file_sha256(path: Path) -> str:
    """sha256 of a file, remembered per (path, size, mtime) for the life of the process."""
    stat = path.stat()
    memo_key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    with _memo_lock:
        if memo_key in _hash_memo:
            return _hash_memo[memo_key]
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(_HASH_CHUNK), b""):
            digest.update(block)
    with _memo_lock:
        _hash_memo[memo_key] = digest.hexdigest()
    return digest.hexdigest()


def library_versions() -> dict[str, str | None]:
    """Versions that change an exported or quantised graph (read without importing the libraries)."""
    versions: dict[str, str | None] = {}
    for name in ("torch", "onnx", "onnxruntime"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def artifact_key(sources: list[Path], settings: dict[str, Any]) -> str:
    """16 hex digits over the source weights' hashes, the export settings and library versions."""
    payload = {
        "sources": {path.name: file_sha256(path) for path in sources},
        "settings": settings,
        "versions": library_versions(),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=repr).encode()).hexdigest()[:16]


def require_onnxruntime(extra: str) -> Any:
    """``onnxruntime`` or a ``MissingDependency`` naming the extra that brings it."""
    try:
        import onnxruntime
    except ImportError as error:
        raise MissingDependency("onnxruntime", extra) from error
    return onnxruntime


@contextlib.contextmanager
def _export_lock(path: Path) -> Iterator[None]:
    """One exporter per artifact across processes (featurize's worker and the main process)."""
    try:
        import fcntl
    except ImportError:  # Windows: atomic rename alone still keeps readers safe
        yield
        return
    with path.open("a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class OnnxArtifact:
    """One exported model file: where it lives, whether it is intact, and how to (re)build it.

    ``build(destination)`` writes an ONNX file at ``destination`` (a temporary name in the same
    folder) or raises; it runs at most once per call of ``ensure``.
    """

    def __init__(
        self,
        name: str,
        sources: list[Path],
        settings: dict[str, Any],
        build: Callable[[Path], None],
        cache_dir: str | Path | None = None,
    ) -> None:
        self.name = name
        self.settings = settings
        self.build = build
        self.folder = (Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()) / "onnx"
        self.path = self.folder / f"{name}-{artifact_key(sources, settings)}.onnx"
        self.meta_path = self.path.with_suffix(".json")

    def is_intact(self) -> bool:
        """The file exists and its sha256 matches the one recorded when it was written."""
        if not self.path.is_file() or not self.meta_path.is_file():
            return False
        try:
            recorded = json.loads(self.meta_path.read_text(encoding="utf-8")).get("sha256")
        except (OSError, ValueError):
            return False
        return isinstance(recorded, str) and recorded == file_sha256(self.path)

    def ensure(self, *, force: bool = False) -> Path:
        """The path of an intact file, exporting it first when missing, corrupt or ``force``."""
        if not force and self.is_intact():
            return self.path
        self.folder.mkdir(parents=True, exist_ok=True)
        with _export_lock(self.folder / f".{self.path.stem}.lock"):
            if not force and self.is_intact():  # another process exported it while we waited
                return self.path
            return self._export()

    def _export(self) -> Path:
        handle, temp_name = tempfile.mkstemp(prefix=f".{self.path.stem}.", suffix=".onnx.tmp", dir=self.folder)
        os.close(handle)
        temp = Path(temp_name)
        started = time.perf_counter()
        try:
            self.build(temp)
            temp.chmod(0o644)  # mkstemp made it private; it holds nothing secret
            meta = {
                "sha256": file_sha256(temp),
                "settings": self.settings,
                "versions": library_versions(),
                "export_seconds": round(time.perf_counter() - started, 2),
            }
            meta_temp = temp.with_suffix(".json.tmp")
            meta_temp.write_text(json.dumps(meta, indent=1, sort_keys=True, default=repr), encoding="utf-8")
            os.replace(temp, self.path)
            os.replace(meta_temp, self.meta_path)  # written last: a file without it is never trusted
        finally:
            for leftover in (temp, temp.with_suffix(".json.tmp")):
                leftover.unlink(missing_ok=True)
        LOG.info("exported %s in %.1f s", self.path, time.perf_counter() - started)
        return self.path

    def session(self, num_threads: int, extra: str) -> Any:
        """An ONNX Runtime session on the file; a file that fails to load is exported once more."""
        ort = require_onnxruntime(extra)
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, num_threads)
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        path = self.ensure()
        try:
            return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as error:  # noqa: BLE001 - a corrupt file is rebuilt, not fatal
            LOG.warning("cached ONNX file %s does not load (%s); exporting it again", path, error)
            path = self.ensure(force=True)
            return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def onnxruntime_installed() -> bool:
    """Whether ONNX Runtime can be imported, found without importing it (cheap: versions are computed often)."""
    import importlib.util

    try:
        return importlib.util.find_spec("onnxruntime") is not None
    except (ImportError, ValueError):  # a broken or stubbed-out module entry
        return False
