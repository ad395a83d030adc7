"""The generic TSV importer on the real MediaEval 2016 file (skipped when ../shared/datasets is absent)."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest

from postlens.sources.generic import CsvImporter, TsvImporter
from postlens.sources.mapping import ColumnMapping
from postlens.types import Post, Rejected


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"real dataset {path} is absent (it lives beside the repo in ../shared/datasets)")
    return path


@pytest.mark.shared
def test_mediaeval_posts_as_raw_tsv_with_extensionless_image_ids(shared_datasets: Path) -> None:
    folder = need(shared_datasets / "mediaeval2016")
    mapping = ColumnMapping.from_pairs(
        [
            "id=post_id",
            "text=post_text",
            "media=image_id(s)",
            "author_id=user_id",
            "author_handle=username",
            "created_at=timestamp",
            "labels.label=label",
            "platform=twitter",
            "quoting=false",
        ]
    )
    records = list(TsvImporter(mapping=mapping, source="mediaeval2016").iter_records(folder / "posts.txt"))
    posts = [r for r in records if isinstance(r, Post)]
    assert len(records) == 15_629
    assert len(posts) >= 15_600, Counter(r.code for r in records if isinstance(r, Rejected))
    assert {p.labels.get("label") for p in posts} == {"fake", "real"}
    assert all(p.created_at is not None and p.created_at.year in range(2012, 2016) for p in posts)
    # image ids carry no extension: they resolve through the media-root index (README: 85.8% present)
    with_file = sum(any(os.path.isfile(m.source_path or "") for m in p.media) for p in posts)
    assert with_file / len(posts) > 0.85


@pytest.mark.shared
def test_youtube_trending_csv_quarantines_only_the_broken_rows(shared_datasets: Path) -> None:
    path = need(shared_datasets / "youtube_trending_gb") / "GBvideos.csv"
    records = list(CsvImporter(mapping={"created_at_format": "%d.%m"}).iter_records(path))
    rejected = [r for r in records if isinstance(r, Rejected)]
    assert len(records) == 7_995
    assert [r.code for r in rejected] == ["bad_columns", "bad_columns"]  # two lines hold two rows each
    post = next(r for r in records if isinstance(r, Post))
    assert post.engagement[0].views is not None and post.author.handle
