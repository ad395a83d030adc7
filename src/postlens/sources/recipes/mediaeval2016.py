"""Recipe "mediaeval2016": the MediaEval 2016 "Verifying Multimedia Use" dev set (tweets + images).

Layout: a folder, or one posts file in it (e.g. the 2016 test set's ``posts_groundtruth.txt``, read
instead of the folder's ``posts.txt``; features and images come from the same folder). The posts file
is TAB separated with no quoting (split on tabs, never csv quoting: texts hold bare quotes);
``post_features.txt`` / ``user_features.txt`` are comma separated, keyed by post id, ``null`` =
missing (small: read into dicts and joined).

Columns are read by the header's NAMES, never by position: the releases order them differently (2016
dev: post_id, post_text, user_id, image_id(s), username, timestamp, label; 2016 test: post_id,
post_text, user_id, username, image_id, timestamp[, label]; 2015: tweetId, tweetText, userId,
imageId(s), username, timestamp, label). Any order and these spellings are accepted (``POSTS_HEADER``);
post id, text, image id(s) and timestamp are required, user id, username and label optional (the
2016 test ``posts.txt`` has no label). The recipe refuses, with a ``SourceError`` naming the file, the
columns found and the columns expected:
- a header with a column it does not know (a misspelt ``lable`` would otherwise drop every label
  silently; for other layouts use ``--format tsv --map ...``);
- a file with NO header line (its first line is data): the layouts disagree, so the order cannot be
  known; add the header line of your release.
The feature tables are found by their id column (post_id, tweet_id or tweetId); their other columns
are open-ended features, kept in raw; the recipe reads num_retweets, num_followers and is_verified.

Choices worth knowing:
- Text: the dump escaped tweets JSON-style (``\\n``, ``\\"``, ``\\/``); those escapes and Twitter's
  HTML entities are undone. ``raw["posts"]`` keeps the row as it was.
- Event = the first image id without its number and class (``sandy_fake_12`` -> ``sandy``,
  ``eclipse_video_01`` -> ``eclipse``, test set ``attacks_paris_1`` -> ``attacks_paris``).
  Labels: ``label`` (fake/real, when the file has the column), ``event``.
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
from postlens.sources.recipes.columns import HeaderSpec
from postlens.sources.twitter import twitter_date
from postlens.types import Author, Engagement, MediaPart, Modality, Post, Rejected, extract_entities

COLUMNS = ("post_id", "post_text", "user_id", "image_id(s)", "username", "timestamp", "label")
"""The 2016 dev set's order: the header line to add to a file that has none."""
POSTS_HEADER = HeaderSpec(
    "MediaEval posts file",
    {
        "post_id": ("post_id", "tweetId", "tweet_id"),
        "post_text": ("post_text", "tweetText", "tweet_text"),
        "user_id": ("user_id", "userId"),
        "image_id(s)": ("image_id(s)", "imageId(s)", "image_id", "imageId", "image_ids", "imageIds"),
        "username": ("username",),
        "timestamp": ("timestamp",),
        "label": ("label",),
    },
    required=("post_id", "post_text", "image_id(s)", "timestamp"),
    hint="Without a header line the order cannot be known (the releases differ): add your release's "
    "header line, e.g. " + "<TAB>".join(COLUMNS) + ". For another layout use the generic importer: "
    "postlens ingest FILE --format tsv --map text=<column> ...",
)
FEATURE_KEY = HeaderSpec(
    "MediaEval feature table",
    {"post_id": ("post_id", "tweet_id", "tweetId", "id")},
    required=("post_id",),
    allow_unknown=True,
)
_EVENT_SUFFIX = re.compile(r"(?:_(?:fake|real|video))?(?:_\d+)?$", re.IGNORECASE)
_ESCAPE = re.compile(r"\\([\"/\\nrt])")
_UNESCAPED = {'"': '"', "/": "/", "\\": "\\", "n": "\n", "r": "", "t": "\t"}


