"""postlens dedupe on generated posts: every kind of copy is linked, nothing else is, nothing is deleted."""

from __future__ import annotations

from pathlib import Path

import pytest
from _dedupe_posts import ALONE, EXPECTED, clusters_of, make_workspace
from typer.testing import CliRunner

from postlens.errors import ConfigError, WorkspaceError
from postlens.pipeline.dedupe import last_report, run_dedupe
from postlens.serve.cli import app
from postlens.store.workspace import Workspace


@pytest.fixture(scope="module")
def deduped(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    ws_path = make_workspace(tmp_path_factory.mktemp("dedupe"))
    return ws_path, run_dedupe(ws_path)


def _table(ws_path: Path) -> list[tuple]:
    with Workspace(ws_path, read_only=True) as ws:
        return ws.db.execute(
            "SELECT post_id, cluster_id, reason, linked_to, similarity FROM duplicate_clusters ORDER BY post_id"
        ).fetchall()


def test_each_kind_of_copy_is_one_cluster_and_nothing_else_is_linked(deduped):
    ws_path, _ = deduped
    clusters = sorted(clusters_of(ws_path).values(), key=sorted)
    assert clusters == sorted(EXPECTED.values(), key=sorted)
    assert not ALONE & set().union(*clusters)


def test_links_say_why_and_point_inside_their_cluster(deduped):
    ws_path, _ = deduped
    rows = _table(ws_path)
    cluster_of = {post_id: cluster for post_id, cluster, *_ in rows}
    reasons = {post_id: reason for post_id, _, reason, _, _ in rows}
    assert reasons["archive:100"] == "id" and reasons["mastodon:m1"] == "url" and reasons["s:link2"] == "url"
    assert reasons["s:c2"] == reasons["s:c3"] == "text" and reasons["s:d2"] == "image"
    for post_id, cluster, reason, linked_to, similarity in rows:
        if reason is None:  # the first post of its cluster: the earliest
            assert post_id == cluster and linked_to is None
        else:
            assert cluster_of[linked_to] == cluster and 0 < similarity <= 1
    near = next(r for r in rows if r[0] == "s:c3")
    assert 0.7 <= near[4] < 1.0  # an edited text: similar, not equal
    assert next(r for r in rows if r[0] == "s:d2")[4] >= 1 - 6 / 64


def test_report_counts_cross_source_links_and_what_was_skipped(deduped):
    _, report = deduped
    assert report.cross_source["links"] == 2  # twitter/archive by id, web/mastodon by address
    assert report.cross_source["clusters"] == 2
    assert report.by_reason["image"]["groups"] == 1 and report.by_reason["text"]["posts"] == 3
    assert report.skipped["text: too short to compare"] == 2
    assert report.skipped["text: empty"] == 1
    assert report.skipped["text: empty once links are removed"] == 2  # the link-only posts, linked by url instead
    assert report.skipped["image: remote, no address to compare"] == 1
    assert report.skipped["image unreadable (missing; exact copies only)"] == 1
    unreadable = [post_id for post_id, reason in report.examples if reason.startswith("image unreadable")]
    assert sorted(unreadable) == ["s:broken", "s:gone"]
    assert report.largest[0]["size"] == 3


def test_no_post_is_deleted_and_a_rerun_writes_the_same_rows(deduped):
    ws_path, first = deduped
    with Workspace(ws_path, read_only=True) as ws:
        posts_before = ws.db.execute("SELECT id, content_hash FROM posts ORDER BY id").fetchall()
    rows_before = _table(ws_path)
    again = run_dedupe(ws_path)
    assert _table(ws_path) == rows_before
    assert again.run_id != first.run_id and last_report(ws_path).run_id == again.run_id
    with Workspace(ws_path, read_only=True) as ws:
        assert ws.db.execute("SELECT id, content_hash FROM posts ORDER BY id").fetchall() == posts_before
        assert len(posts_before) == 20


def test_a_stricter_threshold_unlinks_the_edited_text(tmp_path):
    ws_path = make_workspace(tmp_path)
    run_dedupe(ws_path, text_threshold=1.0)
    text = next(c for c in clusters_of(ws_path).values() if "s:c1" in c)
    assert text == {"s:c1", "s:c2"}  # the retweet normalises to the same text; the edit is not equal


def test_bad_settings_and_a_workspace_never_deduped_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="text_threshold"):
        run_dedupe(tmp_path, text_threshold=0)
    Workspace(tmp_path / "empty").close()
    with pytest.raises(WorkspaceError, match="postlens dedupe"):
        last_report(tmp_path / "empty")


def test_cli_runs_and_shows_the_last_report(deduped):
    ws_path, _ = deduped
    runner = CliRunner()
    result = runner.invoke(app, ["dedupe", "--report", "--workspace", str(ws_path)])
    assert result.exit_code == 0, result.output
    assert "cross-source: 2 clusters" in " ".join(result.output.split())
    shown = runner.invoke(app, ["dedupe", "--last", "--workspace", str(ws_path)])
    assert shown.exit_code == 0 and "largest clusters" in shown.output


def test_the_notebook_facade_runs_the_same_step(tmp_path):
    import postlens

    ws_path = make_workspace(tmp_path)
    report = postlens.open(ws_path).dedupe(text_threshold=0.9)
    assert report.settings["text_threshold"] == 0.9 and report.clusters == len(clusters_of(ws_path))
