"""`postlens sql`, `stats` and `quarantine` as a user and as an attacker meet them: every column and
value printed exactly, bad SQL as one line, nothing written or read outside the workspace, clear
errors for unusable workspaces, and a writer's lock waited for."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

import postlens
from postlens.errors import QueryError, WorkspaceError
from postlens.serve.cli import app
from postlens.store import readonly_sql
from postlens.store.readonly_sql import run_read_only_sql, unique_column_names
from postlens.store.workspace import DB_NAME, LOCK_WAIT_SECONDS, Workspace

runner = CliRunner()
SRC = Path(postlens.__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace with 3 posts and 2 quarantine rows (one record not imported, one post flagged)."""
    folder = tmp_path_factory.mktemp("sql")
    data = folder / "p.csv"
    data.write_text(
        "id,text,created_at,media\n1,hello,2024-01-01,\n2,bye,2024-02-03,gone.jpg\n"
        "3,third,2024-02-04,\n4,,2024-02-05,\n",
        encoding="utf-8",
    )
    mapping = ["--map", "id=id", "--map", "text=text", "--map", "created_at=created_at", "--map", "media=media"]
    result = runner.invoke(app, ["ingest", "-w", str(folder / "ws"), str(data), *mapping])
    assert result.exit_code == 0, result.output
    return folder / "ws"


def sql(ws: Path, query: str, *args: str):
    return runner.invoke(app, ["sql", query, "-w", str(ws), *args])


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real entry point (main()) in a new process, with this checkout's sources."""
    return subprocess.run(
        [sys.executable, "-m", "postlens.serve.cli", *args],
        capture_output=True,
        text=True,
        env=cli_env(env),
        timeout=600,
    )


def cli_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(SRC), "COLUMNS": "200", **(extra or {})}


def fingerprint(ws: Path) -> str:
    return hashlib.sha256((ws / DB_NAME).read_bytes()).hexdigest()


# ---------------------------------------------------------------- every column, every value


def test_unique_column_names_keep_every_column() -> None:
    assert unique_column_names(["a", "a", "b", "a"]) == ["a", "a_2", "b", "a_3"]
    assert unique_column_names(["a", "a", "a_2"]) == ["a", "a_3", "a_2"]  # a real a_2 keeps its name
    names = ["x", "x_2", "x", "x", "x_2"]
    assert len(set(unique_column_names(names))) == len(names)


@pytest.mark.parametrize("output", ["json", "csv", "table"])
def test_duplicate_column_names_all_survive(ws: Path, output: str) -> None:
    result = sql(ws, "select 1 as a, 2 as a, 3 as a_2, 4 as a", "-o", output)
    assert result.exit_code == 0, result.output
    if output == "json":
        assert json.loads(result.stdout) == {"a": 1, "a_3": 2, "a_2": 3, "a_4": 4}
    elif output == "csv":
        assert result.stdout.splitlines() == ["a,a_3,a_2,a_4", "1,2,3,4"]
    else:
        header = result.stdout.splitlines()[0]
        assert [h.strip() for h in header.split("┃")] == ["a", "a_3", "a_2", "a_4"]


TYPES = """
select 170141183460469231731687303715884105727::hugeint as huge,
       340282366920938463463374607431768211455::uhugeint as uhuge,
       (-9223372036854775808)::bigint as small,
       123.4560000000::decimal(38,10) as dec,
       'nan'::double as nan, 'inf'::double as pinf, '-inf'::float as ninf, 0.1::double as tenth,
       '\\x00\\xFF"abc\\x5C'::blob as blob,
       '2024-01-01 00:00:00+05:30'::timestamptz as tstz,
       '2024-02-29 12:34:56.789'::timestamp as ts, '5877642-06-25 (BC)'::date as bc,
       '12:34:56+02'::timetz as ttz, interval 3 day as iv, '6e4f1d5c-0e3a-4a8b-9a3b-2f0d9c1e7a10'::uuid as id,
       map {1: 'x', 2: NULL} as m, map {[1, 2]: 'k'} as mlist, {'a': 1, 'b': [true, NULL]} as st,
       [[1, 2], NULL, []] as nested, [1.5, 'nan'::double] as floats, [1, 2]::int[2] as arr,
       union_value(k := 7) as un, '101'::bit as bits, 'x'::enum('x', 'y') as en,
       NULL as nothing, '' as empty, 'tab\there, "quoted"' as text
"""


def strict_json(text: str) -> dict:
    def refuse(name: str) -> None:
        raise AssertionError(f"not strict JSON: {name}")

    return json.loads(text, parse_constant=refuse, parse_float=Decimal)


