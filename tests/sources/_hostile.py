"""Hypothesis strategies for hostile input, and the check every importer must pass after a real ingest.

Records are built in each platform's real shape, then values anywhere in them are replaced by hostile
ones: numbers of any size and type, "1.2K"-style counts, NUL and other control characters, lone
surrogates, huge strings, wrong types, and nesting 300 or 2,000 levels deep. Media values are remote
URLs only (media *names* are tested elsewhere).

The invariant (``check_workspace``): records in = posts + quarantined records (+ blank lines, which
are not records), every quarantine row has a reason, nothing an importer or the writer reports as a
bug (``record_error``, ``importer_failed``, ``write_failed``), and every stored value is sane.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from postlens.sources import get_importer
from postlens.store.ingest import ImportSummary, ingest
from postlens.store.workspace import Workspace

EXAMPLES = int(os.environ.get("POSTLENS_HYPOTHESIS_EXAMPLES", "15"))
"""Examples per property that imports into a real workspace (each holds up to 8 records); raise it
(e.g. POSTLENS_HYPOTHESIS_EXAMPLES=500) for a long hunt."""
PROPERTY = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
FAST_PROPERTY = settings(max_examples=10 * EXAMPLES, deadline=None)
"""For properties of pure functions (no workspace)."""
BUG_CODES = {"record_error", "importer_failed", "write_failed"}
FILE_LEVEL_CODES = {"empty_file", "bad_compression"}
DEEP_MARK = "__postlens_deep_{}__"
"""A string replaced by a list nested that deep after ``json.dumps`` (which cannot write it itself)."""
HUGE_STRING = "x" * 200_000

# ---------------------------------------------------------------- hostile values

KEY_ALPHABET = "abxyz09_"
"""Keys of generated objects: they can never spell a real field name (no accidental local media path)."""

COUNT_TEXTS = [
    "1.2K",
    "3M",
    "2B",
    "1,234",
    "1 234",
    "1\u00a0234",
    "12.0",
    "1e3",
    "1e30",
    "-5",
    "+7",
    "abc",
    "",
    "null",
    "NaN",
    "inf",
    "-inf",
    "0x10",
    "1,5K",
    "12,34",
    "\u0661\u0662",
    "\u00bd",
    " 42 ",
    "9" * 30,
]
DATE_TEXTS = [
    "2099-01-01T00:00:00Z",
    "1970-01-01T00:00:00Z",
    "0001-01-01T00:00:00+05:00",
    "2024-01-01T00:00:00",
    "9999-12-31T23:59:59-14:00",
    "Wed Apr 17 18:57:37 +0000 2999",
    "1e30",
    "0",
    "-62135596800",
    "2024-02-30",
    "yesterday",
    "1700000000",
    "1700000000000",
]
SPECIAL_NUMBERS = [
    0,
    -1,
    -5,
    2**31,
    2**31 - 1,
    2**63 - 1,
    2**63,
    -(2**63),
    2**64,
    10**30,
    1e30,
    -0.0,
    1.5,
    1e308,
    5e-324,
]
"""Numbers JSON can hold (NaN and infinities, which JSON cannot, are among the unreadable values)."""


def _text(alphabet: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[str]:
    return st.text(alphabet=alphabet, max_size=12) if alphabet is not None else st.text(max_size=12)


CONTROL_TEXT = _text(st.characters(categories=["Cc"]))
SURROGATE_TEXT = _text(st.characters(categories=["Cs"]))
MIXED_TEXT = st.builds(
    lambda a, b, c: a + b + c,
    _text(),
    st.sampled_from(["\x00", "\x07", "\x1b", "\x7f", "\x85", "\ud800", "\udfff", "\t\n"]),
    _text(),
)


def leaves(*, breakers: bool = True) -> st.SearchStrategy[Any]:
    """One hostile scalar (or a marker for deep nesting / a huge string). Values that make a JSON line
    unreadable (lone surrogates, NaN, ints past 64 bits, nesting past 1,024) are one branch of many, so
    most records reach the importer's field handling."""
    unreadable: list[st.SearchStrategy[Any]] = [
        st.sampled_from([float("nan"), float("inf"), float("-inf"), 2**64, 10**30, -(2**70)]),
        st.integers(min_value=2**64),
        SURROGATE_TEXT,
        MIXED_TEXT,
        st.just(DEEP_MARK.format(2000)),
    ]
    options: list[st.SearchStrategy[Any]] = [
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**64), max_value=2**64 - 1),
        st.sampled_from(SPECIAL_NUMBERS),
        st.floats(allow_nan=False, allow_infinity=False),
        st.sampled_from(COUNT_TEXTS),
        _text(),
        CONTROL_TEXT,
        st.sampled_from(DATE_TEXTS),
        st.sampled_from([0, -1, 4102444800, 1e30, -1e12, 253402300800]),
        st.builds(lambda: HUGE_STRING),
        MIXED_TEXT.map(lambda s: s.encode("utf-16", "surrogatepass").decode("utf-16", "replace")),
        st.just(DEEP_MARK.format(300)),
    ]
    if breakers:
        options.append(st.one_of(unreadable))
    return st.one_of(options)


def hostile(*, breakers: bool = True) -> st.SearchStrategy[Any]:
    """A hostile JSON-ish value: a leaf, or small lists/objects of them."""
    return st.recursive(
        leaves(breakers=breakers),
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(st.text(alphabet=KEY_ALPHABET, max_size=4), children, max_size=3)
        ),
        max_leaves=6,
    )


