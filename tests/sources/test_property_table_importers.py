"""Property: for the table importers (csv, tsv, jsonl, parquet) any value in any column gives a post or a
quarantine row with a reason, never an exception that stops the file and never a silent loss, checked
against the tables after a real ingest."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from _hostile import (
    CONTROL_TEXT,
    COUNT_TEXTS,
    DATE_TEXTS,
    HUGE_STRING,
    LINES,
    PROPERTY,
    dump,
    hostile,
    import_and_check,
    injected,
    scratch,
)
from hypothesis import given
from hypothesis import strategies as st

from postlens.values import BadValue, parse_count

COLUMNS = [
    "id",
    "text",
    "created_at",
    "likes",
    "shares",
    "comments",
    "views",
    "followers",
    "handle",
    "language",
    "verified",
    "topic",
]
MAPPING = {
    "id": "id",
    "text": "text",
    "created_at": "created_at",
    "likes": "likes",
    "shares": "shares",
    "comments": "comments",
    "views": "views",
    "author_followers": "followers",
    "author_handle": "handle",
    "language": "language",
    "author_verified": "verified",
    "labels": {"topic": "topic"},
    "auto_detect": False,
}


def base_row(n: int) -> dict[str, str]:
    return {
        "id": str(n),
        "text": f"row {n} #tag",
        "created_at": "2024-03-01T10:00:00Z",
        "likes": "5",
        "shares": "1,234",
        "comments": "1.2K",
        "views": "3M",
        "followers": "10",
        "handle": "alice",
        "language": "en",
        "verified": "true",
        "topic": "cats",
    }


# ---------------------------------------------------------------- csv and tsv: every cell is text

# \udc80-\udcff are written as the raw (non-UTF-8) bytes they stand for: a bad_encoding row
RAW_BYTES_TEXT = st.text(alphabet=st.characters(min_codepoint=0xDC80, max_codepoint=0xDCFF), min_size=1, max_size=3)
CELL = st.one_of(
    st.text(max_size=15),
    CONTROL_TEXT,
    st.sampled_from(COUNT_TEXTS + DATE_TEXTS),
    st.builds(lambda: HUGE_STRING),
    st.integers().map(str),
    st.floats().map(str),
    RAW_BYTES_TEXT,
    st.sampled_from(['"', '""', "a,b", "a\tb", "line\nbreak", "\r", "\\", "NULL", "n/a", "-", " "]),
)


@st.composite
def table_rows(draw: st.DrawFn) -> list[dict[str, str]]:
    rows = []
    for n in draw(st.lists(st.integers(0, 5), min_size=1, max_size=7)):
        row = base_row(n)
        for column in COLUMNS:
            if draw(st.integers(0, 3)) == 0:
                row[column] = draw(CELL)
        rows.append(row)
    return rows


def write_delimited(path: Path, rows: list[dict[str, str]], delimiter: str) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)  # "\r\n" ends rows: a CR or LF in a cell is quoted
    writer.writerow(COLUMNS)
    writer.writerows([[row[c] for c in COLUMNS] for row in rows])
    path.write_bytes(buffer.getvalue().encode("utf-8", errors="surrogateescape"))
    return path


@pytest.mark.parametrize("importer,delimiter", [("csv", ","), ("tsv", "\t")])
@PROPERTY
@given(rows=table_rows())
def test_any_cell_is_a_post_or_a_quarantine_row(importer: str, delimiter: str, rows: list[dict[str, str]]) -> None:
    with scratch() as folder:
        data = write_delimited(folder / f"data.{importer}", rows, delimiter)
        import_and_check(importer, data, len(rows), mapping=MAPPING).close()


@PROPERTY
@given(values=st.lists(st.one_of(CELL, st.sampled_from(COUNT_TEXTS)), min_size=1, max_size=8))
def test_a_csv_count_is_stored_parsed_or_flagged(values: list[str]) -> None:
    rows = [dict(base_row(n), likes=value) for n, value in enumerate(values)]
    with scratch() as folder:
        data = write_delimited(folder / "data.csv", rows, ",")
        with import_and_check("csv", data, len(rows), mapping=MAPPING) as ws:
            for n, value in enumerate(values):
                _check_count(ws, f"data:{n}", value, "likes")


def _check_count(ws: Any, post_id: str, value: Any, field: str) -> None:
    if ws.db.execute("SELECT count(*) FROM posts WHERE id = ?", [post_id]).fetchone()[0] == 0:
        reasons = ws.db.execute(
            "SELECT code FROM quarantine WHERE post_id IN (?, '') AND NOT post_kept", [post_id]
        ).fetchall()
        assert reasons, (post_id, value)  # the record itself was refused (e.g. not UTF-8), with a row
        return
    stored = ws.db.execute(f"SELECT max({field}) FROM engagement WHERE post_id = ?", [post_id]).fetchone()[0]
    flags = ws.db.execute(
        "SELECT reason FROM quarantine WHERE post_id = ? AND post_kept AND code = 'bad_count'", [post_id]
    ).fetchall()
    try:
        expected = parse_count(value)
    except BadValue:
        assert stored is None and flags, (value, stored, flags)
    else:
        assert stored == expected and not flags, (value, stored, flags)


# ---------------------------------------------------------------- jsonl: JSON values, nested columns

JSONL_MAPPING = {**MAPPING, "author_followers": "user.followers", "author_handle": "user.name"}


@st.composite
def jsonl_lines(draw: st.DrawFn) -> list[str]:
    def shaped(n: int) -> dict[str, Any]:
        row: dict[str, Any] = dict(base_row(n), likes=5)
        row["user"] = {"followers": row.pop("followers"), "name": row.pop("handle")}
        return row

    # the mapping is checked against the early lines: the first is always a readable object
    first = draw(injected(shaped(0), hostile(breakers=False), whole=False))
    rest = [draw(injected(shaped(n), hostile())) for n in draw(st.lists(st.integers(0, 5), max_size=6))]
    return [dump(first)] + [dump(value) for value in rest]


@PROPERTY
@given(lines=jsonl_lines(), blanks=st.lists(st.booleans(), min_size=7, max_size=7))
def test_any_jsonl_value_is_a_post_or_a_quarantine_row(lines: list[str], blanks: list[bool]) -> None:
    with scratch() as folder:
        data = LINES.write(folder / "data.jsonl", lines, blanks[: len(lines)])
        import_and_check("jsonl", data, len(lines), mapping=JSONL_MAPPING).close()


# ---------------------------------------------------------------- parquet: typed columns

COLUMN_TYPES: dict[str, tuple[pa.DataType, st.SearchStrategy[Any]]] = {
    "int64": (pa.int64(), st.integers(-(2**63), 2**63 - 1)),
    "uint64": (pa.uint64(), st.integers(0, 2**64 - 1)),
    "float64": (pa.float64(), st.floats()),
    "decimal": (
        pa.decimal128(38, 3),
        st.decimals(min_value=-(10**30), max_value=10**30, places=3, allow_nan=False, allow_infinity=False),
    ),
    "bool": (pa.bool_(), st.booleans()),
    "string": (pa.string(), st.one_of(st.text(max_size=12), CONTROL_TEXT, st.sampled_from(COUNT_TEXTS + DATE_TEXTS))),
    "binary": (pa.binary(), st.binary(max_size=12)),
    "list": (pa.list_(pa.int64()), st.lists(st.integers(-(2**63), 2**63 - 1), max_size=3)),
    "struct": (pa.struct([("a", pa.int64())]), st.fixed_dictionaries({"a": st.integers(-5, 5)})),
    "timestamp": (pa.timestamp("s"), st.integers(-(2**40), 2**40)),  # years far outside 1..9999 too
    "timestamp_tz": (pa.timestamp("ms", tz="Europe/Paris"), st.integers(-(2**45), 2**45)),
    "date": (pa.date32(), st.integers(-(2**25), 2**25)),
}
"""Parquet column types and their values (nulls are added per cell)."""


PARQUET_KINDS = {
    "id": ["string", "int64", "uint64", "float64", "binary", "list", "struct"],
    "text": ["string", "binary", "int64", "list", "struct"],
    "created_at": ["timestamp", "timestamp_tz", "date", "string", "int64", "float64"],
    "likes": ["int64", "uint64", "float64", "decimal", "bool", "string", "list", "struct"],
    "followers": ["int64", "uint64", "float64", "string", "decimal"],
    "handle": ["string", "binary", "int64", "list", "struct"],
}


@st.composite
def parquet_table(draw: st.DrawFn) -> pa.Table:
    rows = draw(st.integers(1, 8))
    arrays, names = [], []
    for name, kinds in PARQUET_KINDS.items():
        data_type, values = COLUMN_TYPES[draw(st.sampled_from(kinds))]
        column = draw(st.lists(st.one_of(st.none(), values), min_size=rows, max_size=rows))
        if name == "id" and pa.types.is_string(data_type):
            column = [v if v is None or draw(st.booleans()) else str(i) for i, v in enumerate(column)]
        arrays.append(pa.array(column, type=data_type))
        names.append(name)
    return pa.table(arrays, names=names)


PARQUET_MAPPING = {
    "id": "id",
    "text": "text",
    "created_at": "created_at",
    "likes": "likes",
    "author_followers": "followers",
    "author_handle": "handle",
    "auto_detect": False,
}


@PROPERTY
@given(table=parquet_table())
def test_any_parquet_value_is_a_post_or_a_quarantine_row(table: pa.Table) -> None:
    with scratch() as folder:
        data = folder / "data.parquet"
        pq.write_table(table, data)
        with import_and_check("parquet", data, table.num_rows, mapping=PARQUET_MAPPING) as ws:
            if pa.types.is_integer(table.schema.field("likes").type) or pa.types.is_decimal(
                table.schema.field("likes").type
            ):
                ids = [i.strip() if isinstance(i, str) else None for i in table.column("id").to_pylist()]
                for post_id, value in zip(ids, table.column("likes").to_pylist()):
                    if post_id and ids.count(post_id) == 1:
                        _check_count(ws, f"data:{post_id}", value, "likes")


def test_a_decimal_count_with_a_fraction_is_flagged() -> None:
    with pytest.raises(BadValue):
        parse_count(Decimal("1.500"))
    assert parse_count(Decimal("12.000")) == 12
