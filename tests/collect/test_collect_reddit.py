"""``postlens collect --source reddit`` against a real HTTP server on 127.0.0.1 speaking Reddit's OAuth API."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from _apiserver import ApiServer, Reply
from _platforms import install_reddit, make_posts, serve_media

from postlens.pipeline.collect import run_collect

NEW = "/r/python/new"
CREDENTIALS = {
    "REDDIT_CLIENT_ID": "app-id",
    "REDDIT_CLIENT_SECRET": "app-secret-xyz",
    "REDDIT_USER_AGENT": "postlens-tests/1.0 by u/tester",
}


@pytest.fixture
def server():
    api = ApiServer().start()
    yield api
    api.stop()


def rows(workspace: Path, sql: str) -> list[tuple]:
    db = duckdb.connect(str(workspace / "postlens.duckdb"), read_only=True)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def post_count(workspace: Path) -> tuple[int, int]:
    return rows(workspace, "SELECT count(*), count(DISTINCT id) FROM posts")[0]


def collect(server: ApiServer, workspace: Path, query: str = "r/python", sleeps: list[float] | None = None, **options):
    options.setdefault("page_size", 4)
    options.setdefault("environ", CREDENTIALS)
    return run_collect(
        "reddit",
        query,
        workspace=workspace,
        base_url=server.base_url,
        sleep=(sleeps if sleeps is not None else []).append,
        **options,
    )


def test_listing_pages_by_after_with_an_app_token_and_maps_submissions(server, tmp_path):
    install_reddit(server, make_posts(10))
    serve_media(server)

    summary = collect(server, tmp_path, until_caught_up=True)

    assert summary.error is None and summary.caught_up and summary.pages == 3
    sent = server.requests_to(NEW)
    assert [r.query.get("after") for r in sent] == [None, "t3_x1007", "t3_x1003"]
    assert all(
        r.headers["authorization"] == "bearer reddit-token-1-abcdef"
        and r.query["raw_json"] == "1"
        and r.headers["user-agent"] == "postlens-tests/1.0 by u/tester"
        for r in sent
    )
    token_call = server.requests_to("/api/v1/access_token")[0]
    assert b"grant_type=client_credentials" in token_call.body
    assert post_count(tmp_path) == (10, 10)
    native_id, subreddit, likes, comments, inferred = rows(
        tmp_path,
        (
            "SELECT p.native_id, p.labels['subreddit'], e.likes, e.comments, e.observed_inferred "
            "FROM posts p JOIN engagement e ON e.post_id = p.id ORDER BY p.created_at DESC LIMIT 1"
        ),
    )[0]
    assert (native_id, subreddit, likes, comments, inferred) == ("t3_x1010", "python", 0, 2, False)
    assert rows(tmp_path, "SELECT count(*) FROM media WHERE status = 'stored'")[0][0] == 10


def test_subreddit_search_and_site_search_queries(server, tmp_path):
    install_reddit(server, make_posts(3))

    collect(server, tmp_path, "r/python:async io", download_media=False)
    collect(server, tmp_path, "pattern matching", download_media=False)

    inside = server.requests_to("/r/python/search")[0].query
    anywhere = server.requests_to("/search")[0].query
    assert (inside["q"], inside["restrict_sr"], inside["sort"]) == ("async io", "1", "new")
    assert (anywhere["q"], anywhere["sort"]) == ("pattern matching", "new")


def test_a_revoked_token_is_renewed_once_and_bad_credentials_stop_clearly(server, tmp_path):
    tokens = install_reddit(server, make_posts(10))
    serve_media(server)
    collect(server, tmp_path, max_pages=1)
    tokens["revoke"] = True

    summary = collect(server, tmp_path, until_caught_up=True)

    assert summary.error is None and summary.resumed and post_count(tmp_path) == (10, 10)
    assert tokens["issued"] == 3  # one per run, plus one after the 401

    bad = {**CREDENTIALS, "REDDIT_CLIENT_SECRET": "stolen-secret-000"}
    failed = collect(server, tmp_path / "other", environ=bad)
    assert failed.error and "refused (401)" in failed.error and "stolen-secret-000" not in failed.error
    missing = collect(server, tmp_path / "third", environ={})
    assert missing.error and "REDDIT_CLIENT_ID and REDDIT_CLIENT_SECRET" in missing.error


def test_429_and_a_server_error_are_retried_and_a_wrong_page_stops(server, tmp_path):
    install_reddit(server, make_posts(6))
    serve_media(server)
    server.script(NEW, [Reply(429, b"Too Many Requests", {"Retry-After": "4"}), Reply(503, b"<html>busy</html>")])
    sleeps: list[float] = []

    summary = collect(server, tmp_path, sleeps=sleeps, until_caught_up=True)

    assert summary.error is None and post_count(tmp_path) == (6, 6)
    assert sleeps[0] == 4.0 and 0 <= sleeps[1] <= 4
    server.script(NEW, [Reply.json({"kind": "Listing", "data": {"children": "none"}})])
    stopped = collect(server, tmp_path)
    assert stopped.error and "expected a Listing" in stopped.error


def test_an_interrupted_reddit_collect_resumes_without_loss_or_duplicates(server, tmp_path):
    install_reddit(server, make_posts(13))
    serve_media(server)

    def interrupt(summary):
        if summary.pages == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        collect(server, tmp_path, until_caught_up=True, progress=interrupt)
    assert post_count(tmp_path) == (8, 8)

    summary = collect(server, tmp_path, until_caught_up=True)

    assert summary.resumed and summary.caught_up and post_count(tmp_path) == (13, 13)
