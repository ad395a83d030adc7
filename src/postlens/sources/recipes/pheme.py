"""Recipe "pheme": PHEME rumour source tweets, one JSON list of v1.1 tweets per event and class.

Files are ``<event>-all-rnr-threads.<rumours|non-rumours>.json``; the event and class come from the
name. Each file is small (< 3 MB), so the shared reader parses it whole with orjson (lists above
200 MB would be streamed). A file holding just ``[]`` yields nothing and is not an error.
Labels: ``event``, ``rumour`` (rumour / non-rumour), and ``veracity`` (true / false / unverified,
from the dataset's ``VERACITY`` field, rumours only).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from postlens.sources.base import register
from postlens.sources.kit import iter_files
from postlens.sources.twitter import TwitterImporter
from postlens.types import Post, Rejected

FILE_NAME = re.compile(r"^(?P<event>.+)-all-rnr-threads\.(?P<kind>rumours|non-rumours)\.json$")


@register("pheme")
class PhemeRecipe:
    """A PHEME folder (or one of its files) as tweets labelled by event and rumour class."""

    name = "pheme"

    def __init__(self) -> None:
        self._tweets = TwitterImporter("v1")

    def iter_records(self, path: Path) -> Iterator[Post | Rejected]:
        for file in iter_files(path, (".json",)):
            match = FILE_NAME.match(file.name)
            if match is None:
                yield Rejected(
                    str(file),
                    None,
                    "unknown_file",
                    "not a PHEME file (expected <event>-all-rnr-threads.<rumours|non-rumours>.json)",
                )
                continue
            labels = {"event": match["event"], "rumour": match["kind"].removesuffix("s")}
            for record in self._tweets.iter_file(file, labels):
                if isinstance(record, Post):
                    veracity = record.raw.get("VERACITY") if isinstance(record.raw, dict) else None
                    if veracity:
                        record.labels["veracity"] = str(veracity).lower()
                yield record
