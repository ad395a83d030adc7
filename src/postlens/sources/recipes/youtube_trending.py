"""Recipe "youtube-trending": Kaggle "Trending YouTube Video Statistics" (GBvideos.csv and kin).

One post per video, one engagement snapshot per day it trended. The CSV is streamed, but rows are
grouped by ``video_id`` in memory (about 3 MB for GB: fine for this recipe) and posts are yielded
after each file, in order of first appearance.

Columns are read by the header's NAMES, in any order (``HEADER``): the 2017 release (GBvideos.csv:
video_id, title, channel_title, category_id, tags, views, likes, dislikes, comment_total,
thumbnail_link, date) and the later Kaggle release (trending_date, publish_time, comment_count,
comments_disabled, ratings_disabled, video_error_or_removed, description) are both known. video_id,
title and the date are required. A header with a column the recipe does not know, or a file whose
first line is data, is refused with a ``SourceError`` naming the file, the columns found and the
columns expected (an unknown layout is never guessed; use ``--format csv --map ...`` for others).

Choices worth knowing:
- ``date`` is ``DD.MM`` with no year; the data is from 2017 (``year=`` to override). The later
  release's ``trending_date`` is ``YY.DD.MM`` (``17.14.11`` = 14 Nov 2017). A snapshot is
  observed at that day 00:00 UTC: views, likes, ``comment_total`` -> comments; dislikes stay in raw.
- Title, channel, category, tags and thumbnail change between days for some videos: the post takes
  the LATEST day's values; every row stays in ``raw["rows"]``.
- Text = the title. Tags (``|`` separated, quotes stripped, ``[none]`` = no tags) go to ``hashtags``
  after any ``#tags`` in the title: they are the uploader's topical keywords, which is what
  downstream code reads hashtags for; ``raw["tags"]`` keeps them apart as well.
- ``created_at`` is ``publish_time`` when the file has it (later release), else None: the first
  trending day is not a publish time.
- ``channel_title`` -> author handle; ``category_id`` -> ``labels["category_id"]``;
  ``thumbnail_link`` -> ``MediaPart(kind=image, url=...)``.
- Dirty rows: in GBvideos.csv two physical lines each hold TWO records glued together (the newline
  between them is missing, so the date cell reads ``24.09l7yxJDFvTRM``). They are split back into
  their records, so that file gives 7,997 snapshots from 7,995 lines (only when the date is the last
  column, as there: elsewhere a glued line cannot be split safely). Any other row with the wrong
  number of cells, a bad date or undecodable bytes becomes a ``Rejected`` (never dropped silently).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from postlens.errors import SourceError
from postlens.sources.base import parse_datetime, register, to_int
from postlens.sources.kit import finish, iter_files, snippet
from postlens.sources.recipes.columns import HeaderSpec
from postlens.types import Author, Engagement, MediaPart, Modality, Post, Rejected, extract_entities

COLUMNS = (
    "video_id",
    "title",
    "channel_title",
    "category_id",
    "tags",
    "views",
    "likes",
    "dislikes",
    "comment_total",
    "thumbnail_link",
    "date",
)
"""GBvideos.csv's header, in its order."""
HEADER = HeaderSpec(
    "YouTube trending file",
    {
        **{name: (name,) for name in COLUMNS},
        "comment_total": ("comment_total", "comment_count"),
        "date": ("date", "trending_date"),
        **{
            name: (name,)
            for name in (
                "publish_time",
                "comments_disabled",
                "ratings_disabled",
                "video_error_or_removed",
                "description",
            )
        },
    },
    required=("video_id", "title", "date"),
)
_GLUED_DATE = re.compile(r"^(\d{1,2}\.\d{1,2})(\S+)$")
_DATE = re.compile(r"^(?:(\d{2})\.)?(\d{1,2})\.(\d{1,2})$")


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
                yield Rejected(
                    str(file),
                    line,
                    "bad_date",
                    f"date {row['date']!r} is not DD.MM or YY.DD.MM",
                    post_id=f"youtube:{row['video_id']}",
                    raw=snippet(row),
                )
                continue
            if not row["video_id"].strip():
                yield Rejected(str(file), line, "missing_id", "the row has no video_id", raw=snippet(row))
                continue
            if row.get("publish_time", "").strip():
                try:
                    parse_datetime(row["publish_time"])  # checked here, per row; read again in _post
                except (ValueError, OverflowError, OSError) as exc:
                    yield Rejected(
                        str(file),
                        line,
                        "bad_date",
                        f"publish_time: {exc}",
                        post_id=f"youtube:{row['video_id'].strip()}",
                        raw=snippet(row),
                    )
                    continue
            videos.setdefault(row["video_id"].strip(), []).append((line, moment, row))
        for video_id, rows in videos.items():
            yield self._post(video_id, rows, file)

    def _rows(self, file: Path) -> Iterator[tuple[int, dict[str, str] | Rejected]]:
        """(line, row dict keyed by this recipe's column names) per record; bad rows as Rejected.

        A later-release ``comment_count`` column is read as ``comment_total``, ``trending_date`` as ``date``.
        """
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
            where = HEADER.locate(header, file)
            names = [h.lstrip("\ufeff").strip() for h in header]
            glued_dates = where["date"] == len(names) - 1
            for cells in reader:
                line = reader.line_num
                if not cells or not any(c.strip() for c in cells):
                    continue
                if any(_has_surrogates(c) for c in cells):
                    yield (
                        line,
                        Rejected(
                            str(file),
                            line,
                            "bad_encoding",
                            "row is not valid UTF-8; re-encode the file as UTF-8",
                            raw=snippet(",".join(cells).encode("utf-8", "surrogateescape")),
                        ),
                    )
                    continue
                for record in _split_glued(cells, len(names)) if glued_dates else [cells]:
                    if len(record) != len(names):
                        yield (
                            line,
                            Rejected(
                                str(file),
                                line,
                                "bad_row",
                                f"expected {len(names)} cells (from the header), found {len(record)}",
                                raw=snippet(cells),
                            ),
                        )
                        break
                    yield line, {name: record[index] for name, index in where.items()}

    def _date(self, text: str) -> datetime | None:
        """``DD.MM`` (in ``self.year``) or the later release's ``YY.DD.MM``; None when neither."""
        match = _DATE.match(text.strip())
        if match is None:
            return None
        year = 2000 + int(match[1]) if match[1] else self.year
        try:
            return datetime(year, int(match[3]), int(match[2]), tzinfo=UTC)
        except ValueError:
            return None

    def _post(self, video_id: str, rows: list[tuple[int, datetime, dict[str, str]]], file: Path) -> Post | Rejected:
        rows.sort(key=lambda item: item[1])
        first_line, _first_moment, _first = rows[0]
        latest = rows[-1][2]
        tags = split_tags(latest.get("tags", ""))
        title_tags, mentions, urls = extract_entities(latest["title"])
        hashtags = list(dict.fromkeys(title_tags + tags))
        thumbnail = latest.get("thumbnail_link", "").strip()
        published = latest.get("publish_time", "").strip()
        category = latest.get("category_id", "").strip()
        raw: dict[str, Any] = {
            "rows": [row for _line, _moment, row in rows],
            "tags": tags,
            "lines": [line for line, _moment, _row in rows],
        }
        post = Post(
            source="youtube",
            native_id=video_id,
            platform="youtube",
            created_at=parse_datetime(published) if published else None,
            text=latest["title"].strip(),
            author=Author(handle=latest.get("channel_title", "").strip() or None),
            hashtags=hashtags,
            mentions=mentions,
            urls=urls,
            media=[MediaPart(kind=Modality.IMAGE, url=thumbnail)] if thumbnail.startswith("http") else [],
            engagement=[
                Engagement(
                    observed_at=moment,
                    views=to_int(row.get("views")),
                    likes=to_int(row.get("likes")),
                    comments=to_int(row.get("comment_total")),
                )
                for _line, moment, row in rows
            ],
            labels={"category_id": category} if category else {},
            raw=raw,
        )
        return finish(post, file, first_line, f"video {video_id}")


def split_tags(cell: str) -> list[str]:
    """``a|"b c"|d`` -> ["a", "b c", "d"]; ``[none]`` -> []."""
    tags = [tag.strip().strip('"').strip() for tag in cell.split("|")]
    return [tag for tag in dict.fromkeys(tags) if tag and tag != "[none]"]


def _split_glued(cells: list[str], width: int) -> Iterator[list[str]]:
    """Split a row holding several records whose newline was lost (``...,24.09<next video_id>,...``).

    Only for files whose last column is the ``DD.MM`` date: its end is the only safe place to cut.
    """
    while len(cells) > width and (glued := _GLUED_DATE.match(cells[width - 1])) is not None:
        yield [*cells[: width - 1], glued[1]]
        cells = [glued[2], *cells[width:]]
    yield cells


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
