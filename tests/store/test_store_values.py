"""The writer with values it cannot store: repaired at the door, a refused record isolated and
quarantined while the rest commits, counts from what was committed, orphaned media removed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import orjson
import pytest
from PIL import Image

from postlens.store.ingest import ingest
from postlens.store.schema import SCHEMA_VERSION
from postlens.store.workspace import DB_NAME, Workspace
from postlens.types import Author, Engagement, MediaPart, Modality, Post, Rejected

T0 = datetime(2024, 5, 1, 12, tzinfo=UTC)


class ListImporter:
    """A fake importer (fine in a unit test of the store): yields the records it was given, then
    raises ``fail_with`` if set (an importer breaking part-way)."""

    name = "list"

    def __init__(self, records: list[Post | Rejected], fail_with: BaseException | None = None) -> None:
        self.records, self.fail_with = records, fail_with

    def iter_records(self, path: Path) -> Iterator[Post | Rejected]:
        yield from self.records
        if self.fail_with is not None:
            raise self.fail_with


def post(native_id: str, *, line: int | None = None, media: list[MediaPart] | None = None, **fields: object) -> Post:
    made = Post(
        source="t",
        native_id=native_id,
        platform="test",
        created_at=T0,
        text=f"post {native_id}",
        engagement=[Engagement(T0, likes=1)],
        media=media or [],
        origin_file="data.jsonl",
        origin_line=int(native_id) if line is None else line,
    )
    for name, value in fields.items():
        setattr(made, name, value)
    return made


def rows(ws: Workspace, sql: str) -> list[tuple]:
    return ws.db.execute(sql).fetchall()


def image(path: Path, color: str) -> Path:
    Image.new("RGB", (8, 8), color).save(path)
    return path


def test_values_the_columns_cannot_hold_are_dropped_and_flagged_at_the_door(tmp_path: Path) -> None:
    bad = post(
        "1",
        text="nul\x00 and \ud800 here",
        created_at=datetime(2099, 1, 1, tzinfo=UTC),
        author=Author(id="a", followers=10**30),
        engagement=[Engagement(T0, likes=-5, shares=2**63, comments=3, views=1.5)],
    )  # type: ignore[arg-type]
    with Workspace(tmp_path / "ws") as ws:
        summary = ingest(ws, ListImporter([bad, post("2")]), [tmp_path])
        assert (summary.imported, summary.quarantined) == (2, 0)
        [(text, created, followers)] = rows(ws, "SELECT text, created_at, author_followers FROM posts WHERE id = 't:1'")
        assert (text, created, followers) == ("nul and \ufffd here", None, None)
        assert rows(ws, "SELECT likes, shares, comments, views FROM engagement WHERE post_id = 't:1'") == [
            (None, None, 3, None)
        ]
        flagged = dict(rows(ws, "SELECT code, reason FROM quarantine WHERE post_kept"))
        assert set(flagged) == {"bad_count", "bad_text", "implausible_date"} and summary.flagged == 3
        for field in ("likes", "shares", "views", "author.followers"):
            assert field in flagged["bad_count"]


def test_a_record_the_database_refuses_is_quarantined_and_the_rest_committed(tmp_path: Path) -> None:
    # an origin line past int64 is not a field repair_post checks: the database refuses the row itself
    records: list[Post | Rejected] = [post(str(i)) for i in range(1, 21)]
    records[6] = post("7", line=2**64, engagement=[Engagement(T0, likes=-5)])  # its flagged row must not count
    records.append(Rejected("data.jsonl", 30, "bad_json", "line 30 is not JSON"))
    with Workspace(tmp_path / "ws") as ws:
        summary = ingest(ws, ListImporter(records), [tmp_path], batch_size=50)
        assert summary.imported == 19 and summary.notes == {"write_failed": 1}
        [(_code, reason, kept)] = rows(
            ws, "SELECT code, reason, post_kept FROM quarantine WHERE post_id = 't:7' AND code = 'write_failed'"
        )
        assert "OverflowError" in reason and not kept
        assert rows(ws, "SELECT count(*) FROM posts") == [(19,)]
        [run] = rows(ws, "SELECT imported, quarantined, flagged, status, notes FROM import_runs")
        quarantined = rows(ws, "SELECT count(*) FILTER (NOT post_kept), count(*) FILTER (post_kept) FROM quarantine")
        assert run[:4] == (19, *quarantined[0], "done") and run[1] == 2 and run[2] == 0
        assert orjson.loads(run[4]) == {"write_failed": 1}


def test_media_stored_only_for_records_that_were_not_committed_is_removed(tmp_path: Path) -> None:
    only_refused = image(tmp_path / "red.png", "red")
    shared = image(tmp_path / "blue.png", "blue")
    records: list[Post | Rejected] = [
        post(
            "1",
            line=2**64,
            media=[
                MediaPart(Modality.IMAGE, source_path=str(only_refused), root=str(tmp_path)),
                MediaPart(Modality.IMAGE, source_path=str(shared), root=str(tmp_path)),
            ],
        ),
        post("2", media=[MediaPart(Modality.IMAGE, source_path=str(shared), root=str(tmp_path))]),
    ]
    with Workspace(tmp_path / "ws") as ws:
        summary = ingest(ws, ListImporter(records), [tmp_path])
        stored = sorted(p.name for p in (tmp_path / "ws" / "media").rglob("*.png"))
        [(kept_path,)] = rows(ws, "SELECT path FROM media")
        assert stored == [Path(kept_path).name] and summary.notes == {"write_failed": 1, "orphan_media_removed": 1}


def test_a_failed_run_counts_only_what_was_committed_and_removes_media_of_the_rest(tmp_path: Path) -> None:
    late = image(tmp_path / "late.png", "green")
    records: list[Post | Rejected] = [
        post("1"),
        post("2"),
        Rejected("data.jsonl", 3, "bad_json", "no"),
        post("4"),
        post("5", media=[MediaPart(Modality.IMAGE, source_path=str(late), root=str(tmp_path))]),
        Rejected("data.jsonl", 6, "bad_json", "no"),
    ]
    with Workspace(tmp_path / "ws") as ws:
        with pytest.raises(KeyboardInterrupt):
            ingest(ws, ListImporter(records, fail_with=KeyboardInterrupt()), [tmp_path], batch_size=4)
        [run] = rows(ws, "SELECT status, imported, quarantined FROM import_runs")
        committed = rows(ws, "SELECT (SELECT count(*) FROM posts), (SELECT count(*) FROM quarantine)")
        assert run == ("failed", *committed[0]) and committed == [(3, 1)]
        assert list((tmp_path / "ws" / "media").rglob("*.png")) == []


def test_an_importer_that_breaks_part_way_ends_its_input_with_one_row_and_the_run_goes_on(tmp_path: Path) -> None:
    class TwoFiles(ListImporter):
        def iter_records(self, path: Path) -> Iterator[Post | Rejected]:
            if path.name == "first":
                yield post("1")
                raise RuntimeError("a bug in an importer")
            yield post("2")

    with Workspace(tmp_path / "ws") as ws:
        summary = ingest(ws, TwoFiles([]), [tmp_path / "first", tmp_path / "second"])
        assert (summary.imported, summary.quarantined) == (2, 1)
        [(code, reason)] = rows(ws, "SELECT code, reason FROM quarantine")
        assert code == "importer_failed" and "after 1 records" in reason and "a bug in an importer" in reason


def test_several_rows_with_one_key_are_all_kept(tmp_path: Path) -> None:
    # elements of one JSON list line, all without id: same file, line and code
    rejected = [Rejected("list.json", None, "bad_record", f"element {i}: not an object") for i in range(1, 4)]
    media = [
        MediaPart(Modality.IMAGE, source_path=str(tmp_path / f"missing{i}.png"), root=str(tmp_path)) for i in range(2)
    ]
    with Workspace(tmp_path / "ws") as ws:
        summary = ingest(ws, ListImporter([*rejected, post("1", media=media)]), [tmp_path])
        assert summary.quarantined == 3 and summary.flagged == 1
        assert rows(ws, "SELECT post_id FROM quarantine WHERE code = 'bad_record' ORDER BY post_id") == [
            ("",),
            ("#2",),
            ("#3",),
        ]
        # the media store gives one row per post and code, naming every part it concerns
        [(reason,)] = rows(ws, "SELECT reason FROM quarantine WHERE code = 'media_missing' AND post_kept")
        assert "missing0.png" in reason and "missing1.png" in reason
        again = ingest(ws, ListImporter([*rejected, post("1", media=media)]), [tmp_path])
        assert again.quarantined == 3 and rows(ws, "SELECT count(*) FROM quarantine") == [(4,)]


def test_dates_without_a_time_zone_are_counted_per_run(tmp_path: Path) -> None:
    naive = [post(str(i), created_at_naive=True) for i in range(1, 4)]
    with Workspace(tmp_path / "ws") as ws:
        summary = ingest(ws, ListImporter([*naive, post("9")]), [tmp_path])
        assert summary.notes == {"created_at_naive_as_utc": 3}
        assert rows(ws, "SELECT notes::VARCHAR FROM import_runs") == [('{"created_at_naive_as_utc":3}',)]


def test_bad_ids_are_refused_not_repaired(tmp_path: Path) -> None:
    records: list[Post | Rejected] = [post("1"), post("2"), post("3")]
    records[0].native_id = "a\x00b"
    records[1].native_id = "x" * 5000
    with Workspace(tmp_path / "ws") as ws:
        summary = ingest(ws, ListImporter(records), [tmp_path])
        assert (summary.imported, summary.quarantined) == (1, 2)
        assert rows(ws, "SELECT code, post_id FROM quarantine ORDER BY line") == [("bad_id", ""), ("bad_id", "")]


def test_a_v2_workspace_gains_the_run_notes_column(tmp_path: Path) -> None:
    with Workspace(tmp_path / "ws"):
        pass
    db = duckdb.connect(str(tmp_path / "ws" / DB_NAME))
    db.execute("ALTER TABLE import_runs DROP COLUMN notes")
    db.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    db.close()
    with Workspace(tmp_path / "ws") as ws:
        summary = ingest(ws, ListImporter([post("1", created_at_naive=True)]), [tmp_path])
        assert summary.notes == {"created_at_naive_as_utc": 1}
        assert rows(ws, "SELECT value FROM meta WHERE key = 'schema_version'") == [(str(SCHEMA_VERSION),)]


def test_a_post_the_writer_cannot_prepare_costs_only_that_post(tmp_path: Path) -> None:
    # a NUL in a media name made the media store raise ValueError; whatever the media store does
    # with it, the other posts are imported and this one is accounted for
    nul = post(
        "2", media=[MediaPart(Modality.IMAGE, source_path=str(tmp_path / "a\x00b.png"), root=str(tmp_path))], text=""
    )
    with Workspace(tmp_path / "ws") as ws:
        summary = ingest(ws, ListImporter([post("1"), nul, post("3")]), [tmp_path])
        assert rows(ws, "SELECT id FROM posts WHERE id <> 't:2' ORDER BY id") == [("t:1",), ("t:3",)]
        assert summary.posts_written + summary.quarantined == 3
        assert all(reason for (reason,) in rows(ws, "SELECT reason FROM quarantine"))


def test_something_that_is_not_a_post_from_an_importer_is_one_row(tmp_path: Path) -> None:
    with Workspace(tmp_path / "ws") as ws:
        summary = ingest(ws, ListImporter([post("1"), {"text": "a dict"}, post("3")]), [tmp_path])  # type: ignore[list-item]
        assert (summary.imported, summary.quarantined) == (2, 1)
        [(code, reason)] = rows(ws, "SELECT code, reason FROM quarantine")
        assert code == "record_error" and "(dict)" in reason
