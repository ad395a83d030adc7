"""The one gate between a media name in someone's data and an open file: confinement to a root.

A media value is hostile input: ``../../etc/passwd``, ``/etc/passwd``, ``~/..``, ``file:///etc``,
a symlink (file or folder) inside the root pointing out, a FIFO (opening one blocks forever), a
device, a folder, a name with a NUL byte, undecodable bytes or 10,000 characters. Every importer's
local media reaches a file only through :func:`confine` then :func:`open_confined` (called by
``MediaStore.add_part``), which refuse all of these with a ``MediaProblem`` (a quarantine code)
before anything outside the root is opened:

1. the name must be a non-empty path the OS can take (no NUL, encodable, within NAME_MAX/PATH_MAX);
2. the root and the candidate are resolved with ``realpath`` (no ``expanduser``): the candidate
   must lie inside the root, so no ``..`` and no symlink leads out;
3. ``lstat`` says it is a regular file no larger than the limit;
4. it is opened with ``O_NOFOLLOW | O_NONBLOCK`` and ``fstat`` must show the same inode, and the
   opened file's own path (``/proc/self/fd``) must still be inside the root: a folder swapped for a
   symlink between the checks and the open is caught.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass

from postlens.media.urls import file_url_path, is_file_url

NAME_MAX = 255  # bytes per path component (Linux, macOS)
PATH_MAX = 4096
SHOWN_CHARS = 300  # of a hostile name, in a quarantine reason
_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_NOCTTY", 0)
)
_PROC_FD = "/proc/self/fd"


class MediaProblem(Exception):
    """A referenced media file that cannot be attached; ``code`` goes to the quarantine."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Confined:
    """A file resolved inside its root and checked with ``lstat`` (not yet opened)."""

    real: str
    root: str
    size: int
    identity: tuple[int, int, int]  # (device, inode, mtime_ns): the file ``open`` must find


def shown(value: object) -> str:
    """A name quoted for a reason: printable (repr escapes NUL and lone surrogates), cut to a readable length."""
    text = value if isinstance(value, str) else str(value)
    return repr(text[:SHOWN_CHARS]) + ("…" if len(text) > SHOWN_CHARS else "")


def storable(value: object) -> str | None:
    """A name as a table can hold it: valid UTF-8 without NUL (escaped otherwise), at most PATH_MAX chars."""
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text.replace("\x00", "\\x00")[:PATH_MAX]


def local_name(source_path: object, url: object) -> str | None:
    """The local file a part names: its ``source_path``, else a ``file://`` url as a path; None if remote."""
    if source_path is not None and source_path != "":
        return source_path if isinstance(source_path, str) else os.fspath(source_path)  # type: ignore[call-overload]  # any os.PathLike; other objects raise TypeError
    if is_file_url(url):
        path = file_url_path(url)  # type: ignore[arg-type]
        if path is None:
            raise MediaProblem(
                "media_bad_name",
                f"the file URL {shown(url)} names another host; only local files under the media root are read",
            )
        return path
    return None


def confine(name: str, root: str | None, max_bytes: int, kind: str = "") -> Confined:
    """Resolve ``name`` (relative to ``root``, or absolute) inside ``root``; raises ``MediaProblem``."""
    encoded = _encodable(name)
    if root is None:
        raise MediaProblem(
            "media_no_root",
            f"local media file {shown(name)} was given without a media root; "
            "pass --media-root (files are read only from inside it)",
        )
    root_real = os.path.realpath(_decoded_root(root))
    if len(encoded) > PATH_MAX or any(len(c) > NAME_MAX for c in encoded.split(b"/")):
        raise MediaProblem("media_bad_name", f"media name {shown(name)} is longer than the system allows")
    try:
        real = os.path.realpath(os.path.join(root_real, name))  # an absolute name wins in join
    except (OSError, ValueError) as exc:
        raise MediaProblem("media_bad_name", f"media name {shown(name)} cannot be resolved: {exc}") from None
    if not _inside(real, root_real):
        raise MediaProblem(
            "media_outside_root",
            f"media {shown(name)} resolves to {shown(real)}, outside the media root {shown(root_real)}: not read",
        )
    try:
        info = os.lstat(real)
    except (FileNotFoundError, NotADirectoryError):
        raise MediaProblem("media_missing", f"media file not found: {shown(real)}") from None
    except OSError as exc:
        code = "media_bad_name" if exc.errno in (errno.ENAMETOOLONG, errno.ELOOP) else "media_unreadable"
        raise MediaProblem(code, f"cannot read media file {shown(real)}: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise MediaProblem("media_not_a_file", f"media path {shown(real)} is {_what(info.st_mode)}, not a file")
    if info.st_size == 0:
        raise MediaProblem("media_empty", f"media file is empty (0 bytes): {shown(real)}")
    check_size(info.st_size, max_bytes, real, kind)
    return Confined(real, root_real, info.st_size, (info.st_dev, info.st_ino, info.st_mtime_ns))


def open_confined(found: Confined) -> int:
    """Open a confined file without following links or blocking; the fd is the same file ``confine`` saw."""
    try:
        fd = os.open(found.real, _OPEN_FLAGS)
    except OSError as exc:
        raise MediaProblem("media_unreadable", f"cannot open media file {shown(found.real)}: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if (info.st_dev, info.st_ino, info.st_mtime_ns) != found.identity or not stat.S_ISREG(info.st_mode):
            raise MediaProblem(
                "media_changed",
                f"media file {shown(found.real)} changed while it was being "
                "opened (replaced or rewritten); run the import again",
            )
        opened = _opened_path(fd)
        if opened is not None and not _inside(opened, found.root):
            raise MediaProblem(
                "media_outside_root",
                f"media {shown(found.real)} was opened as {shown(opened)}, outside the media root {shown(found.root)}",
            )
    except BaseException:
        os.close(fd)
        raise
    return fd


def check_size(size: int, limit: int, name: str, kind: str) -> None:
    if size > limit:
        what = f"{kind} limit" if kind else "limit"
        raise MediaProblem(
            "media_too_large",
            f"media file {shown(name)} is {size:,} bytes, over the {what} "
            f"of {limit:,} bytes (raise it with --max-media-size); not copied",
        )


def _encodable(name: object) -> bytes:
    if not isinstance(name, str):
        raise MediaProblem("media_bad_name", f"media name {shown(name)} is not text")
    if not name.strip():
        raise MediaProblem("media_bad_name", "the media name is empty")
    if "\x00" in name:
        raise MediaProblem("media_bad_name", f"media name {shown(name)} contains a NUL byte")
    try:
        return os.fsencode(name)
    except UnicodeError:
        raise MediaProblem(
            "media_bad_name", f"media name {shown(name)} is not a valid file name (undecodable characters)"
        ) from None


def _decoded_root(root: object) -> str:
    text = root if isinstance(root, str) else os.fspath(root)  # type: ignore[call-overload]
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    if "\x00" in text or not text:
        raise MediaProblem("media_no_root", f"the media root {shown(text)} is not a folder name")
    return os.path.abspath(text)


def _inside(path: str, root: str) -> bool:
    """``path`` is ``root`` or below it (the root itself is then refused as a folder)."""
    return os.path.commonpath([path, root]) == root


def _opened_path(fd: int) -> str | None:
    """The path the kernel has for an open fd (Linux); None where /proc is not there."""
    try:
        return os.readlink(f"{_PROC_FD}/{fd}")
    except OSError:
        return None


def _what(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISLNK, "a symbolic link that cannot be resolved"),
    ):
        if test(mode):
            return name
    return "not a regular file"
