"""Media cells of a table (names, paths, ``file://`` or remote URLs) -> ``MediaPart``s with their root.

The resolver only finds names: every local part carries ``root`` (the media root, or the data
file's folder), and the store's gate (``store/media_gate.py``) opens a file only when it resolves
inside that root. So the resolver never opens a file; it ``stat``s a candidate only when the
name stays inside the root on paper, and its stem index walks the root without following
symlinked folders out of it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from postlens.media.sniff import kind_from_extension
from postlens.media.urls import file_url_path, is_file_url, is_url, url_path
from postlens.types import MediaPart, Modality

# Cell values that mean "no media" (CSV exports write them for missing cells).
NO_MEDIA = frozenset({"", "null", "none", "nan", "nat", "n/a", "na", "-"})
_RESOLVED_CACHE = 200_000  # distinct names remembered per resolver (names repeat: shared images)


class MediaResolver:
    """Turns a media cell (names, paths or URLs) into ``MediaPart``s.

    A name with no file behind it (often an id without extension, as in MediaEval) is looked up
    by stem in an index of the media root, built once per root on first need. Remote URLs become
    parts with only ``url`` (kept, never fetched); ``file://`` URLs are local names like any other.
    """

    def __init__(self, separator: str = ",", kind: str | None = None) -> None:
        self.separator = separator
        self.kind = Modality(kind) if kind else None
        self._indexes: dict[str, dict[str, str]] = {}
        self._resolved: dict[tuple[str, str], str] = {}
        self._kinds: dict[str, Modality] = {}

    def parts(self, value: Any, root: Path | str) -> list[MediaPart]:
        if _no_media(value):
            return []
        if isinstance(value, (list, tuple)):
            items = [item_name(item) for item in value]
        elif isinstance(value, dict):  # one object such as {"url": ...} (JSON cells)
            items = [item_name(value)]
        else:
            text = str(value)
            items = text.split(self.separator) if self.separator else [text]
        root_text = os.path.abspath(root)
        parts = []
        for item in items:
            item = (item or "").strip()
            if not item or item.lower() in NO_MEDIA:
                continue
            if is_file_url(item):
                local = file_url_path(item)
                if local is None:  # another host: the store's gate refuses it with a reason
                    parts.append(MediaPart(kind=self.kind_of(url_path(item)), url=item, root=root_text))
                    continue
                item = local
            elif is_url(item):
                parts.append(MediaPart(kind=self.kind_of(url_path(item)), url=item))
                continue
            path = self.resolve(item, root_text)
            parts.append(MediaPart(kind=self.kind_of(path), source_path=path, root=root_text))
        return parts

    def kind_of(self, name: str) -> Modality:
        """The forced kind, else the extension's; IMAGE when unknown (the store sniffs the bytes)."""
        if self.kind is not None:
            return self.kind
        ext = os.path.splitext(name)[1].lower()
        kind = self._kinds.get(ext)
        if kind is None:
            kind = self._kinds[ext] = kind_from_extension("x" + ext) or Modality.IMAGE
        return kind

    def resolve(self, name: str, root: str) -> str:
        """The file a name points at; one not found is returned joined to the root, for the store to judge."""
        key = (root, name)
        found = self._resolved.get(key)
        if found is None:
            path = os.path.join(root, name)  # an absolute name wins here; the store's gate refuses it
            if _inside_on_paper(path, root) and not os.path.isfile(path):
                hit = self._index(root).get(name.replace("\\", "/"))
                path = hit if hit is not None else path
            if len(self._resolved) > _RESOLVED_CACHE:
                self._resolved.clear()  # bound memory on files with millions of distinct names
            found = self._resolved[key] = path
        return found

    def _index(self, root: str) -> dict[str, str]:
        """Stem and relative path without suffix -> file, for every file under ``root``.

        ``os.walk`` does not descend into symlinked folders; a symlinked file is listed, and the
        store refuses it if it points outside the root.
        """
        index = self._indexes.get(root)
        if index is None:
            index = {}
            for folder, dirs, files in os.walk(root, followlinks=False):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for file in sorted(files):
                    full = Path(folder, file)
                    index.setdefault(full.stem, str(full))
                    index.setdefault(full.relative_to(root).with_suffix("").as_posix(), str(full))
            self._indexes[root] = index
        return index


def item_name(item: Any) -> str | None:
    """A list element of a media cell: a name, or a dict such as ``{"url": ...}`` / ``{"path": ...}``."""
    if isinstance(item, dict):
        for key in ("path", "file", "url", "media_url_https", "media_url", "src"):
            if item.get(key):
                return str(item[key])
        return None
    return None if item is None else str(item)


def _no_media(value: Any) -> bool:
    if value is None or (isinstance(value, float) and value != value):
        return True
    return isinstance(value, str) and value.strip().lower() in NO_MEDIA


def _inside_on_paper(path: str, root: str) -> bool:
    """Lexically below ``root`` (no ``..`` out, not absolute elsewhere): worth a ``stat``."""
    try:
        return os.path.commonpath([os.path.normpath(path), root]) == root
    except ValueError:
        return False