def test_every_duckdb_type_prints_exactly_as_json(ws: Path) -> None:
    result = sql(ws, TYPES, "-o", "json")
    assert result.exit_code == 0, result.output
    row = strict_json(result.stdout)
    assert row["huge"] == 2**127 - 1 and row["uhuge"] == 2**128 - 1 and row["small"] == -(2**63)
    assert row["dec"] == Decimal("123.4560000000") and row["tenth"] == Decimal("0.1")
    assert (row["nan"], row["pinf"], row["ninf"]) == ("NaN", "Infinity", "-Infinity")
    assert duckdb.execute("select ?::blob = '\\x00\\xFF\"abc\\x5C'::blob", [row["blob"]]).fetchone()[0]
    assert datetime.fromisoformat(row["tstz"]) == datetime(2023, 12, 31, 18, 30, tzinfo=UTC)
    assert row["ts"] == "2024-02-29T12:34:56.789000" and row["bc"] == "5877642-06-25 (BC)"
    assert row["ttz"] == "12:34:56+02:00" and row["iv"] == "3 days, 0:00:00"
    assert row["id"] == "6e4f1d5c-0e3a-4a8b-9a3b-2f0d9c1e7a10"
    assert row["m"] == {"1": "x", "2": None} and row["st"] == {"a": 1, "b": [True, None]}
    assert row["nested"] == [[1, 2], None, []] and row["floats"] == [Decimal("1.5"), "NaN"] and row["arr"] == [1, 2]
    assert row["mlist"] and row["un"] == 7 and row["bits"] == "101" and row["en"] == "x"
    assert row["nothing"] is None and row["empty"] == "" and row["text"] == 'tab\there, "quoted"'


def test_every_duckdb_type_prints_as_csv_and_table(ws: Path) -> None:
    as_csv = sql(ws, TYPES, "-o", "csv")
    assert as_csv.exit_code == 0, as_csv.output
    header, values = list(csv.reader(io.StringIO(as_csv.stdout)))
    row = dict(zip(header, values))
    assert row["huge"] == str(2**127 - 1) and row["dec"] == "123.4560000000" and row["nan"] == "NaN"
    assert json.loads(row["st"]) == {"a": 1, "b": [True, None]} and row["text"] == 'tab\there, "quoted"'
    assert ',"",' in as_csv.stdout.splitlines()[1]  # the empty string, unlike NULL, is quoted
    assert row["nothing"] == "" and row["empty"] == ""
    as_table = sql(ws, TYPES, "-o", "table")
    assert as_table.exit_code == 0, as_table.output
    for shown in (str(2**127 - 1), "123.4560000000", "Infinity", "NULL", "5877642-06-25 (BC)"):
        assert shown in as_table.stdout


def test_table_shows_values_literally_and_escapes_control_characters(ws: Path) -> None:
    result = sql(
        ws,
        "select '[bold]x[/]' as markup, '[/oops]' as broken, chr(27) || ']0;title' || chr(7) as esc, "
        "'[red]' as \"[red]\"",
    )
    assert result.exit_code == 0, result.output
    assert "[bold]x[/]" in result.stdout and "[/oops]" in result.stdout and "[red]" in result.stdout
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout and "\\x1b]0;title\\x07" in result.stdout


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("query", "duckdb_says"),
    [
        ("selec 1", 'syntax error at or near "selec"'),
        ("select * from postss", "Table with name postss does not exist"),
        ("select $1", "Values were not provided"),
        ("select [1, 2][/x]", 'Referenced column "x" was not found'),  # [/x] is printed, not read as markup
    ],
)
def test_bad_sql_is_one_line_and_exit_2(ws: Path, query: str, duckdb_says: str) -> None:
    done = cli("sql", query, "-w", str(ws))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1, done.stderr
    assert duckdb_says in done.stderr and "Traceback" not in done.stderr


