"""Parsing speed of importers alone (no store): posts/second of ``iter_records``.

    .venv/bin/python bench/ingest_parse.py                 # pheme, mediaeval2016, youtube-trending
    .venv/bin/python bench/ingest_parse.py --synthetic-mb 300   # also a streamed big JSON list

The synthetic run writes a JSON list of v1.1 tweets larger than the whole-file limit to a temp
folder, so the streaming path is used, and prints the peak RSS growth to show memory stays flat.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import psutil

from postlens.sources import get_importer
from postlens.sources import kit as importer_kit
from postlens.types import Post

DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"


def measure(name: str, path: Path, repeats: int = 3) -> None:
    best = float("inf")
    posts = rejected = 0
    for _ in range(repeats):
        start = time.perf_counter()
        posts = rejected = 0
        for record in get_importer(name).iter_records(path):
            if isinstance(record, Post):
                posts += 1
            else:
                rejected += 1
        best = min(best, time.perf_counter() - start)
    print(
        f"{name:18s} {posts:6d} posts {rejected:3d} rejected  best of {repeats}: {best:6.2f} s  "
        f"{posts / best:9.0f} posts/s"
    )


def synthetic(megabytes: int) -> None:
    tweet = {
        "id_str": "0",
        "created_at": "Wed Jan 07 12:47:00 +0000 2015",
        "text": "x " * 100,
        "user": {"id_str": "9", "screen_name": "n", "followers_count": 5, "description": "d" * 400},
        "entities": {"hashtags": [{"text": "a"}], "user_mentions": [], "urls": []},
        "retweet_count": 1,
        "favorite_count": 2,
    }
    with tempfile.TemporaryDirectory() as folder:
        file = Path(folder) / "big.json"
        count = 0
        with file.open("w") as handle:
            handle.write("[")
            while handle.tell() < megabytes * 1024 * 1024:
                tweet["id_str"] = str(count)
                handle.write(("," if count else "") + json.dumps(tweet))
                count += 1
            handle.write("]")
        size_mb = file.stat().st_size / 2**20
        process = psutil.Process()
        before = peak = process.memory_info().rss / 2**20
        start = time.perf_counter()
        posts = 0
        for record in get_importer("twitter-v1").iter_records(file):
            posts += isinstance(record, Post)
            if posts % 5000 == 0:
                peak = max(peak, process.memory_info().rss / 2**20)
        elapsed = time.perf_counter() - start
        mode = "streamed" if file.stat().st_size >= importer_kit.WHOLE_FILE_LIMIT else "whole-file"
        print(
            f"synthetic list {size_mb:.0f} MB ({mode}): {posts} posts in {elapsed:.1f} s = "
            f"{posts / elapsed:.0f} posts/s; RSS {before:.0f} MB before, peak {peak:.0f} MB while parsing"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--synthetic-mb", type=int, default=0, help="also time a streamed JSON list this big")
    args = parser.parse_args()
    if not DATASETS.is_dir():
        print(f"no real datasets at {DATASETS}: skipping the recipe figures")
    else:
        measure("pheme", DATASETS / "pheme")
        measure("mediaeval2016", DATASETS / "mediaeval2016")
        measure("youtube-trending", DATASETS / "youtube_trending_gb")
    if args.synthetic_mb:
        synthetic(args.synthetic_mb)


if __name__ == "__main__":
    main()
