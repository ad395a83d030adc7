"""``postlens collect --source x`` against a real HTTP server on 127.0.0.1 speaking X API v2 recent search."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from _apiserver import ApiServer, Reply, endless
from _platforms import install_x, make_posts, serve_media

from postlens.pipeline.collect import run_collect

SEARCH = "/2/tweets/search/recent"
TOKEN = {"X_BEARER_TOKEN": "x-bearer-token-123"}


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


def collect(
    server: ApiServer, workspace: Path, query: str = "#python -is:retweet", sleeps: list[float] | None = None, **options
):
    options.setdefault("page_size", 10)
    options.setdefault("environ", TOKEN)
    return run_collect(
        "x",
        query,
        workspace=workspace,
        base_url=server.base_url,
        sleep=(sleeps if sleeps is not None else []).append,
        **options,
    )


def test_recent_search_pages_by_next_token_with_expansions_and_a_clamped_start_time(server, tmp_path):
    install_x(server, make_posts(25))
    serve_media(server)

    summary = collect(server, tmp_path, until_caught_up=True, since="30d")

    assert summary.error is None and summary.caught_up and summary.pages == 3
    sent = server.requests_to(SEARCH)
    assert [r.query.get("next_token") for r in sent] == [None, "tok10", "tok20"]
    first = sent[0].query
    assert first["query"] == "#python -is:retweet" and "author_id" in first["expansions"]
    start = datetime.strptime(first["start_time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert datetime.now(UTC) - start < timedelta(days=7)  # recent search reaches back 7 days only
    assert post_count(tmp_path) == (25, 25)
    source, handle, followers, hashtags, views, inferred = rows(
        tmp_path,
        (
            "SELECT p.source, p.author_handle, p.author_followers, p.hashtags, e.views, e.observed_inferred "
            "FROM posts p JOIN engagement e ON e.post_id = p.id ORDER BY p.created_at DESC LIMIT 1"
        ),
    )[0]
    assert (source, handle, followers, hashtags, views, inferred) == ("twitter", "alice", 7, ["python"], 100, False)
    assert rows(tmp_path, "SELECT count(*) FROM media WHERE status = 'stored'")[0][0] == 25


def test_an_empty_result_is_caught_up_and_no_token_is_a_clear_error(server, tmp_path):
    install_x(server, [])

    summary = collect(server, tmp_path)
    assert summary.caught_up and summary.pages == 1 and post_count(tmp_path) == (0, 0)

    missing = collect(server, tmp_path / "b", environ={})
    assert missing.error and "X_BEARER_TOKEN" in missing.error
    wrong = collect(server, tmp_path / "c", environ={"X_BEARER_TOKEN": "leaked-but-wrong-777"})
    assert wrong.error and "refused (401)" in wrong.error and "leaked-but-wrong-777" not in wrong.error


def test_429_waits_for_the_window_reset_and_a_500_then_success(server, tmp_path):
    install_x(server, make_posts(12))
    serve_media(server)
    reset = int(time.time()) + 40
    server.script(
        SEARCH,
        [
            Reply.json(
                {"title": "Too Many Requests", "status": 429},
                429,
                {"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)},
            ),
            Reply.json({"title": "Internal Error"}, 500),
        ],
    )
    sleeps: list[float] = []

    summary = collect(server, tmp_path, sleeps=sleeps, until_caught_up=True)

    assert summary.error is None and post_count(tmp_path) == (12, 12)
    assert 30 <= sleeps[0] <= 41 and 0 <= sleeps[1] <= 4 and len(sleeps) == 2


def test_a_malformed_tweet_is_quarantined_oversized_media_refused_and_a_kill_resumes(server, tmp_path):
    posts = make_posts(24)
    posts[3].extra = {"created_at": "last tuesday"}
    install_x(server, posts)
    serve_media(server)
    server.route(
        "GET",
        f"/media/{posts[0].number}.png",
        lambda r: Reply(200, endless(total=32 * 1024 * 1024, head=b"\x89PNG\r\n\x1a\n")),
    )

    def interrupt(summary):
        if summary.pages == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        collect(server, tmp_path, until_caught_up=True, progress=interrupt, max_media_bytes={"image": 100_000})
    assert post_count(tmp_path) == (9, 9)

    summary = collect(server, tmp_path, until_caught_up=True, max_media_bytes={"image": 100_000})

    assert summary.resumed and summary.caught_up and post_count(tmp_path) == (23, 23)
    codes = dict(rows(tmp_path, "SELECT code, count(*) FROM quarantine GROUP BY code"))
    assert codes == {"bad_date": 1, "media_too_large": 1}
    assert server.chunks_sent[f"/media/{posts[0].number}.png"] < 100
