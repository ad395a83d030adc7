"""Recipe "mediaeval2016": the MediaEval 2016 "Verifying Multimedia Use" dev set (tweets + images).

Layout (folder, or its ``posts.txt``): ``posts.txt`` is TAB separated with no quoting (split on tabs,
never csv quoting: texts hold bare quotes) with columns post_id, post_text, user_id, image_id(s),
username, timestamp, label; ``post_features.txt`` / ``user_features.txt`` are comma separated, keyed
by post_id, ``null`` = missing (small: read into dicts and joined).

Choices worth knowing:
- Text: the dump escaped tweets JSON-style (``\\n``, ``\\"``, ``\\/``); those escapes and Twitter's
  HTML entities are undone. ``raw["posts"]`` keeps the row as it was.
- Event = the image-id prefix (``sandy_fake_12`` -> ``sandy``). Labels: ``label`` (fake/real), ``event``.
- Images: the ``images/`` folder is indexed once by file stem (folders differ per event: some have
  ``fakes/``/``reals/``, some are flat). An id with a file -> ``MediaPart(kind=image, source_path=file)``.
  An id with NO file still gets a part whose ``source_path`` is where it would be (beside its
  ``<event>_<fake|real>`` siblings, no extension) so the store quarantines it as missing media.
  An id whose name contains "video" and has no file becomes a missing VIDEO part instead.
- The two ``.txt`` files in ``images/`` are not images: they are TAB tables ``id, url`` pointing to
  YouTube videos (``syrianboy_1``, ``varoufakis_1``). They are never attached as files; the ids they
  list become ``MediaPart(kind=video, url=<youtube url>)`` (a part with only a url: never downloaded).
- Engagement: ``num_retweets`` -> shares, observed at ``post_features.txt``'s modification time (the
  dataset has no collection time). Author followers/verified from ``user_features.txt``.
- ``post_features.txt`` has one stray line holding only an id (``264736470089216000``) beside that
  id's complete row: incomplete feature rows are ignored, the complete one is used.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from postlens.errors import SourceError
from postlens.sources.base import bad_encoding, open_text_lines, register, to_int
from postlens.sources.kit import file_time_utc, finish, snippet
from postlens.sources.twitter import twitter_date
from postlens.types import Author, Engagement, MediaPart, Modality, Post, Rejected, extract_entities

COLUMNS = ("post_id", "post_text", "user_id", "image_id(s)", "username", "timestamp", "label")
_ESCAPE = re.compile(r"\\([\"/\\nrt])")
_UNESCAPED = {'"': '"', "/": "/", "\\": "\\", "n": "\n", "r": "", "t": "\t"}


@register("mediaeval2016")
class MediaEval2016Recipe:
    """The MediaEval 2016 folder as labelled tweets with their images."""

    name = "mediaeval2016"

    def iter_records(self, path: Path) -> Iterator[Post | Rejected]:
        folder = path.parent if path.is_file() else path
        posts_file = folder / "posts.txt"
        if not posts_file.is_file():
            raise SourceError(f"{posts_file} not found: point the mediaeval2016 recipe at the dataset "
                              "folder that holds posts.txt, post_features.txt, user_features.txt, images/")
        post_features = read_feature_table(folder / "post_features.txt")
        user_features = read_feature_table(folder / "user_features.txt")
        images = ImageIndex(folder / "images")
        observed = file_time_utc(folder / "post_features.txt") if post_features else file_time_utc(posts_file)
        for number, text, raw in open_text_lines(posts_file):
            if text is None:
                yield bad_encoding(posts_file, number, raw)
                continue
            if number == 1 and text.startswith("post_id"):
                continue
            if not text.strip():
                continue
            fields = text.split("\t")
            if len(fields) != len(COLUMNS):
                yield Rejected(str(posts_file), number, "bad_row",
                               f"expected {len(COLUMNS)} tab-separated columns, found {len(fields)}",
                               raw=snippet(text))
                continue
            row = dict(zip(COLUMNS, fields))
            yield self._post(row, posts_file, number, post_features, user_features, images, observed)

    def _post(self, row: dict[str, str], file: Path, line: int, post_features: dict[str, dict[str, str]],
              user_features: dict[str, dict[str, str]], images: ImageIndex, observed: datetime) -> Post | Rejected:
        native_id = row["post_id"].strip()
        try:
            created = twitter_date(row["timestamp"])
        except ValueError as exc:
            return Rejected(str(file), line, "bad_date", str(exc), post_id=f"twitter:{native_id}",
                            raw=snippet(row))
        text = html.unescape(_ESCAPE.sub(lambda m: _UNESCAPED[m.group(1)], row["post_text"]))
        hashtags, mentions, urls = extract_entities(text)
        image_ids = [i.strip() for i in row["image_id(s)"].split(",") if i.strip()]
        features = post_features.get(native_id, {})
        user = user_features.get(native_id, {})
        shares = to_int(features.get("num_retweets"))
        post = Post(
            source="twitter", native_id=native_id, platform="twitter", created_at=created, text=text,
            author=Author(id=row["user_id"].strip() or None, handle=row["username"].strip() or None,
                          followers=to_int(user.get("num_followers")), verified=_bool(user.get("is_verified"))),
            hashtags=hashtags, mentions=mentions, urls=urls,
            media=[images.part(image_id) for image_id in image_ids],
            engagement=[Engagement(observed_at=observed, shares=shares, observed_inferred=True)] if shares is not None else [],
            labels={"label": row["label"].strip().lower(), "event": event_of(image_ids[0]) if image_ids else ""},
            raw={"posts": row, "post_features": features or None, "user_features": user or None},
        )
        if not post.labels["event"]:
            del post.labels["event"]
        return finish(post, file, line)


def event_of(image_id: str) -> str:
    """``sandy_fake_12`` -> ``sandy``; ``columbianChemicals_fake_05`` -> ``columbianChemicals``."""
    return image_id.split("_", 1)[0]


class ImageIndex:
    """Every file under ``images/`` by stem, built once; ``.txt`` files are read as video pointers.

    Parts carry the dataset folder as their ``root``: the store reads an image only from inside
    it. The walk does not follow symlinked folders, and a symlinked file pointing out is refused
    by the store, so no image id can make the import read a file elsewhere.
    """

    def __init__(self, root: Path, media_root: Path | None = None) -> None:
        self.root = root.absolute()
        self.media_root = str(media_root.absolute() if media_root is not None else self.root.parent)
        self.files: dict[str, Path] = {}
        self.video_urls: dict[str, str] = {}
        self.folders: dict[str, Path] = {}  # "<event>_<fake|real>" -> a folder holding such files
        if not self.root.is_dir():
            return
        for folder, dirs, names in os.walk(self.root, followlinks=False):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(names):
                file = Path(folder, name)
                if name.startswith(".") or not file.is_file():
                    continue
                if file.suffix.lower() == ".txt":
                    if _inside(os.path.realpath(file), os.path.realpath(self.media_root)):
                        self.video_urls.update(_read_pointer_file(file))  # read here: never via a link out
                    continue
                self.files.setdefault(file.stem, file)
                self.folders.setdefault(file.stem.rsplit("_", 1)[0], file.parent)

    def part(self, image_id: str) -> MediaPart:
        found = self.files.get(image_id)
        if found is not None:
            return MediaPart(kind=Modality.IMAGE, source_path=str(found), root=self.media_root)
        if image_id in self.video_urls:
            return MediaPart(kind=Modality.VIDEO, url=self.video_urls[image_id])
        expected = self.folders.get(image_id.rsplit("_", 1)[0], self.root) / image_id
        kind = Modality.VIDEO if "video" in image_id.lower() else Modality.IMAGE
        return MediaPart(kind=kind, source_path=str(expected), root=self.media_root)


def _inside(path: str, root: str) -> bool:
    return os.path.commonpath([path, root]) == root


def _read_pointer_file(file: Path) -> dict[str, str]:
    """``id<TAB>url`` lines (after an ``id url`` header) -> {id: url}; anything else is ignored."""
    pointers: dict[str, str] = {}
    for _number, text, _raw in open_text_lines(file):
        parts = (text or "").split("\t")
        if len(parts) == 2 and parts[1].strip().startswith("http"):
            pointers[parts[0].strip()] = parts[1].strip()
    return pointers


def read_feature_table(file: Path) -> dict[str, dict[str, str]]:
    """A comma(+space) separated table keyed by its first column; rows missing columns are skipped."""
    if not file.is_file():
        return {}
    table: dict[str, dict[str, str]] = {}
    header: list[str] | None = None
    for _number, text, _raw in open_text_lines(file):
        if text is None or not text.strip():
            continue
        cells = [cell.strip() for cell in text.split(",")]
        if header is None:
            header = cells
            continue
        if len(cells) != len(header):
            continue
        row = {name: value for name, value in zip(header, cells) if value != "null"}
        table.setdefault(cells[0], row)
    return table


def _bool(value: str | None) -> bool | None:
    if value is None:
        return None
    return {"true": True, "false": False}.get(value.strip().lower())
