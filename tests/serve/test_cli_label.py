"""`postlens label import` end to end: any table format, both id forms, unknown ids quarantined, re-runs idle."""

from __future__ import annotations

from pathlib import Path

import duckdb
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from postlens.errors import MappingError, WorkspaceError
from postlens.serve.cli import app

runner = CliRunner()
LABELS = {"1": "joy", "2": "anger", "3": "joy"}


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    """A workspace holding posts ``t:1`` .. ``t:3`` imported without labels."""
    data = tmp_path / "posts.csv"
    data.write_text("id,text\n1,so happy\n2,so cross\n3,great news\n", encoding="utf-8")
    result = runner.invoke(app, ["ingest", str(data), "--source", "t", "--workspace", str(tmp_path / "ws")])
    assert result.exit_code == 0, result.output
    return tmp_path / "ws"


def label(ws: Path, *args: str) -> tuple[int, str, BaseException | None]:
    result = runner.invoke(app, ["label", "import", *args, "--workspace", str(ws)], catch_exceptions=True)
    return result.exit_code, " ".join(result.output.split()), result.exception


def query(ws: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(ws / "postlens.duckdb"), read_only=True) as db:
        return db.execute(sql).fetchall()


def stored_labels(ws: Path) -> dict[str, dict[str, str]]:
    return dict(query(ws, "SELECT id, labels FROM posts"))


def write_table(path: Path, rows: list[dict[str, str]]) -> Path:
    columns = list(rows[0])
    if path.suffix == ".parquet":
        pq.write_table(pa.table({c: [r[c] for r in rows] for c in columns}), path)
    elif path.suffix == ".jsonl":
        path.write_bytes(b"\n".join(orjson.dumps(r) for r in rows) + b"\n")
    else:
        sep = "\t" if path.suffix == ".tsv" else ","
        path.write_text("\n".join([sep.join(columns)] + [sep.join(r[c] for c in columns) for r in rows]) + "\n")
    return path


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl", ".parquet"])
def test_labels_from_any_table_format_merge_into_the_posts(ws: Path, tmp_path: Path, suffix: str) -> None:
    table = write_table(tmp_path / f"labels{suffix}", [{"tweet": k, "emotion": v} for k, v in LABELS.items()])
    code, out, error = label(ws, str(table), "--map", "id=tweet", "--map", "labels.emotion=emotion", "--source", "t")
    assert code == 0 and error is None, out
    assert "3 rows read; 3 matched a post (3 changed, 0 unchanged); 0 unknown ids" in out
    assert stored_labels(ws) == {f"t:{k}": {"emotion": v} for k, v in LABELS.items()}


def test_the_acceptance_path_stats_second_run_and_unknown_id(ws: Path, tmp_path: Path) -> None:
    table = tmp_path / "labels.csv"
    table.write_text("tweet,emotion\n1,joy\n2,anger\n3,joy\n404,sadness\n", encoding="utf-8")
    args = [str(table), "--map", "id=tweet", "--map", "labels.emotion=emotion", "--source", "t"]
    code, out, _ = label(ws, *args)
    assert code == 0 and "3 matched a post (3 changed" in out and "1 unknown ids" in out
    assert "label_unknown_post 1" in out
    stats = runner.invoke(app, ["stats", "--workspace", str(ws)])
    assert "emotion" in stats.output and "joy" in stats.output and "anger" in stats.output
    before = query(ws, "SELECT * FROM posts ORDER BY id")
    code, out, _ = label(ws, *args)
    assert code == 0 and "(0 changed, 3 unchanged)" in out and "0 added, 0 replaced" in out
    assert query(ws, "SELECT * FROM posts ORDER BY id") == before
    assert query(ws, "SELECT file, line, code, post_id FROM quarantine") == [
        (str(table), 5, "label_unknown_post", "t:404")
    ]
    assert query(
        ws,
        "SELECT importer, updated, unchanged, quarantined FROM import_runs "
        "WHERE importer = 'labels' ORDER BY started_at",
    ) == [("labels", 3, 0, 1), ("labels", 0, 3, 1)]


