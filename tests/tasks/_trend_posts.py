"""Helpers for the trends tests: write posts as postlens JSONL and import them into a real workspace."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import orjson

from postlens.pipeline.ingest import run_ingest


def post(native_id: str, at: datetime, text: str, tags: Sequence[str] = ()) -> dict[str, Any]:
    return {
        "id": f"syn:{native_id}",
        "source": "syn",
        "native_id": native_id,
        "platform": "syn",
        "created_at": at.isoformat(),
        "text": text,
        "hashtags": list(tags),
    }


def import_posts(records: Iterable[dict[str, Any]], folder: Path, name: str, workspace: Path) -> int:
    """Write ``records`` to ``folder/name.jsonl`` and import them; returns posts written. Media are left
    out (trends read no pixels), and so are the posts that were media only (without media they are empty)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.jsonl"
    lines = []
    for record in records:
        if not str(record.get("text") or "").strip():
            continue
        lean = {k: v for k, v in record.items() if k not in ("media", "engagement")}
        lines.append(orjson.dumps(lean))
    path.write_bytes(b"\n".join(lines) + b"\n")
    summary = run_ingest([path], importer_name="postlens", workspace=workspace)
    return summary.posts_written


TABLES = {
    "trend_series": "stream, bin_start, term",
    "alerts": "stream, term, bin_start",
    "trend_state": "stream, term",
    "trend_bins": "stream, bin_start",
}


def trend_tables(workspace: Path, bin_text: str) -> dict[str, list[tuple]]:
    """Every trend table's rows of the streams at one bin width, in a fixed order (trend_streams without
    its wall-clock column)."""
    like = f"%|{bin_text}|%"
    with duckdb.connect(str(workspace / "postlens.duckdb"), read_only=True) as db:
        out = {
            name: db.execute(f"SELECT * FROM {name} WHERE stream LIKE ? ORDER BY {order}", [like]).fetchall()
            for name, order in TABLES.items()
        }
        out["trend_streams"] = db.execute(
            "SELECT * EXCLUDE (updated_at) FROM trend_streams WHERE stream LIKE ? ORDER BY stream", [like]
        ).fetchall()
    return out
