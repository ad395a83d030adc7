"""The workspace writer: idempotent re-imports, quarantine of bad records and media, atomic batches."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image

from postlens.store.ingest import ingest
from postlens.store.workspace import Workspace
from postlens.types import Engagement, MediaPart, Modality, Post, Rejected

T0 = datetime(2024, 5, 1, 12, tzinfo=UTC)


class ListImporter:
    """A fake importer (fine in a unit test of the store): yields the records it was given."""

    name = "list"

    def __init__(self, records: list[Post | Rejected]) -> None:
        self.records = records

    def iter_records(self, path: Path) -> Iterator[Post | Rejected]:
        yield from self.records


def post(
    native_id: str,
    text: str = "hello #world",
    *,
    media: list[MediaPart] | None = None,
    likes: int = 1,
    observed: datetime = T0,
    line: int | None = None,
) -> Post:
    return Post(
        source="t",
        native_id=native_id,
        platform="test",
        created_at=T0,
        text=text,
        hashtags=["world"],
        media=media or [],
        engagement=[Engagement(observed, likes=likes)],
        origin_file="data.jsonl",
        origin_line=line,
    )


def count(ws: Workspace, table: str) -> int:
    return ws.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_reimport_is_idempotent_and_appends_only_new_snapshots(tmp_path: Path) -> None:
    records = [post(str(i), f"post {i}") for i in range(50)]
    with Workspace(tmp_path / "ws") as ws:
        first = ingest(ws, ListImporter(records), [tmp_path], batch_size=7)
        second = ingest(ws, ListImporter(records), [tmp_path], batch_size=7)
        assert (first.imported, second.imported, second.unchanged) == (50, 0, 50)
        assert (count(ws, "posts"), count(ws, "engagement")) == (50, 50)
        later = [post(str(i), f"post {i}", likes=9, observed=datetime(2024, 5, 2, tzinfo=UTC)) for i in range(50)]
        third = ingest(ws, ListImporter(later), [tmp_path])
        assert third.snapshots_added == 50 and count(ws, "engagement") == 100
        assert count(ws, "posts") == 50


def test_changed_post_is_updated_and_keeps_first_seen(tmp_path: Path) -> None:
    with Workspace(tmp_path / "ws") as ws:
        ingest(ws, ListImporter([post("1", "old text")]), [tmp_path])
        seen = ws.db.execute("SELECT first_seen FROM posts").fetchone()[0]
        summary = ingest(ws, ListImporter([post("1", "new text")]), [tmp_path])
        assert summary.updated == 1
        assert ws.db.execute("SELECT text, first_seen FROM posts").fetchone() == ("new text", seen)


def test_rejected_duplicate_and_empty_records_go_to_quarantine(tmp_path: Path) -> None:
    records: list[Post | Rejected] = [
        post("1", line=1),
        Rejected("data.jsonl", 2, "bad_json", "line 2 is not JSON"),
        post("1", "again", line=3),
        post("2", "   ", line=4),
        post("3", line=5),
    ]
    with Workspace(tmp_path / "ws") as ws:
        summary = ingest(ws, ListImporter(records), [tmp_path])
        assert (summary.imported, summary.quarantined) == (2, 3)
        rows = ws.db.execute("SELECT line, code, post_id FROM quarantine ORDER BY line").fetchall()
        assert rows == [(2, "bad_json", ""), (3, "duplicate_id", "t:1"), (4, "empty_post", "t:2")]
        ingest(ws, ListImporter(records), [tmp_path])
        assert count(ws, "quarantine") == 3, "re-importing must not duplicate quarantine rows"


def _image(path: Path, colour: str = "red") -> Path:
    Image.new("RGB", (40, 30), colour).save(path)
    return path


def test_media_is_content_addressed_and_problems_are_quarantined(tmp_path: Path) -> None:
    img = _image(tmp_path / "a.jpg")
    copy = tmp_path / "b.jpg"
    copy.write_bytes(img.read_bytes())
    liar = tmp_path / "clip.mp4"
    _image(liar.with_suffix(".png"))
    liar.write_bytes(liar.with_suffix(".png").read_bytes())
    records = [
        post("1", media=[MediaPart(Modality.IMAGE, source_path=str(img), root=str(tmp_path))], line=1),
        post("2", media=[MediaPart(Modality.IMAGE, source_path=str(copy), root=str(tmp_path))], line=2),
        post(
            "3", media=[MediaPart(Modality.IMAGE, source_path=str(tmp_path / "nope.jpg"), root=str(tmp_path))], line=3
        ),
        post("4", media=[MediaPart(Modality.VIDEO, source_path=str(liar), root=str(tmp_path))], line=4),
        post(
            "5",
            "",
            media=[MediaPart(Modality.IMAGE, source_path=str(tmp_path / "gone.png"), root=str(tmp_path))],
            line=5,
        ),
    ]
    with Workspace(tmp_path / "ws") as ws:
        summary = ingest(ws, ListImporter(records), [tmp_path])
        assert summary.imported == 4
        stored = ws.db.execute("SELECT DISTINCT path, width, height FROM media WHERE status='stored'").fetchall()
        assert len(stored) == 1 and stored[0][1:] == (40, 30)
        assert (ws.root / stored[0][0]).read_bytes() == img.read_bytes()
        statuses = dict(ws.db.execute("SELECT post_id, status FROM media").fetchall())
        assert statuses == {"t:1": "stored", "t:2": "stored", "t:3": "missing", "t:4": "rejected"}
        codes = ws.db.execute("SELECT post_id, code FROM quarantine ORDER BY post_id, code").fetchall()
        assert codes == [
            ("t:3", "media_missing"),
            ("t:4", "media_mismatch"),
            ("t:5", "empty_post"),
            ("t:5", "media_missing"),
        ]


KILL_SCRIPT = textwrap.dedent(
    """
    import os, signal, sys
    from datetime import datetime, timezone
    from pathlib import Path
    from postlens.store import tables
    from postlens.store.ingest import ingest
    from postlens.store.workspace import Workspace
    from postlens.types import Engagement, Post

    T0 = datetime(2024, 5, 1, tzinfo=timezone.utc)
    real_write, calls = tables.write_batch, [0]

    def write_then_die(*args, **kwargs):
        calls[0] += 1
        if calls[0] == 4 and sys.argv[2] == "kill":
            os.kill(os.getpid(), signal.SIGKILL)   # killed midway through a batch
        return real_write(*args, **kwargs)

    tables.write_batch = write_then_die

    class Gen:
        name = "gen"
        def iter_records(self, path):
            for i in range(1000):
                yield Post("t", str(i), "test", T0, f"post {i}", engagement=[Engagement(T0, likes=i)])

    with Workspace(sys.argv[1]) as ws:
        ingest(ws, Gen(), [Path(".")], batch_size=100)
    """
)


def test_killed_import_leaves_whole_batches_and_rerun_completes(tmp_path: Path) -> None:
    script = tmp_path / "run.py"
    script.write_text(KILL_SCRIPT)
    ws_path = tmp_path / "ws"
    killed = subprocess.run([sys.executable, str(script), str(ws_path), "kill"], capture_output=True)
    assert killed.returncode != 0
    with Workspace(ws_path) as ws:
        assert count(ws, "posts") == 300 and count(ws, "engagement") == 300
    finished = subprocess.run([sys.executable, str(script), str(ws_path), "run"], capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr
    with Workspace(ws_path) as ws:
        assert count(ws, "posts") == 1000 and count(ws, "engagement") == 1000
        statuses = sorted(r[0] for r in ws.db.execute("SELECT status FROM import_runs").fetchall())
        assert statuses == ["done", "interrupted"]


def test_read_only_workspace_that_does_not_exist_is_a_clear_error(tmp_path: Path) -> None:
    from postlens.errors import WorkspaceError

    with pytest.raises(WorkspaceError, match="postlens ingest"):
        Workspace(tmp_path / "missing", read_only=True)
