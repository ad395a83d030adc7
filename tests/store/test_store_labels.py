"""merge_labels: labels merged into stored posts, hashes kept in step with ingest, unknown ids quarantined."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image

from postlens.pipeline import build_importer
from postlens.pipeline.labels import import_labels
from postlens.store.ingest import ImportSummary, ingest
from postlens.store.labels import LabelRow, LabelSummary, merge_labels
from postlens.store.workspace import Workspace
from postlens.types import Rejected

POSTS_HEADER = "id,text,created_at,author,followers,verified,tags,media,lang"


def write_posts(folder: Path, *, with_labels: bool) -> Path:
    """Posts covering every field the content hash reads (dates with offsets, media, lists, counts)."""
    folder.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), "red").save(folder / "a.png")
    rows = [
        '1,"Storm #sandy",2012-10-29T20:00:00+02:00,ann,120,true,sandy wind,a.png,en',
        "2,Calm day,2012-10-30T08:00:00.123456Z,bob,,false,,,",
        "3,Missing photo,,cat,5,,,gone.png,",
        "4,No label here,2013-01-01,dan,1,,,,",
    ]
    labels = ["fake", "real", "fake", ""]
    header = POSTS_HEADER + (",label" if with_labels else "")
    lines = [header] + [row + (f",{label}" if with_labels else "") for row, label in zip(rows, labels)]
    path = folder / "posts.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


MAP = [
    "id=id",
    "text=text",
    "created_at=created_at",
    "author_handle=author",
    "author_followers=followers",
    "author_verified=verified",
    "hashtags=tags",
    "media=media",
    "language=lang",
]


def ingest_csv(ws: Workspace, path: Path, labels: bool) -> ImportSummary:
    pairs = MAP + (["labels.label=label"] if labels else [])
    return ingest(ws, build_importer("csv", mapping_pairs=pairs, source="s"), [path])


def snapshot(ws: Workspace) -> list[tuple]:
    return ws.db.execute("SELECT * FROM posts ORDER BY id").fetchall()


def rows(*items: tuple[str, dict[str, str]]) -> list[LabelRow]:
    return [LabelRow(post_id, labels, "labels.csv", line) for line, (post_id, labels) in enumerate(items, start=2)]


def test_labels_added_later_give_the_hash_ingest_gives_the_same_labels(tmp_path: Path) -> None:
    """Import without labels + label import == import with labels: same hash, so re-ingest is 'unchanged'."""
    with Workspace(tmp_path / "with") as ws:
        ingest_csv(ws, write_posts(tmp_path / "a", with_labels=True), labels=True)
        wanted = ws.db.execute("SELECT id, labels, content_hash FROM posts ORDER BY id").fetchall()
    labelled = write_posts(tmp_path / "b", with_labels=True)
    with Workspace(tmp_path / "later") as ws:
        ingest_csv(ws, write_posts(tmp_path / "c", with_labels=False), labels=False)
        ws.db.execute("SET TimeZone = 'Asia/Kolkata'")  # dates come back in the session's zone: must not matter
        summary = merge_labels(
            ws,
            rows(("s:1", {"label": "fake"}), ("s:2", {"label": "real"}), ("s:3", {"label": "fake"})),
            inputs=["labels.csv"],
        )
        assert (summary.matched, summary.changed) == (3, 3)
        got = ws.db.execute("SELECT id, labels, content_hash FROM posts ORDER BY id").fetchall()
        assert [(i, dict(lab)) for i, lab, _ in got] == [(i, dict(lab)) for i, lab, _ in wanted]
        assert got == wanted
        again = ingest(ws, build_importer("csv", mapping_pairs=[*MAP, "labels.label=label"], source="s"), [labelled])
        assert (again.unchanged, again.updated, again.imported) == (4, 0, 0)


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    ws = Workspace(tmp_path / "ws")
    ingest_csv(ws, write_posts(tmp_path / "data", with_labels=True), labels=True)
    yield ws
    ws.close()


def test_merge_adds_replaces_and_keeps_labels_and_says_which(workspace: Workspace) -> None:
    before = {r[0]: r for r in snapshot(workspace)}
    summary = merge_labels(
        workspace,
        rows(
            ("s:1", {"label": "real", "topic": "weather"}),  # replaces label, adds topic
            ("s:2", {"label": "real"}),  # same value: unchanged
            ("s:4", {"topic": "news"}),  # adds to a post with no labels
            ("s:9", {"label": "fake"}),  # no such post
        ),
        inputs=["labels.csv"],
    )
    assert (summary.rows, summary.matched, summary.changed, summary.unchanged) == (4, 3, 2, 1)
    assert (summary.added, summary.replaced, summary.unknown, summary.quarantined) == (2, 1, 1, 1)
    labels = dict(workspace.db.execute("SELECT id, labels FROM posts").fetchall())
    assert labels == {
        "s:1": {"label": "real", "topic": "weather"},
        "s:2": {"label": "real"},
        "s:3": {"label": "fake"},
        "s:4": {"topic": "news"},
    }
    after = {r[0]: r for r in snapshot(workspace)}
    changed = {pid for pid in after if after[pid] != before[pid]}
    assert changed == {"s:1", "s:4"}
    columns = [d[0] for d in workspace.db.execute("SELECT * FROM posts LIMIT 0").description]
    for name in ("content_hash", "updated_at", "run_id"):
        at = columns.index(name)
        assert after["s:1"][at] != before["s:1"][at] and after["s:2"][at] == before["s:2"][at]


def test_unknown_ids_are_quarantined_with_file_and_line_and_counted(workspace: Workspace) -> None:
    summary = merge_labels(
        workspace,
        rows(("s:1", {"label": "x"}), ("s:404", {"label": "y"}), ("other:1", {"label": "z"})),
        inputs=["labels.csv"],
    )
    assert summary.rows == summary.matched + summary.quarantined
    found = workspace.db.execute(
        "SELECT file, line, code, post_id, post_kept, run_id FROM quarantine WHERE file = 'labels.csv' ORDER BY line"
    ).fetchall()
    assert found == [
        ("labels.csv", 3, "label_unknown_post", "s:404", False, summary.run_id),
        ("labels.csv", 4, "label_unknown_post", "other:1", False, summary.run_id),
    ]
    assert summary.reasons == {"label_unknown_post": 2}


def test_a_second_run_changes_nothing(workspace: Workspace) -> None:
    batch = rows(("s:1", {"label": "real", "topic": "weather"}), ("s:77", {"label": "y"}))
    merge_labels(workspace, batch, inputs=["labels.csv"])
    posts = snapshot(workspace)
    quarantined = workspace.db.execute("SELECT file, line, code, post_id FROM quarantine").fetchall()
    second = merge_labels(workspace, batch, inputs=["labels.csv"])
    assert (second.changed, second.unchanged, second.added, second.replaced) == (0, 1, 0, 0)
    assert snapshot(workspace) == posts
    assert workspace.db.execute("SELECT file, line, code, post_id FROM quarantine").fetchall() == quarantined


def test_later_rows_for_the_same_id_in_one_file_are_quarantined_first_kept(workspace: Workspace) -> None:
    summary = merge_labels(
        workspace, rows(("s:2", {"label": "first"}), ("s:2", {"label": "second"})), inputs=["labels.csv"]
    )
    assert workspace.db.execute("SELECT labels['label'] FROM posts WHERE id = 's:2'").fetchone()[0] == "first"
    assert summary.reasons == {"duplicate_id": 1} and summary.rows == summary.matched + summary.quarantined


def test_reader_rejections_are_quarantined_and_the_run_is_recorded(workspace: Workspace) -> None:
    records: list[LabelRow | Rejected] = [
        Rejected("labels.csv", 3, "bad_columns", "expected 2 columns, got 3"),
        *rows(("s:3", {"label": "real"})),
    ]
    summary = merge_labels(workspace, records, inputs=["labels.csv"], options={"source": "s"}, batch_size=1)
    assert (summary.quarantined, summary.changed) == (1, 1)
    run = workspace.db.execute(
        "SELECT importer, status, inputs, imported, updated, unchanged, quarantined FROM import_runs WHERE run_id = ?",
        [summary.run_id],
    ).fetchone()
    assert run == ("labels", "done", ["labels.csv"], 0, 1, 0, 1)


def test_batches_commit_in_order_and_rows_for_one_post_from_two_files_apply_in_order(workspace: Workspace) -> None:
    first = [LabelRow("s:1", {"label": "a"}, "one.csv", 2), LabelRow("s:2", {"label": "b"}, "one.csv", 3)]
    second = [LabelRow("s:1", {"label": "c"}, "two.csv", 2)]
    summary: LabelSummary = merge_labels(workspace, first + second, inputs=["one.csv", "two.csv"], batch_size=10)
    assert workspace.db.execute("SELECT labels['label'] FROM posts WHERE id = 's:1'").fetchone()[0] == "c"
    assert summary.matched == 3 and summary.quarantined == 0


def test_a_failed_run_is_marked_failed_and_its_open_batch_rolled_back(workspace: Workspace) -> None:
    before = snapshot(workspace)

    def broken():
        yield from rows(("s:1", {"label": "changed"}))
        raise OSError("disk went away")

    with pytest.raises(OSError):
        merge_labels(workspace, broken(), inputs=["labels.csv"])
    assert snapshot(workspace) == before
    assert workspace.db.execute(
        "SELECT status, error LIKE '%disk went away%' FROM import_runs WHERE importer = 'labels'"
    ).fetchone() == ("failed", True)


def test_re_ingesting_the_unlabelled_file_keeps_imported_labels(tmp_path: Path) -> None:
    posts = write_posts(tmp_path / "data", with_labels=False)
    with Workspace(tmp_path / "ws") as ws:
        ingest_csv(ws, posts, labels=False)
        merge_labels(ws, rows(("s:1", {"label": "fake"})), inputs=["labels.csv"])
        again = ingest_csv(ws, posts, labels=False)
        assert ws.db.execute("SELECT labels['label'] FROM posts WHERE id = 's:1'").fetchone()[0] == "fake"
        assert again.updated == 0, "the merged post hashes as stored: the re-import changes nothing"


def test_a_file_value_replaces_an_imported_label_and_other_labels_stay(tmp_path: Path) -> None:
    with Workspace(tmp_path / "ws") as ws:
        ingest_csv(ws, write_posts(tmp_path / "data", with_labels=False), labels=False)
        merge_labels(ws, rows(("s:1", {"label": "real", "stance": "pro"})), inputs=["labels.csv"])
        ingest_csv(ws, write_posts(tmp_path / "data2", with_labels=True), labels=True)  # the file says s:1 is fake
        stored = dict(ws.db.execute("SELECT labels FROM posts WHERE id = 's:1'").fetchone()[0])
        assert stored == {"label": "fake", "stance": "pro"}


def test_the_python_function_reads_a_csv_and_merges(tmp_path: Path) -> None:
    """``import_labels`` is the notebook entry; the CLI tests cover its options."""
    root = tmp_path / "ws"
    with Workspace(root) as ws:
        ingest_csv(ws, write_posts(tmp_path / "data", with_labels=False), labels=False)
    table = tmp_path / "labels.csv"
    table.write_text("id,stance\n1,pro\n2,anti\n", encoding="utf-8")
    summary = import_labels(table, mapping_pairs=["id=id", "labels.stance=stance"], source="s", workspace=root)
    assert (summary.matched, summary.changed, summary.added) == (2, 2, 2)
    with Workspace(root, read_only=True) as ws:
        assert dict(
            ws.db.execute("SELECT id, labels['stance'] FROM posts WHERE labels['stance'] IS NOT NULL").fetchall()
        ) == {"s:1": "pro", "s:2": "anti"}


def test_dates_in_the_posts_survive_as_they_were(workspace: Workspace) -> None:
    merge_labels(workspace, rows(("s:1", {"topic": "x"}), ("s:2", {"topic": "y"})), inputs=["labels.csv"])
    created = dict(workspace.db.execute("SELECT id, created_at FROM posts").fetchall())
    assert created["s:1"] == datetime(2012, 10, 29, 18, tzinfo=UTC)
    assert created["s:2"] == datetime(2012, 10, 30, 8, 0, 0, 123456, tzinfo=UTC)