def refused_queries(tmp: Path) -> list[str]:
    """Statements that write, change state or read outside the workspace; tmp/out* must never appear."""
    outside = tmp / "readable.csv"
    outside.write_text("a,b\n1,2\n")
    return [
        f"copy posts to '{tmp}/out.csv'",
        f"copy (select * from posts) to '{tmp}/out.parquet' (format parquet)",
        f"export database '{tmp}/out-db'",
        f"explain analyze copy posts to '{tmp}/out-explain.csv'",
        f"attach '{tmp}/out-attached.duckdb' as other",
        "install httpfs",
        "load httpfs",
        "force install httpfs",
        "create table t as select 1",
        "create temp table t as select 1",
        "create macro m() as 1",
        "insert into posts (id) values ('x')",
        "update posts set text = ''",
        "delete from posts",
        "drop table posts",
        "alter table posts add column z int",
        "vacuum",
        "checkpoint",
        "begin transaction",
        "set enable_external_access = true",
        "set threads = 1",
        "reset threads",
        "set variable x = 1",
        "pragma enable_profiling",
        "call pragma_table_info('posts')",
        "prepare p as select 1",
        "use memory",
        "detach postlens",
        "pivot posts on source",
        "select * from read_csv('/etc/passwd')",
        "select * from read_text('/etc/hostname')",
        "select * from read_blob('/etc/hostname')",
        "select * from glob('/*')",
        f"select * from '{outside}'",
        f"with x as (select * from read_csv('{outside}')) select * from x",
        "select * from read_parquet('https://127.0.0.1:9/x.parquet')",
        f"from query('copy posts to ''{tmp}/out-query.csv''')",
        "select 1; drop table posts",
        f"select 1; copy posts to '{tmp}/out-second.csv'",
        "select 1;select 2",
        "",
        "  ;  ",
        "/* nothing but a comment */",
    ]


def test_anything_that_writes_or_reaches_outside_is_refused(ws: Path, tmp_path: Path) -> None:
    before = fingerprint(ws)
    for query in refused_queries(tmp_path):
        result = sql(ws, query)
        assert isinstance(result.exception, QueryError), (query, result.exception, result.output)
        assert "\n" not in str(result.exception), query
    assert not list(tmp_path.glob("out*")), "a refused statement wrote a file"
    assert fingerprint(ws) == before
    assert sql(ws, "select count(*) from posts", "-o", "csv").stdout.splitlines() == ["count_star()", "3"]


def test_refusal_is_one_line_exit_2(ws: Path, tmp_path: Path) -> None:
    done = cli("sql", f"copy posts to '{tmp_path}/x.csv'", "-w", str(ws))
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "COPY" in done.stderr
    assert not (tmp_path / "x.csv").exists()


@pytest.mark.parametrize(
    "query",
    [
        "select * from posts",
        "from posts",
        "with x as (select * from posts) select * from x",
        "describe posts",
        "show tables",
        "summarize posts",
        "values (1), (2)",
        "select * from posts; -- the end",
        "table posts",
    ],
)
def test_read_only_forms_that_are_allowed(ws: Path, query: str) -> None:
    result = sql(ws, query, "-o", "json")
    assert result.exit_code == 0, (query, result.exception)
    assert result.stdout.strip()


def test_help_says_what_is_allowed_and_how_long_it_waits() -> None:
    result = runner.invoke(app, ["sql", "--help"], env={"COLUMNS": "200"})
    for word in (
        "SELECT",
        "COPY",
        "ATTACH",
        "INSTALL/LOAD",
        "read_csv",
        "_2",
        "POSTLENS_LOCK_WAIT",
        f"{LOCK_WAIT_SECONDS:g} s",
    ):
        assert word in result.output, word


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--limit", "0"], "--limit"),
        (["--limit", "-3"], "--limit"),
        (["--limit", "many"], "--limit"),
        (["-o", "xml"], "table"),
    ],
)
def test_limit_and_output_are_validated(ws: Path, args: list[str], complaint: str) -> None:
    result = sql(ws, "select 1", *args)
    assert result.exit_code == 2 and complaint in result.output
    if "-o" in args:
        assert "'csv'" in result.output and "'json'" in result.output


def test_limit_beyond_the_maximum(ws: Path) -> None:
    result = sql(ws, "select 1", "--limit", str(10**23))
    assert isinstance(result.exception, QueryError) and "limit must be between 1 and" in str(result.exception)


def test_rows_shown_and_total(ws: Path) -> None:
    result = sql(ws, "select * from range(10); -- ten rows", "--limit", "3", "-o", "csv")
    assert result.stdout.splitlines() == ["range", "0", "1", "2"]
    assert "showing 3 of 10 rows" in result.stderr
    exact = sql(ws, "select 'é' from range(3);", "--limit", "3")
    assert "showing" not in exact.stderr


def test_total_stops_at_the_cap(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readonly_sql, "COUNT_CAP", 100)
    result = run_read_only_sql("select * from range(1000000000000)", workspace=ws, limit=5)
    assert len(result.rows) == 5 and result.truncated and result.total_at_least and result.total_rows == 100


