"""Content-addressed media folder: ``media/ab/abcdef….ext``, named by the sha256 of the bytes.

The same image attached to 500 tweets is stored once; a re-import copies nothing. Files are
written to a temporary name and renamed, so a killed import never leaves a half-written file
under a real name. Every importer's local media comes in through :meth:`MediaStore.add_part`,
which confines it to the part's root first (``media_gate``): nothing outside it is opened.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from postlens.media.limits import media_limits
from postlens.media.sniff import Sniffed, extension_agrees, kind_from_extension, probe_header, sniff_bytes
from postlens.store.media_gate import (
    Confined,
    MediaProblem,
    check_size,
    confine,
    local_name,
    open_confined,
    shown,
)
from postlens.types import MediaPart, Modality

__all__ = ["MediaProblem", "MediaStore", "StoredMedia", "clear_incoming"]

_CHUNK = 1 << 20
_HEAD = 64


@dataclass(frozen=True, slots=True)
class StoredMedia:
    sha256: str
    path: str  # relative to the workspace root
    kind: Modality
    mime: str
    bytes: int
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None


class MediaStore:
    """Copies confined local media into the workspace; ``max_bytes`` overrides the per-kind size limits."""

    def __init__(self, workspace_root: Path, max_bytes: Mapping[str | Modality, int] | None = None) -> None:
        self.root = workspace_root
        self.folder = workspace_root / "media"
        self.limits = media_limits(max_bytes)
        self._largest = max(self.limits.values())
        self._seen: dict[tuple[str, tuple[int, int, int]], StoredMedia] = {}

    def add_part(self, part: MediaPart) -> StoredMedia | None:
        """Store the part's local file; None for a remote part (a URL: kept, never fetched). Raises MediaProblem."""
        name = local_name(part.source_path, part.url)
        if name is None:
            if part.url is None or part.url == "":
                raise MediaProblem("media_missing", "the media part names no file and no URL")
            return None
        return self.add_file(name, part.root)

    def add_file(self, name: str | Path, root: str | Path | None) -> StoredMedia:
        """Copy the file ``name`` (relative to ``root`` or absolute, inside it) in, once; raises MediaProblem."""
        name = os.fspath(name) if isinstance(name, Path) else name
        claimed = kind_from_extension(name) if isinstance(name, str) else None
        found = confine(
            name,
            os.fspath(root) if root is not None else None,
            self.limits[claimed] if claimed else self._largest,
            str(claimed or ""),
        )
        memo_key = (found.real, found.identity)
        if memo_key in self._seen:
            return self._seen[memo_key]
        fd = open_confined(found)
        with os.fdopen(fd, "rb", closefd=True) as handle:
            sniffed = sniff_bytes(handle.read(_HEAD))
            if sniffed is None:
                raise MediaProblem(
                    "media_unknown_type", f"{shown(found.real)}: bytes are not a known image, video or audio format"
                )
            if not extension_agrees(found.real, sniffed):
                raise MediaProblem(
                    "media_mismatch",
                    f"{shown(found.real)}: the name says {Path(found.real).suffix} but the bytes are {sniffed.mime}",
                )
            check_size(found.size, self.limits[sniffed.kind], found.real, str(sniffed.kind))
            handle.seek(0)
            stored = self._copy_in(handle, found, sniffed)
        self._seen[memo_key] = stored
        return stored

    def _copy_in(self, handle: object, found: Confined, sniffed: Sniffed) -> StoredMedia:
        """Copy while hashing (at most the limit: a file that grows is refused), probe the copy, then name it."""
        digest = hashlib.sha256()
        limit = self.limits[sniffed.kind]
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=self.folder, prefix=".incoming-", suffix=sniffed.ext)
        size = 0
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := handle.read(_CHUNK):  # type: ignore[attr-defined]
                    size += len(chunk)
                    check_size(size, limit, found.real, str(sniffed.kind))
                    digest.update(chunk)
                    out.write(chunk)
            header = probe_header(tmp_name, sniffed)  # the copy, inside the workspace: kind from its streams
            check_size(size, self.limits[header.sniffed.kind], found.real, str(header.sniffed.kind))
            sha = digest.hexdigest()
            rel = Path("media") / sha[:2] / f"{sha}{header.sniffed.ext}"
            final = self.root / rel
            if final.exists():
                os.unlink(tmp_name)
            else:
                final.parent.mkdir(exist_ok=True)
                os.replace(tmp_name, final)
        except BaseException:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)
            raise
        kind = header.sniffed
        return StoredMedia(
            sha, rel.as_posix(), kind.kind, kind.mime, size, header.width, header.height, header.duration_s
        )


def clear_incoming(folder: Path) -> int:
    """Remove temporary files left by a killed import."""
    removed = 0
    for leftover in folder.glob(".incoming-*"):
        leftover.unlink(missing_ok=True)
        removed += 1
    return removed
