"""`postlens ingest` end to end on bad input: each problem is quarantined with file, line and reason."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from PIL import Image
from typer.testing import CliRunner

from postlens.errors import ConfigError
from postlens.serve.cli import app
from postlens.sources.base import known_importers

runner = CliRunner()
MAP = ["--map", "id=id", "--map", "text=text", "--map", "created_at=created_at", "--map", "media=media"]


def ingest(ws: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["ingest", "--workspace", str(ws), *args])
    return result.exit_code, result.output


def quarantine(ws: Path) -> list[tuple[str, int, str, str, str]]:
    with duckdb.connect(str(ws / "postlens.duckdb"), read_only=True) as db:
        return db.execute("SELECT file, line, code, post_id, reason FROM quarantine ORDER BY line").fetchall()


def posts(ws: Path) -> int:
    with duckdb.connect(str(ws / "postlens.duckdb"), read_only=True) as db:
        return db.execute("SELECT count(*) FROM posts").fetchone()[0]


def write_csv(path: Path, rows: list[str]) -> Path:
    path.write_text("id,text,created_at,media\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_malformed_json_line_is_quarantined_and_the_rest_imports(tmp_path: Path) -> None:
    data = tmp_path / "p.jsonl"
    data.write_text('{"id": "1", "text": "fine"}\n{"id": "2", "text": \n{"id": "3", "text": "also fine"}\n')
    code, out = ingest(tmp_path / "ws", str(data), "--format", "jsonl", "--map", "id=id", "--map", "text=text")
    assert code == 0, out
    assert "2 imported" in out and "1 quarantined" in out
    [(file, line, reason_code, _, reason)] = quarantine(tmp_path / "ws")
    assert (Path(file).name, line, reason_code) == ("p.jsonl", 2, "bad_json") and reason


def test_csv_row_with_wrong_number_of_columns(tmp_path: Path) -> None:
    data = write_csv(
        tmp_path / "p.csv", ["1,hello,2024-01-01T00:00:00Z,", "2,too,many,columns,here", "3,bye,2024-01-02,"]
    )
    code, _out = ingest(tmp_path / "ws", str(data), *MAP)
    assert code == 0 and posts(tmp_path / "ws") == 2
    assert [(r[1], r[2]) for r in quarantine(tmp_path / "ws")] == [(3, "bad_columns")]


def test_unparseable_date(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "p.csv", ["1,hello,yesterday-ish,", "2,bye,2024-01-02,"])
    code, _ = ingest(tmp_path / "ws", str(data), *MAP)
    rows = quarantine(tmp_path / "ws")
    assert code == 0 and [(r[1], r[2]) for r in rows] == [(2, "bad_date")] and "yesterday-ish" in rows[0][4]


def test_missing_media_file_keeps_the_post_and_quarantines_the_file(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "p.csv", ["1,hello,2024-01-01,nope.jpg"])
    code, _out = ingest(tmp_path / "ws", str(data), *MAP)
    assert code == 0 and posts(tmp_path / "ws") == 1
    [row] = quarantine(tmp_path / "ws")
    assert (row[1], row[2], row[3]) == (2, "media_missing", "p:1") and "nope.jpg" in row[4]


def test_file_whose_bytes_are_not_what_its_extension_says(tmp_path: Path) -> None:
    Image.new("RGB", (8, 8), "blue").save(tmp_path / "real.png")
    (tmp_path / "clip.mp4").write_bytes((tmp_path / "real.png").read_bytes())
    data = write_csv(tmp_path / "p.csv", ["1,hello,2024-01-01,clip.mp4", "2,pic,2024-01-01,real.png"])
    code, _ = ingest(tmp_path / "ws", str(data), *MAP)
    rows = quarantine(tmp_path / "ws")
    assert code == 0 and [(r[2], r[3]) for r in rows] == [("media_mismatch", "p:1")]
    assert "image/png" in rows[0][4]


def test_non_utf8_bytes_quarantine_only_that_line(tmp_path: Path) -> None:
    data = tmp_path / "p.csv"
    data.write_bytes(b"id,text,created_at,media\n1,caf\xe9 latin-1,2024-01-01,\n2,ok,2024-01-01,\n")
    code, _ = ingest(tmp_path / "ws", str(data), *MAP)
    assert code == 0 and posts(tmp_path / "ws") == 1
    assert [(r[1], r[2]) for r in quarantine(tmp_path / "ws")] == [(2, "bad_encoding")]


def test_empty_file_is_quarantined_and_exit_code_says_nothing_imported(tmp_path: Path) -> None:
    data = tmp_path / "empty.jsonl"
    data.write_bytes(b"")
    code, out = ingest(tmp_path / "ws", str(data), "--format", "jsonl")
    assert code == 1, out
    assert [r[2] for r in quarantine(tmp_path / "ws")] == ["empty_file"]


def test_duplicate_ids_within_one_file_keep_the_first(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "p.csv", ["1,first,2024-01-01,", "1,second,2024-01-02,"])
    code, _ = ingest(tmp_path / "ws", str(data), *MAP)
    assert code == 0 and posts(tmp_path / "ws") == 1
    assert [(r[1], r[2]) for r in quarantine(tmp_path / "ws")] == [(3, "duplicate_id")]
    with duckdb.connect(str(tmp_path / "ws" / "postlens.duckdb"), read_only=True) as db:
        assert db.execute("SELECT text FROM posts").fetchone()[0] == "first"


def test_post_with_neither_text_nor_media(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "p.csv", ["1,,2024-01-01,", "2,words,2024-01-01,"])
    code, _ = ingest(tmp_path / "ws", str(data), *MAP)
    assert code == 0 and [(r[1], r[2]) for r in quarantine(tmp_path / "ws")] == [(2, "empty_post")]


def test_stats_sql_and_quarantine_commands_read_the_workspace(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "p.csv", ["1,hello #a,2024-01-01,", "2,bye,2024-02-03,", "3,,2024-01-01,"])
    ingest(tmp_path / "ws", str(data), *MAP)
    ws = ["--workspace", str(tmp_path / "ws")]
    stats = runner.invoke(app, ["stats", *ws])
    assert stats.exit_code == 0 and "2024-01" in stats.output and "2024-02" in stats.output
    sql = runner.invoke(app, ["sql", "select count(*) as n from posts", "--output", "csv", *ws])
    assert sql.exit_code == 0 and sql.output.strip().splitlines() == ["n", "2"]
    q = runner.invoke(app, ["quarantine", *ws])
    assert q.exit_code == 0 and "empty_post" in q.output


def test_unknown_format_lists_the_known_ones(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "p.csv", ["1,hello,2024-01-01,"])
    result = runner.invoke(app, ["ingest", "--workspace", str(tmp_path / "ws"), str(data), "--format", "csvv"])
    assert result.exit_code != 0 and isinstance(result.exception, ConfigError)
    message = str(result.exception)
    assert "'csvv'" in message and "known:" in message
    listed = [name.strip() for name in message.split("known:", 1)[1].split(",")]
    assert listed == known_importers() and "csv" in listed  # the real names, not the typo echoed back


@pytest.mark.parametrize("command", ["ingest", "stats", "sql", "quarantine", "featurize", "train", "demo-data", "demo"])
def test_every_command_has_help(command: str) -> None:
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0 and "Usage" in result.output and len(result.output) > 200
