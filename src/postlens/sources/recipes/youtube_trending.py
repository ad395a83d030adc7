"""Recipe "youtube-trending": Kaggle "Trending YouTube Video Statistics" (GBvideos.csv and kin).

One post per video, one engagement snapshot per day it trended. The CSV is streamed, but rows are
grouped by ``video_id`` in memory (about 3 MB for GB: fine for this recipe) and posts are yielded
after each file, in order of first appearance.

Choices worth knowing:
- ``date`` is ``DD.MM`` with no year; the data is from 2017 (``year=`` to override). A snapshot is
  observed at that day 00:00 UTC: views, likes, ``comment_total`` -> comments; dislikes stay in raw.
- Title, channel, category, tags and thumbnail change between days for some videos: the post takes
  the LATEST day's values; every row stays in ``raw["rows"]``.
- Text = the title. Tags (``|`` separated, quotes stripped, ``[none]`` = no tags) go to ``hashtags``
  after any ``#tags`` in the title: they are the uploader's topical keywords, which is what
  downstream code reads hashtags for; ``raw["tags"]`` keeps them apart as well.
- ``created_at`` is None: the file has no publish time, and the first trending day is not one.
- ``channel_title`` -> author handle; ``category_id`` -> ``labels["category_id"]``;
  ``thumbnail_link`` -> ``MediaPart(kind=image, url=...)``.
- Dirty rows: in GBvideos.csv two physical lines each hold TWO records glued together (the newline
  between them is missing, so the date cell reads ``24.09l7yxJDFvTRM``). They are split back into
  their records, so that file gives 7,997 snapshots from 7,995 lines. Any other row with the wrong
  number of cells, a bad date or undecodable bytes becomes a ``Rejected`` (never dropped silently).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from postlens.errors import SourceError
from postlens.sources.base import register, to_int
from postlens.sources.kit import finish, iter_files, snippet
from postlens.types import Author, Engagement, MediaPart, Modality, Post, Rejected, extract_entities

COLUMNS = ("video_id", "title", "channel_title", "category_id", "tags", "views", "likes", "dislikes",
           "comment_total", "thumbnail_link", "date")
_GLUED_DATE = re.compile(r"^(\d{1,2}\.\d{1,2})(\S+)$")
_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})$")


@register("youtube-trending")
class YoutubeTrendingRecipe:
    """Trending-videos CSVs as one post per video with a snapshot per trending day."""

    name = "youtube-trending"

    def __init__(self, year: int = 2017) -> None:
        self.year = year

    def iter_records(self, path: Path) -> Iterator[Post | Rejected]:
        if not path.exists():
            raise SourceError(f"{path} does not exist; point the recipe at GBvideos.csv or its folder")
        files = [path] if path.is_file() else list(iter_files(path, ("videos.csv",)))
        if not files:
            raise SourceError(f"no *videos.csv file under {path}")
        for file in files:
            yield from self._file(file)

    def _file(self, file: Path) -> Iterator[Post | Rejected]:
        videos: dict[str, list[tuple[int, datetime, dict[str, str]]]] = {}
        for line, row in self._rows(file):
            if isinstance(row, Rejected):
                yield row
                continue
            moment = self._date(row["date"])
            if moment is None:
                yield Rejected(str(file), line, "bad_date", f"date {row['date']!r} is not DD.MM",
                               post_id=f"youtube:{row['video_id']}", raw=snippet(row))
                continue
            if not row["video_id"].strip():
                yield Rejected(str(file), line, "missing_id", "the row has no video_id", raw=snippet(row))
                continue
            videos.setdefault(row["video_id"].strip(), []).append((line, moment, row))
        for video_id, rows in videos.items():
            yield self._post(video_id, rows, file)

    def _rows(self, file: Path) -> Iterator[tuple[int, dict[str, str] | Rejected]]:
        """(line, row dict) for each record, splitting glued records; bad rows as Rejected."""
        try:
            handle = file.open("r", encoding="utf-8", errors="surrogateescape", newline="")
        except OSError as exc:
            raise SourceError(f"cannot open {file}: {exc.strerror or exc}") from exc
        with handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                yield 1, Rejected(str(file), None, "empty_file", "the file is empty: nothing to import")
                return
            if tuple(h.strip() for h in header) != COLUMNS:
                raise SourceError(f"{file}: expected columns {', '.join(COLUMNS)}; found {', '.join(header)}")
            for cells in reader:
                line = reader.line_num
                if not cells or not any(c.strip() for c in cells):
                    continue
                if any(_has_surrogates(c) for c in cells):
                    yield line, Rejected(str(file), line, "bad_encoding",
                                         "row is not valid UTF-8; re-encode the file as UTF-8",
                                         raw=snippet(",".join(cells).encode("utf-8", "surrogateescape")))
                    continue
                for record in _split_glued(cells):
                    if len(record) != len(COLUMNS):
                        yield line, Rejected(str(file), line, "bad_row",
                                             f"expected {len(COLUMNS)} cells, found {len(record)}",
                                             raw=snippet(cells))
                        break
                    yield line, dict(zip(COLUMNS, record))

    def _date(self, text: str) -> datetime | None:
        match = _DATE.match(text.strip())
        if match is None:
            return None
        try:
            return datetime(self.year, int(match[2]), int(match[1]), tzinfo=timezone.utc)
        except ValueError:
            return None

    def _post(self, video_id: str, rows: list[tuple[int, datetime, dict[str, str]]], file: Path) -> Post | Rejected:
        rows.sort(key=lambda item: item[1])
        first_line, _first_moment, _first = rows[0]
        latest = rows[-1][2]
        tags = split_tags(latest["tags"])
        title_tags, mentions, urls = extract_entities(latest["title"])
        hashtags = list(dict.fromkeys(title_tags + tags))
        thumbnail = latest["thumbnail_link"].strip()
        raw: dict[str, Any] = {"rows": [row for _line, _moment, row in rows], "tags": tags,
                               "lines": [line for line, _moment, _row in rows]}
        post = Post(
            source="youtube", native_id=video_id, platform="youtube", created_at=None,
            text=latest["title"].strip(),
            author=Author(handle=latest["channel_title"].strip() or None),
            hashtags=hashtags, mentions=mentions, urls=urls,
            media=[MediaPart(kind=Modality.IMAGE, url=thumbnail)] if thumbnail.startswith("http") else [],
            engagement=[Engagement(observed_at=moment, views=to_int(row["views"]), likes=to_int(row["likes"]),
                                   comments=to_int(row["comment_total"])) for _line, moment, row in rows],
            labels={"category_id": latest["category_id"].strip()} if latest["category_id"].strip() else {},
            raw=raw,
        )
        return finish(post, file, first_line, f"video {video_id}")


def split_tags(cell: str) -> list[str]:
    """``a|"b c"|d`` -> ["a", "b c", "d"]; ``[none]`` -> []."""
    tags = [tag.strip().strip('"').strip() for tag in cell.split("|")]
    return [tag for tag in dict.fromkeys(tags) if tag and tag != "[none]"]


def _split_glued(cells: list[str]) -> Iterator[list[str]]:
    """Split a row holding several records whose newline was lost (``...,24.09<next video_id>,...``)."""
    width = len(COLUMNS)
    while len(cells) > width and (glued := _GLUED_DATE.match(cells[width - 1])) is not None:
        yield cells[:width - 1] + [glued[1]]
        cells = [glued[2]] + cells[width:]
    yield cells


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
