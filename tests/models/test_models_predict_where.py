"""``--where`` picks posts and can do nothing else: not a second statement, not a write, not a file read."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from postlens.errors import ConfigError
from postlens.store.post_filter import check_where, select_post_ids
from postlens.store.workspace import Workspace


@pytest.fixture
def ws(tmp_path):
    workspace = Workspace(tmp_path / "ws")
    now = datetime.now(UTC)
    for i, split in enumerate(["train", "val", "val", "test", "train;x"]):
        workspace.db.execute(
            "INSERT INTO posts (id, source, native_id, platform, text, labels, content_hash, run_id, first_seen, updated_at) "
            "VALUES (?, 's', ?, 'x', ?, MAP(['split'], [?]), 'h', 'r', ?, ?)",
            [f"s:{i}", str(i), f"text {i}", split, now, now],
        )
    workspace.db.execute("INSERT INTO media (post_id, position, kind, status) VALUES ('s:2', 0, 'image', 'stored')")
    yield workspace
    workspace.close()


def test_conditions_pick_posts(ws):
    assert select_post_ids(ws.db, "labels['split'] = 'val'") == ["s:1", "s:2"]
    assert select_post_ids(ws.db, "labels['split'] = 'train;x'") == ["s:4"]  # ';' inside a string is data
    assert select_post_ids(ws.db, "id IN (SELECT post_id FROM media WHERE kind = 'image')") == ["s:2"]
    assert select_post_ids(ws.db, "labels['split'] = 'val'", within=["s:2", "s:3"]) == ["s:2"]
    assert select_post_ids(ws.db, "text LIKE '%(%'") == []  # a bracket inside a string is data
    assert select_post_ids(ws.db, "id IN (WITH v AS (SELECT 's:3' AS i) SELECT i FROM v)") == ["s:3"]


@pytest.mark.parametrize(
    "attack, said",
    [
        ("true; DROP TABLE posts", "';'"),
        ("true); DROP TABLE posts; SELECT (1", "closes a bracket"),
        ("'a' = 'a'; DROP TABLE posts", "';'"),
        ("1=1) OR (1=1", "closes a bracket"),
        ("(1=1", "bracket"),
        ("true -- and the rest", "comment"),
        ("true /* hidden */", "comment"),
        ("id IN (SELECT column0 FROM read_csv('/etc/passwd'))", "table function read_csv"),
        ("exists (SELECT * FROM glob('/etc/*'))", "table function glob"),
        ("id IN (SELECT name FROM sqlite_master)", "workspace tables only"),
        ("id IN (SELECT table_name FROM information_schema.tables)", "workspace tables only"),
        ("true) UNION SELECT 'x' FROM (SELECT 1", "closes a bracket"),
        ("id IN (COPY posts TO '/tmp/x.csv')", "COPY"),
        ("", "empty"),
        ("   ", "empty"),
        ("a\x00b", "NUL"),
        ("x" * 10_001, "characters"),
        ("no_such_column = 1", "posts has columns: id, source"),
        ("labels['split'] = ", "not a valid condition"),
        ("(" * 3000 + "true" + ")" * 3000, "depth"),
        ("id IN (SELECT * FROM query('DROP TABLE posts'))", "table function query"),
    ],
)
def test_anything_but_a_condition_is_refused(ws, attack, said):
    with pytest.raises(ConfigError) as error:
        select_post_ids(ws.db, attack)
    assert said in str(error.value)
    assert ws.db.execute("SELECT count(*) FROM posts").fetchone() == (5,)  # nothing was changed


def test_statement_keywords_are_refused_before_parsing():
    for keyword in ("INSERT", "DELETE", "UPDATE", "ATTACH", "PRAGMA", "INSTALL", "LOAD", "SET"):
        with pytest.raises(ConfigError, match=keyword):
            check_where(f"id IN ({keyword} x)")
    assert check_where("  labels['split'] = 'val'  ") == "labels['split'] = 'val'"


def test_runs_on_a_read_only_workspace(ws, tmp_path):
    ws.close()
    with Workspace(tmp_path / "ws", read_only=True) as read_only:
        assert select_post_ids(read_only.db, "labels['split'] = 'test'") == ["s:3"]
