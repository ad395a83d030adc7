"""Parse speed of the generic importers alone (no store): rows/second and peak RSS.

    .venv/bin/python bench/ingest_generic.py [--rows 200000] [--formats csv,jsonl,postlens]

Generates the files in a temp dir (streamed, so generation does not inflate RSS), then times
``iter_records`` over each. The goal is well above 5,000 posts/s on one core; memory must stay
flat, so peak RSS should not grow with --rows.
"""

from __future__ import annotations

import argparse
import csv
import random
import resource
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from postlens.sources.generic import CsvImporter, JsonlImporter
from postlens.sources.native import NativeImporter
from postlens.types import Post

WORDS = (
    "flood",
    "storm",
    "breaking",
    "news",
    "photo",
    "video",
    "today",
    "city",
    "people",
    "wow",
    "water",
    "rescue",
    "road",
    "closed",
    "stay",
    "safe",
    "amazing",
    "look",
    "this",
    "fake",
)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def fake_rows(count: int, seed: int = 0):
    rng = random.Random(seed)
    start = datetime(2020, 1, 1, tzinfo=UTC)
    for number in range(count):
        words = rng.choices(WORDS, k=rng.randint(6, 30))
        if rng.random() < 0.5:
            words.append(f"#{rng.choice(WORDS)}")
        if rng.random() < 0.3:
            words.append(f"@user{rng.randint(1, 5000)}")
        if rng.random() < 0.2:
            words.append(f"https://example.org/{number}")
        yield {
            "id": str(10**15 + number),
            "text": " ".join(words),
            "created_at": (start + timedelta(seconds=number * 7)).isoformat(),
            "username": f"user{rng.randint(1, 5000)}",
            "followers": rng.randint(0, 10**6),
            "likes": rng.randint(0, 500),
            "retweets": rng.randint(0, 100),
            "media": f"img_{number % 997}.jpg" if rng.random() < 0.3 else "",
            "label": rng.choice(("real", "fake")),
        }


def write_csv(path: Path, rows: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = None
        for row in fake_rows(rows):
            if writer is None:
                writer = csv.DictWriter(handle, fieldnames=list(row))
                writer.writeheader()
            writer.writerow(row)


def write_jsonl(path: Path, rows: int) -> None:
    with path.open("wb") as handle:
        for row in fake_rows(rows):
            handle.write(orjson.dumps(row) + b"\n")


def write_native(path: Path, rows: int) -> None:
    """``Post.to_dict`` lines, built directly so the file does not depend on the CSV importer."""
    with path.open("wb") as handle:
        for row in fake_rows(rows):
            post = Post(
                source="bench",
                native_id=row["id"],
                platform="generic",
                created_at=datetime.fromisoformat(row["created_at"]),
                text=row["text"],
                labels={"label": row["label"]},
            )
            handle.write(orjson.dumps(post.to_dict()) + b"\n")


def measure(name: str, importer: object, path: Path) -> None:
    records = posts = 0
    started = time.perf_counter()
    for record in importer.iter_records(path):  # type: ignore[attr-defined]
        records += 1
        posts += isinstance(record, Post)
    elapsed = time.perf_counter() - started
    size_mb = path.stat().st_size / 2**20
    print(
        f"{name:9s} {records:>8,} records ({posts:,} posts) {size_mb:7.1f} MB  "
        f"{elapsed:6.2f} s  {records / elapsed:>9,.0f} rows/s  peak RSS {rss_mb():6.1f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--formats", default="csv,jsonl,postlens")
    args = parser.parse_args()
    formats: dict[str, tuple[str, Callable[[Path, int], None], Callable[[], object]]] = {
        "csv": ("posts.csv", write_csv, CsvImporter),
        "jsonl": ("posts.jsonl", write_jsonl, JsonlImporter),
        "postlens": ("native.jsonl", write_native, NativeImporter),
    }
    print(f"peak RSS before: {rss_mb():.1f} MB; rows: {args.rows:,}")
    with tempfile.TemporaryDirectory() as folder:
        for name in args.formats.split(","):
            file_name, write, factory = formats[name]
            path = Path(folder) / file_name
            write(path, args.rows)
            measure(name, factory(), path)


if __name__ == "__main__":
    main()