@register("mediaeval2016")
class MediaEval2016Recipe:
    """The MediaEval 2016 folder as labelled tweets with their images."""

    name = "mediaeval2016"

    def iter_records(self, path: Path) -> Iterator[Post | Rejected]:
        folder = path.parent if path.is_file() else path
        posts_file = path if path.is_file() else folder / "posts.txt"  # e.g. the test set's posts_groundtruth.txt
        if not posts_file.is_file():
            raise SourceError(
                f"{posts_file} not found: point the mediaeval2016 recipe at the dataset "
                "folder that holds posts.txt, post_features.txt, user_features.txt, images/"
            )
        post_features = read_feature_table(folder / "post_features.txt")
        user_features = read_feature_table(folder / "user_features.txt")
        images = ImageIndex(folder / "images")
        observed = file_time_utc(folder / "post_features.txt") if post_features else file_time_utc(posts_file)
        header: list[str] | None = None
        where: dict[str, int] = {}
        for number, text, raw in open_text_lines(posts_file):
            if text is None:
                yield bad_encoding(posts_file, number, raw)
                continue
            if not text.strip():
                continue
            fields = text.split("\t")
            if header is None:  # the first non-blank line must be a header this recipe knows
                where = POSTS_HEADER.locate(fields, posts_file)
                header = [name.lstrip("\ufeff").strip() for name in fields]
                continue
            if len(fields) != len(header):
                yield Rejected(
                    str(posts_file),
                    number,
                    "bad_row",
                    f"expected {len(header)} tab-separated columns (from the header), found {len(fields)}",
                    raw=snippet(text),
                )
                continue
            row = {name: fields[index] for name, index in where.items()}
            as_read = dict(zip(header, fields))
            yield self._post(row, as_read, posts_file, number, post_features, user_features, images, observed)
        if header is None:
            yield Rejected(str(posts_file), None, "empty_file", "the posts file is empty: nothing to import")

    def _post(
        self,
        row: dict[str, str],
        as_read: dict[str, str],
        file: Path,
        line: int,
        post_features: dict[str, dict[str, str]],
        user_features: dict[str, dict[str, str]],
        images: ImageIndex,
        observed: datetime,
    ) -> Post | Rejected:
        """``row`` is keyed by this recipe's column names; ``as_read`` by the file's (kept in raw)."""
        native_id = row["post_id"].strip()
        try:
            created = twitter_date(row["timestamp"])
        except ValueError as exc:
            return Rejected(str(file), line, "bad_date", str(exc), post_id=f"twitter:{native_id}", raw=snippet(as_read))
        text = html.unescape(_ESCAPE.sub(lambda m: _UNESCAPED[m.group(1)], row["post_text"]))
        hashtags, mentions, urls = extract_entities(text)
        image_ids = [i.strip() for i in row["image_id(s)"].split(",") if i.strip()]
        features = post_features.get(native_id, {})
        user = user_features.get(native_id, {})
        shares = to_int(features.get("num_retweets"))
        post = Post(
            source="twitter",
            native_id=native_id,
            platform="twitter",
            created_at=created,
            text=text,
            author=Author(
                id=row.get("user_id", "").strip() or None,
                handle=row.get("username", "").strip() or None,
                followers=to_int(user.get("num_followers")),
                verified=_bool(user.get("is_verified")),
            ),
            hashtags=hashtags,
            mentions=mentions,
            urls=urls,
            media=[images.part(image_id) for image_id in image_ids],
            engagement=[Engagement(observed_at=observed, shares=shares, observed_inferred=True)]
            if shares is not None
            else [],
            labels=_labels(row, image_ids),
            raw={"posts": as_read, "post_features": features or None, "user_features": user or None},
        )
        return finish(post, file, line)


def _labels(row: dict[str, str], image_ids: list[str]) -> dict[str, str]:
    """``label`` when the file has one (the 2016 test ``posts.txt`` has none) and ``event``; no empty values."""
    labels = {"label": row.get("label", "").strip().lower(), "event": event_of(image_ids[0]) if image_ids else ""}
    return {name: value for name, value in labels.items() if value}


def event_of(image_id: str) -> str:
    """The image id without its class and number: the event it belongs to.

    ``sandy_fake_12`` -> ``sandy``; ``columbianChemicals_fake_05`` -> ``columbianChemicals``;
    ``eclipse_video_01`` -> ``eclipse``; ``syrianboy_1`` -> ``syrianboy``; 2016 test set
    ``american_soldier_quran_1`` -> ``american_soldier_quran``.
    """
    return _EVENT_SUFFIX.sub("", image_id.strip()) or image_id.strip()


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
    """A comma(+space) separated table keyed by its id column (found by name, see ``FEATURE_KEY``).

    Rows missing columns are skipped (the stray id-only line). A header without an id column, or a
    file whose first line is data, raises ``SourceError``.
    """
    if not file.is_file():
        return {}
    table: dict[str, dict[str, str]] = {}
    header: list[str] | None = None
    key = 0
    for _number, text, _raw in open_text_lines(file):
        if text is None or not text.strip():
            continue
        cells = [cell.strip() for cell in text.split(",")]
        if header is None:
            key = FEATURE_KEY.locate(cells, file)["post_id"]
            header = [name.lstrip("\ufeff") for name in cells]
            header[key] = "post_id"  # one spelling for the readers below, whatever the release says
            continue
        if len(cells) != len(header):
            continue
        row = {name: value for name, value in zip(header, cells) if value != "null"}
        table.setdefault(cells[key], row)
    return table


def _bool(value: str | None) -> bool | None:
    if value is None:
        return None
    return {"true": True, "false": False}.get(value.strip().lower())