def leaf_paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into a record (objects and lists), the record itself excluded."""
    paths: list[tuple[Any, ...]] = []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for key, child in items:
        path = (*prefix, key)
        paths.append(path)
        paths.extend(leaf_paths(child, path))
    return paths


def set_path(record: Any, path: tuple[Any, ...], value: Any) -> None:
    target = record
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value


@st.composite
def injected(draw: st.DrawFn, base: dict[str, Any], values: st.SearchStrategy[Any], *, whole: bool = True) -> Any:
    """``base`` with hostile values at a few of its paths (sometimes the whole record replaced)."""
    if whole and draw(st.integers(0, 11)) == 0:
        return draw(values)
    record = json.loads(json.dumps(base))
    paths = leaf_paths(record)
    for path in [path for path in paths if draw(st.integers(0, 6)) == 0]:  # about one path in seven
        try:
            set_path(record, path, draw(values))
        except (KeyError, IndexError, TypeError):
            pass  # an earlier injection replaced a parent of this path
    return record


# ---------------------------------------------------------------- writing files


def dump(value: Any) -> str:
    """JSON text of a hostile value: Python's json writes big ints, NaN, Infinity and lone surrogates
    (as escapes); deep markers become real nesting."""
    text = json.dumps(value)
    for depth in (300, 2000):
        text = text.replace(json.dumps(DEEP_MARK.format(depth)), "[" * depth + "]" * depth)
    return text


def records_in_document(text: str, importer: str) -> int:
    """How many records one JSON document holds for ``importer`` (its own rules, from its docs)."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return 1  # one bad_json
    if importer in ("reddit", "mastodon") and isinstance(value, list):
        return len(value)  # a page of records, each its own
    if importer == "twitter-v2" and isinstance(value, dict) and "data" in value:
        data = value["data"]
        return len(data) if isinstance(data, list) else 0 if data is None else 1
    return 1


@dataclass
class Layout:
    """How a JSON-family file is laid out: JSON lines (with blank lines) or one JSON list."""

    name: str
    suffix: str

    def write(self, path: Path, texts: list[str], blanks: list[bool]) -> Path:
        if self.name == "list":
            path.write_text("[\n" + ",\n".join(texts) + "\n]", encoding="utf-8")
        else:
            lines = []
            for text, blank in zip(texts, blanks):
                lines.append(text)
                if blank:
                    lines.append("   ")
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path


LINES = Layout("lines", ".jsonl")
LIST = Layout("list", ".json")


# ---------------------------------------------------------------- importing and checking


@contextmanager
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="postlens-prop-") as folder:
        yield Path(folder)


def run_import(folder: Path, importer: str, data: Path, **options: Any) -> tuple[Workspace, ImportSummary]:
    workspace = Workspace(folder / "ws")
    summary = ingest(workspace, get_importer(importer, **options), [data], batch_size=7)
    return workspace, summary


_CONTROL_PATTERN = "[\x01-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"


def check_workspace(workspace: Workspace, summary: ImportSummary, records_in: int) -> None:
    """The invariant and the sanity of every stored value, read back from the tables."""
    db = workspace.db
    posts = db.execute("SELECT count(*) FROM posts").fetchone()[0]
    rows = db.execute("SELECT code, reason, post_kept FROM quarantine").fetchall()
    record_rows = [r for r in rows if not r[2] and r[0] not in FILE_LEVEL_CODES]
    assert not [r for r in rows if r[0] in BUG_CODES], [r for r in rows if r[0] in BUG_CODES]
    assert all(reason and reason.strip() for _, reason, _ in rows)
    assert posts + len(record_rows) == records_in, (posts, sorted(r[0] for r in record_rows), records_in)
    run = db.execute(
        "SELECT imported + updated + unchanged, quarantined, flagged, notes, status FROM import_runs"
    ).fetchone()
    assert run[0] == posts and run[1] == sum(1 for r in rows if not r[2]) and run[2] == sum(1 for r in rows if r[2])
    assert run[4] == "done" and "records_not_recorded" not in orjson.loads(run[3] or "{}")
    assert (summary.posts_written, summary.quarantined, summary.flagged) == (run[0], run[1], run[2])
    negative = db.execute("SELECT count(*) FROM engagement WHERE least(likes, shares, comments, views) < 0").fetchone()
    assert negative[0] == 0
    assert db.execute("SELECT count(*) FROM posts WHERE author_followers < 0").fetchone()[0] == 0
    for column in ("text", "author_handle", "author_id", "language"):
        dirty = db.execute(
            f"SELECT count(*) FROM posts WHERE regexp_matches({column}, ?) OR strpos({column}, chr(0)) > 0",
            [_CONTROL_PATTERN],
        ).fetchone()[0]
        assert dirty == 0, column
    now = datetime.now(UTC)
    low, high = db.execute("SELECT min(created_at), max(created_at) FROM posts").fetchone()
    assert low is None or low >= datetime(1990, 1, 1, tzinfo=UTC)
    assert high is None or high <= now + timedelta(days=1)


def import_and_check(importer: str, path: Path, records_in: int, **options: Any) -> Workspace:
    """Import into a fresh workspace beside ``path``, check, and return the (open) workspace."""
    workspace, summary = run_import(path.parent, importer, path, **options)
    try:
        check_workspace(workspace, summary, records_in)
    except BaseException:
        workspace.close()
        raise
    return workspace


def flagged_reasons(workspace: Workspace, code: str) -> list[str]:
    return [
        r[0]
        for r in workspace.db.execute("SELECT reason FROM quarantine WHERE post_kept AND code = ?", [code]).fetchall()
    ]


Builder = Callable[[str, Any], dict[str, Any]]
