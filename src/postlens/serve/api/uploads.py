"""Uploaded media, checked from their first bytes and their size before anything decodes them, then
written to the request's private folder under generated names.

The client's file name is used for two things only: its extension (the name's claim, which must agree
with the bytes, as ``postlens ingest`` requires) and the name shown in errors. It never becomes a
path: no traversal, no overwrite. The agent then puts each file through ingest's gate again
(``MediaStore.add_file``: confined, sniffed, size-limited, copied) before a decoder reads it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from postlens.media.image import _UNSUPPORTED_MIMES as UNSUPPORTED_MIMES
from postlens.media.limits import media_limits
from postlens.media.sniff import Sniffed, extension_agrees, kind_from_extension, sniff_bytes
from postlens.serve.api.problems import ApiProblem
from postlens.store.media_gate import shown, storable
from postlens.types import Modality

HEAD_BYTES = 64
COPY_CHUNK = 1 << 20
_VISUAL = {Modality.IMAGE, Modality.GIF}


@dataclass(frozen=True)
class Upload:
    """One file part of a multipart request: its stream, the client's name and declared content type."""

    stream: IO[bytes]
    filename: str
    content_type: str | None


class UploadChecker:
    """``max_media_bytes``: per-kind limits (defaults: ``postlens.media.limits``), ``max_files`` per request."""

    def __init__(self, max_media_bytes: Mapping[str, int] | None = None, max_files: int = 8) -> None:
        self.limits = media_limits(max_media_bytes)
        self.max_files = max_files

    def save_all(self, uploads: list[Upload], folder: Path) -> list[Path]:
        """Check every upload, then copy each into ``folder`` (created private) as ``upload-<n><ext>``;
        ApiProblem on the first bad one. ``display_name(upload.filename, n)`` is its name in answers."""
        if len(uploads) > self.max_files:
            raise ApiProblem(413, "too_many_files", f"{len(uploads)} files in one request; at most {self.max_files}")
        checked = [(upload, self.check(upload, i)) for i, upload in enumerate(uploads)]
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        paths = [self._copy(upload, sniffed, folder, i) for i, (upload, sniffed) in enumerate(checked)]
        for i, ((upload, sniffed), path) in enumerate(zip(checked, paths)):
            unreadable = unreadable_header(path, sniffed)
            if unreadable is not None:
                plain = display_name(upload.filename, i)
                status, code = (
                    (413, "media_too_large") if "decompression bomb" in unreadable.lower() else (422, "media_corrupt")
                )
                raise ApiProblem(
                    status,
                    code,
                    f"upload {shown(plain)}: its first bytes say {sniffed.mime} but its header "
                    f"cannot be read: {unreadable.replace(str(path), plain)}",
                    extra={"file": plain},
                )
        return paths

    def check(self, upload: Upload, position: int) -> Sniffed:
        """Sniffed type and size against the limits, from the header and the stream's length only."""
        plain = display_name(upload.filename, position)
        name = shown(plain)
        upload.stream.seek(0)
        sniffed = sniff_bytes(upload.stream.read(HEAD_BYTES))
        if sniffed is None:
            raise ApiProblem(
                415,
                "media_unknown_type",
                f"upload {name}: its bytes are not a known image, video or "
                "audio format (JPEG, PNG, GIF, WebP, BMP, TIFF, MP4, MOV, WebM, MKV, AVI, MP3, M4A, WAV, "
                "OGG, FLAC)",
                extra={"file": plain},
            )
        if not extension_agrees(f"upload{client_suffix(upload.filename)}", sniffed):
            raise ApiProblem(
                415,
                "media_mismatch",
                f"upload {name}: the name says {client_suffix(upload.filename)} but the bytes are {sniffed.mime}",
                extra={"file": plain},
            )
        if sniffed.mime in UNSUPPORTED_MIMES:  # the decoders would refuse it: say so before a model slot is taken
            raise ApiProblem(
                415, "unsupported", f"upload {name}: {UNSUPPORTED_MIMES[sniffed.mime]}", extra={"file": plain}
            )
        declared = (upload.content_type or "").split(";")[0].strip().lower()
        if _declared_disagrees(declared, sniffed):
            raise ApiProblem(
                415,
                "media_mismatch",
                f"upload {name}: declared as {declared} but the bytes are {sniffed.mime}",
                extra={"file": plain},
            )
        size = upload.stream.seek(0, os.SEEK_END)
        limit = self.limits[sniffed.kind]
        if size > limit:
            raise ApiProblem(
                413,
                "media_too_large",
                f"upload {name} is {size:,} bytes, over the {sniffed.kind} limit of {limit:,} bytes",
                extra={"file": plain},
            )
        if size == 0:
            raise ApiProblem(422, "media_empty", f"upload {name} is empty", extra={"file": plain})
        return sniffed

    def _copy(self, upload: Upload, sniffed: Sniffed, folder: Path, position: int) -> Path:
        target = folder / f"upload-{position}{client_suffix(upload.filename) or sniffed.ext}"
        upload.stream.seek(0)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        with os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(upload.stream, out, COPY_CHUNK)
        return target


def unreadable_header(path: Path, sniffed: Sniffed) -> str | None:
    """Why the file's header cannot be read (Pillow / PyAV open it lazily: no pixel or sample is decoded),
    or None. Catches a file whose magic bytes lie about the rest, and a picture too large to decode, early."""
    try:
        if sniffed.kind in _VISUAL:
            from PIL import Image

            with Image.open(path) as image:
                if image.width < 1 or image.height < 1:
                    return f"{image.width}x{image.height} pixels"
            return None
        import av

        with av.open(str(path), metadata_errors="ignore") as container:
            if not container.streams.video and not container.streams.audio:
                return "no audio or video stream"
        return None
    except Exception as exc:  # noqa: BLE001 - any reader error means the upload is not what it claims
        return f"{type(exc).__name__}: {exc}"


def private_folder() -> Path:
    """A new folder only this user can read (mode 0700), for one request's uploads."""
    return Path(tempfile.mkdtemp(prefix="postlens-api-"))


def client_suffix(filename: str | None) -> str:
    """The client's extension when it names a media kind postlens knows ('.jpg'), else ''."""
    suffix = Path((filename or "").replace("\\", "/")).suffix.lower()
    return suffix if kind_from_extension(f"x{suffix}") is not None else ""


def display_name(filename: str | None, position: int) -> str:
    """The client's file name without any folder (as the answer shows it), or ``#<n>`` when it gave none."""
    base = storable(Path((filename or "").replace("\\", "/")).name) or ""
    return base if base.strip() else f"#{position + 1}"


def _declared_disagrees(declared: str, sniffed: Sniffed) -> bool:
    """A declared image/* for sound or video, or audio/* / video/* for a picture (audio vs video containers
    are not told apart from the header: a .mp4 may hold only sound)."""
    major = declared.partition("/")[0]
    if major == "image":
        return sniffed.kind not in _VISUAL
    if major in ("audio", "video"):
        return sniffed.kind in _VISUAL
    return False
