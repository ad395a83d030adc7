"""Content-addressed media folder: ``media/ab/abcdef….ext``, named by the sha256 of the bytes.

The same image attached to 500 tweets is stored once; a re-import copies nothing. Files are
written to a temporary name and renamed, so a killed import never leaves a half-written file
under a real name.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from postlens.media.sniff import Sniffed, extension_agrees, sniff_file
from postlens.types import Modality

_CHUNK = 1 << 20


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


class MediaProblem(Exception):
    """A referenced media file that cannot be attached; ``code`` goes to the quarantine."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class MediaStore:
    def __init__(self, workspace_root: Path) -> None:
        self.root = workspace_root
        self.folder = workspace_root / "media"
        self._seen: dict[tuple[str, int, int], StoredMedia] = {}

    def add_file(self, source: str | Path) -> StoredMedia:
        """Copy ``source`` in (if not there yet) and describe it; raises MediaProblem."""
        src = Path(source)
        try:
            stat = src.stat()
        except FileNotFoundError:
            raise MediaProblem("media_missing", f"media file not found: {src}") from None
        except OSError as exc:
            raise MediaProblem("media_unreadable", f"cannot read media file {src}: {exc}") from None
        if not src.is_file():
            raise MediaProblem("media_missing", f"media path is not a file: {src}")
        memo_key = (str(src), stat.st_size, stat.st_mtime_ns)
        if memo_key in self._seen:
            return self._seen[memo_key]
        if stat.st_size == 0:
            raise MediaProblem("media_empty", f"media file is empty (0 bytes): {src}")
        sniffed = sniff_file(src)
        if sniffed is None:
            raise MediaProblem(
                "media_unknown_type", f"{src}: bytes are not a known image, video or audio format"
            )
        if not extension_agrees(src, sniffed):
            raise MediaProblem(
                "media_mismatch",
                f"{src}: the name says {src.suffix} but the bytes are {sniffed.mime}",
            )
        stored = self._copy_in(src, sniffed)
        self._seen[memo_key] = stored
        return stored

    def _copy_in(self, src: Path, sniffed: Sniffed) -> StoredMedia:
        digest = hashlib.sha256()
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=self.folder, prefix=".incoming-")
        size = 0
        try:
            with os.fdopen(fd, "wb") as out, src.open("rb") as handle:
                while chunk := handle.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
            sha = digest.hexdigest()
            rel = Path("media") / sha[:2] / f"{sha}{sniffed.ext}"
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
        width, height, duration = probe_dimensions(final, sniffed.kind)
        return StoredMedia(sha, rel.as_posix(), sniffed.kind, sniffed.mime, size, width, height, duration)


def probe_dimensions(path: Path, kind: Modality) -> tuple[int | None, int | None, float | None]:
    """Width, height and duration from the header only; (None, None, None) when unreadable."""
    try:
        if kind in (Modality.IMAGE, Modality.GIF):
            from PIL import Image

            with Image.open(path) as image:
                duration = None
                frames = getattr(image, "n_frames", 1)
                if frames > 1:
                    duration = frames * image.info.get("duration", 100) / 1000.0
                return image.width, image.height, duration
        import av

        with av.open(str(path)) as container:
            duration_s = container.duration / 1_000_000 if container.duration else None
            video = next(iter(container.streams.video), None)
            if video is not None:
                return video.codec_context.width, video.codec_context.height, duration_s
            return None, None, duration_s
    except Exception:  # noqa: BLE001 - a header we cannot read is reported by featurize, not here
        return None, None, None


def clear_incoming(folder: Path) -> int:
    """Remove temporary files left by a killed import."""
    removed = 0
    for leftover in folder.glob(".incoming-*"):
        leftover.unlink(missing_ok=True)
        removed += 1
    return removed