def test_python_function_behind_the_command(ws: Path) -> None:
    result = run_read_only_sql("select id, id from posts order by id", workspace=ws, limit=2)
    assert result.columns == ["id", "id_2"] and result.rows == [("p:1", "p:1"), ("p:2", "p:2")]
    assert result.total_rows == 3 and result.truncated and not result.total_at_least


# ---------------------------------------------------------------- quarantine, unusable workspaces


def test_quarantine_says_rows_shown_of_total_and_lists_codes(ws: Path) -> None:
    result = runner.invoke(app, ["quarantine", "-w", str(ws), "--limit", "1"])
    assert result.exit_code == 0 and "showing 1 of 2 rows" in result.stderr
    unknown = runner.invoke(app, ["quarantine", "-w", str(ws), "--code", "bad_jsn"])
    assert unknown.exit_code == 0 and "empty_post" in unknown.stderr and "media_missing" in unknown.stderr


@pytest.mark.parametrize("command", [["stats"], ["quarantine"], ["sql", "select 1"]])
def test_read_only_commands_on_an_empty_folder(tmp_path: Path, command: list[str]) -> None:
    result = runner.invoke(app, [*command, "-w", str(tmp_path)])
    assert isinstance(result.exception, WorkspaceError) and DB_NAME in str(result.exception)
    assert list(tmp_path.iterdir()) == []
    done = cli(*command, "-w", str(tmp_path))
    assert done.returncode == 2 and done.stderr.startswith("error: ") and done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("where", [0.25, 0.5, 0.75])
def test_damage_inside_the_file_is_a_clear_error_or_harmless(tmp_path: Path, where: float) -> None:
    """Overwrite a stretch of a real workspace's file: reading it either works or says the file is damaged."""
    root = tmp_path / "ws"
    with Workspace(root) as workspace:
        workspace.db.execute(
            "INSERT INTO posts (id, source, native_id, platform, text, content_hash, run_id, first_seen, updated_at) "
            "SELECT 'p:' || range, 'p', range::VARCHAR, 'generic', repeat(md5(range::VARCHAR), 20), "
            "md5(range::VARCHAR), 'r', now(), now() FROM range(20000)"
        )
    data = bytearray((root / DB_NAME).read_bytes())
    start = int(len(data) * where)
    data[start : start + len(data) // 5] = os.urandom(len(data) // 5)
    (root / DB_NAME).write_bytes(bytes(data))
    result = runner.invoke(app, ["stats", "-w", str(root)])
    assert result.exit_code == 0 or isinstance(result.exception, WorkspaceError), result.exception
    if result.exception is not None:
        assert "damaged" in str(result.exception) or "not a DuckDB database" in str(result.exception)


def test_output_closed_early_is_not_a_traceback(ws: Path) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "postlens.serve.cli",
            "sql",
            "select * from range(200000)",
            "--limit",
            "200000",
            "-o",
            "csv",
            "-w",
            str(ws),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_env(),
    )
    assert process.stdout.readline() == b"range\n"
    process.stdout.close()
    stderr = process.stderr.read().decode()
    process.wait(timeout=600)
    assert stderr == ""


# ---------------------------------------------------------------- a writer holds the lock


@pytest.mark.parametrize("command", [["stats"], ["quarantine"], ["sql", "select count(*) from posts"]])
def test_locked_workspace_fails_clearly_after_the_wait(ws: Path, command: list[str], hold_write_lock) -> None:
    holder = hold_write_lock(ws / DB_NAME)
    done = cli(*command, "-w", str(ws), env={"POSTLENS_LOCK_WAIT": "0.5"})
    holder.stop()
    assert done.returncode == 2 and "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and f"process {holder.pid}" in last and "POSTLENS_LOCK_WAIT" in last


@pytest.mark.parametrize("command", [["stats"], ["sql", "select count(*) as n from posts", "-o", "csv"]])
def test_locked_workspace_is_read_once_the_writer_lets_go(ws: Path, command: list[str], hold_write_lock) -> None:
    holder = hold_write_lock(ws / DB_NAME)
    reader = subprocess.Popen(
        [sys.executable, "-m", "postlens.serve.cli", *command, "-w", str(ws)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env({"POSTLENS_LOCK_WAIT": "300"}),
    )
    waiting = reader.stderr.readline()
    assert "waiting" in waiting and str(holder.pid) in waiting, waiting
    holder.release()
    out, rest = reader.communicate(timeout=600)
    assert reader.returncode == 0, rest
    assert ("3 posts" in out) if command == ["stats"] else (out.splitlines() == ["n", "3"])