def test_a_new_value_replaces_the_old_one_and_the_summary_says_so(ws: Path, tmp_path: Path) -> None:
    label(
        ws,
        str(write_table(tmp_path / "a.csv", [{"id": "1", "emotion": "joy"}])),
        "--source",
        "t",
        "--map",
        "labels.emotion=emotion",
    )
    code, out, _ = label(
        ws,
        str(write_table(tmp_path / "b.csv", [{"id": "1", "emotion": "anger"}])),
        "--source",
        "t",
        "--map",
        "labels.emotion=emotion",
    )
    assert code == 0 and "0 added, 1 replaced (a new value for a label the post already has replaces" in out
    assert stored_labels(ws)["t:1"] == {"emotion": "anger"}


def test_full_ids_need_no_source_and_native_ids_without_source_are_quarantined(ws: Path, tmp_path: Path) -> None:
    full = write_table(tmp_path / "full.csv", [{"id": "t:2", "label": "anger"}, {"id": "t:3", "label": "joy"}])
    code, out, _ = label(ws, str(full))  # id and label columns auto-detected by name
    assert code == 0 and "2 matched a post (2 changed" in out
    assert stored_labels(ws)["t:2"] == {"label": "anger"}
    native = write_table(tmp_path / "native.csv", [{"id": "1", "label": "joy"}])
    code, out, _ = label(ws, str(native))
    assert code == 1 and "0 matched" in out and "missing_source 1" in out
    (reason,) = query(ws, "SELECT reason FROM quarantine WHERE code = 'missing_source'")[0]
    assert "pass --source" in reason


def test_bad_rows_are_quarantined_with_their_line_and_the_rest_merges(ws: Path, tmp_path: Path) -> None:
    table = tmp_path / "labels.csv"
    table.write_text("id,label\n1,joy\n2,too,many\n,joy\n3,\n", encoding="utf-8")
    code, out, _ = label(ws, str(table), "--source", "t")
    assert code == 0 and "4 rows read; 2 matched" in out
    assert query(ws, "SELECT line, code FROM quarantine ORDER BY line") == [(3, "bad_columns"), (4, "missing_id")]
    assert stored_labels(ws) == {"t:1": {"label": "joy"}, "t:2": {}, "t:3": {}}  # an empty cell sets nothing


def test_a_mapping_naming_a_missing_column_fails_before_anything_is_written(ws: Path, tmp_path: Path) -> None:
    table = write_table(tmp_path / "labels.csv", [{"tweet": "1", "emotion": "joy"}])
    code, _, error = label(ws, str(table), "--map", "id=tweet_id", "--map", "labels.emotion=emotion")
    assert code != 0 and isinstance(error, MappingError)
    assert "tweet_id" in str(error) and "'tweet', 'emotion'" in str(error)
    code, _, error = label(ws, str(table), "--map", "id=tweet")  # no label column named or found
    assert isinstance(error, MappingError) and "no label column" in str(error)
    assert query(ws, "SELECT count(*) FROM import_runs WHERE importer = 'labels' AND status = 'done'") == [(0,)]


def test_post_fields_and_nameless_labels_in_a_labels_mapping_are_refused(ws: Path, tmp_path: Path) -> None:
    table = write_table(tmp_path / "labels.csv", [{"id": "1", "label": "joy", "body": "x"}])
    _code, _, error = label(ws, str(table), "--map", "text=body", "--source", "t")
    assert isinstance(error, MappingError) and "not text" in str(error)
    _code, _, error = label(ws, str(table), "--map", "labels.=label", "--source", "t")
    assert isinstance(error, MappingError) and "a label needs a name" in str(error)
    assert stored_labels(ws) == {"t:1": {}, "t:2": {}, "t:3": {}}


def test_no_workspace_is_an_error_not_a_new_workspace(tmp_path: Path) -> None:
    table = write_table(tmp_path / "labels.csv", [{"id": "t:1", "label": "joy"}])
    _code, _, error = label(tmp_path / "nowhere", str(table))
    assert isinstance(error, WorkspaceError) and not (tmp_path / "nowhere").exists()
