"""``postlens collect --source bluesky`` against a real HTTP server on 127.0.0.1 speaking XRPC (AT protocol)."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest
from _apiserver import ApiServer, Reply
from _platforms import install_bluesky, make_posts, serve_media

from postlens.pipeline.collect import run_collect

SEARCH = "/xrpc/app.bsky.feed.searchPosts"
FEED = "/xrpc/app.bsky.feed.getAuthorFeed"
SIGNED_IN = {"BLUESKY_HANDLE": "alice.bsky.social", "BLUESKY_APP_PASSWORD": "app-pass-1234-abcd"}


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


def collect(server: ApiServer, workspace: Path, query: str = "python", sleeps: list[float] | None = None, **options):
    options.setdefault("page_size", 4)
    options.setdefault("environ", {})
    return run_collect(
        "bluesky",
        query,
        workspace=workspace,
        base_url=server.base_url,
        sleep=(sleeps if sleeps is not None else []).append,
        **options,
    )


def test_search_pages_by_cursor_from_the_floor_and_maps_post_views(server, tmp_path):
    install_bluesky(server, make_posts(10))
    serve_media(server)

    summary = collect(server, tmp_path, until_caught_up=True, since="1d")

    assert summary.error is None and summary.caught_up and summary.pages == 3  # 4 + 4 + 2, no cursor after
    sent = server.requests_to(SEARCH)
    assert [r.query.get("cursor") for r in sent] == [None, "4", "8"]
    assert all(
        r.query["sort"] == "latest" and r.query["q"] == "python" and r.query["since"].endswith("Z") for r in sent
    )
    assert post_count(tmp_path) == (10, 10)
    native_id, handle, hashtags, language, likes, inferred = rows(
        tmp_path,
        (
            "SELECT p.native_id, p.author_handle, p.hashtags, p.language, e.likes, e.observed_inferred "
            "FROM posts p JOIN engagement e ON e.post_id = p.id ORDER BY p.created_at DESC LIMIT 1"
        ),
    )[0]
    assert native_id == "at://did:plc:alice/app.bsky.feed.post/3k1010"
    assert (handle, hashtags, language, likes, inferred) == ("alice.bsky.social", ["python"], "en", 0, False)
    assert rows(tmp_path, "SELECT count(*) FROM media WHERE status = 'stored'")[0][0] == 10


def test_author_feed_reads_the_post_inside_each_feed_item(server, tmp_path):
    install_bluesky(server, make_posts(5))
    serve_media(server)

    summary = collect(server, tmp_path, "@alice.bsky.social", until_caught_up=True, download_media=False)

    assert summary.caught_up and post_count(tmp_path) == (5, 5)
    assert server.requests_to(FEED)[0].query["actor"] == "alice.bsky.social"
    assert rows(tmp_path, "SELECT DISTINCT status FROM media") == [("remote",)]  # --no-media keeps URLs


def test_signs_in_renews_an_expired_token_and_keeps_secrets_out_of_errors(server, tmp_path):
    session = install_bluesky(server, make_posts(10), handle="alice.bsky.social", password="app-pass-1234-abcd")
    serve_media(server)
    original = server.routes[("GET", SEARCH)]
    calls = {"n": 0}

    def expire_on_second_page(request):
        calls["n"] += 1
        if calls["n"] == 2:
            session["expire"] = True
        return original(request)

    server.route("GET", SEARCH, expire_on_second_page)

    summary = collect(server, tmp_path, until_caught_up=True, environ=SIGNED_IN)

    assert summary.error is None and summary.caught_up and post_count(tmp_path) == (10, 10)
    assert len(server.requests_to("/xrpc/com.atproto.server.refreshSession")) == 1  # 400 ExpiredToken -> refresh
    assert session["issued"] == 2

    wrong = {**SIGNED_IN, "BLUESKY_APP_PASSWORD": "wrong-pass-9999"}
    failed = collect(server, tmp_path / "other", environ=wrong)
    assert failed.error and "refused (401)" in failed.error and "wrong-pass-9999" not in failed.error
    assert failed.pages == 0


def test_rate_limit_headers_429_and_500_are_waited_out(server, tmp_path):
    install_bluesky(server, make_posts(8))
    serve_media(server)
    original = server.routes[("GET", SEARCH)]

    def exhausted_window(request):
        reply = original(request)
        if "cursor" not in request.query:  # the first page says: no calls left, window resets in ~30 s
            reply.headers.update({"RateLimit-Remaining": "0", "RateLimit-Reset": str(int(time.time()) + 30)})
        return reply

    server.route("GET", SEARCH, exhausted_window)
    server.script(
        SEARCH,
        [
            Reply.json(
                {"error": "RateLimitExceeded"},
                429,
                {"RateLimit-Reset": str(int(time.time()) + 20), "RateLimit-Remaining": "0"},
            ),
            Reply.json({"error": "InternalServerError"}, 502),
        ],
    )
    sleeps: list[float] = []

    summary = collect(server, tmp_path, sleeps=sleeps, until_caught_up=True)

    assert summary.error is None and post_count(tmp_path) == (8, 8)
    assert 10 <= sleeps[0] <= 21  # the 429's reset time (Unix seconds), no Retry-After given
    assert 0 <= sleeps[1] <= 4  # the 502, second try of the call: full jitter within base * 2^2
    assert 20 <= sleeps[2] <= 31  # before page 2: the first page said no calls were left
    assert summary.rate_limit_waits == 2 and summary.retries == 1


def test_a_bad_post_view_is_quarantined_and_a_wrong_page_stops_clearly(server, tmp_path):
    posts = make_posts(8)
    posts[1].extra = {"uri": "https://not-an-at-uri"}
    install_bluesky(server, posts)
    serve_media(server)
    server.script(SEARCH, [Reply.json({"hits": []})])  # not the documented shape

    stopped = collect(server, tmp_path, until_caught_up=True)

    assert stopped.error and "expected an object with a 'posts' list" in stopped.error and stopped.pages == 0
    summary = collect(server, tmp_path, until_caught_up=True)
    assert summary.caught_up and post_count(tmp_path) == (7, 7)
    assert rows(tmp_path, "SELECT code, line FROM quarantine") == [("missing_id", 2)]


def test_an_interrupted_collect_resumes_from_its_cursor_without_loss_or_duplicates(server, tmp_path):
    install_bluesky(server, make_posts(14))
    serve_media(server)

    def interrupt(summary):
        if summary.pages == 2:
            raise KeyboardInterrupt  # Ctrl-C after the second page was committed

    with pytest.raises(KeyboardInterrupt):
        collect(server, tmp_path, until_caught_up=True, progress=interrupt)
    assert post_count(tmp_path) == (8, 8)
    assert rows(tmp_path, "SELECT status FROM import_runs") == [("failed",)]

    summary = collect(server, tmp_path, until_caught_up=True)

    assert summary.resumed and summary.pages == 2 and summary.caught_up
    assert [r.query.get("cursor") for r in server.requests_to(SEARCH)][-2:] == ["8", "c"]
    assert post_count(tmp_path) == (14, 14)


def test_unknown_source_and_bad_since_list_what_is_accepted(tmp_path):
    from postlens.errors import ConfigError

    with pytest.raises(ConfigError, match="known: bluesky, mastodon, reddit, x"):
        run_collect("myspace", "x", workspace=tmp_path)
    with pytest.raises(ConfigError, match=r"e\.g\. 2d or 12h"):
        run_collect("bluesky", "x", workspace=tmp_path, since="yesterday")
    with pytest.raises(ConfigError, match="'#tag', 'public'"):
        run_collect("mastodon", "python", workspace=tmp_path, since=timedelta(days=1))


def test_a_kill_between_storing_a_page_and_saving_the_cursor_refetches_that_page_without_duplicates(
    server, tmp_path, monkeypatch
):
    import postlens.pipeline.collect as collect_module

    install_bluesky(server, make_posts(12))
    serve_media(server)
    real_save = collect_module.save_cursor
    saves = {"n": 0}

    def die_on_second_save(*args, **kwargs):
        saves["n"] += 1
        if saves["n"] == 2:
            raise KeyboardInterrupt  # page 2 is committed, its cursor is not
        return real_save(*args, **kwargs)

    monkeypatch.setattr(collect_module, "save_cursor", die_on_second_save)
    with pytest.raises(KeyboardInterrupt):
        collect(server, tmp_path, until_caught_up=True)
    monkeypatch.setattr(collect_module, "save_cursor", real_save)
    assert post_count(tmp_path) == (8, 8)

    summary = collect(server, tmp_path, until_caught_up=True)

    assert summary.resumed and [r.query.get("cursor") for r in server.requests_to(SEARCH)][-2:] == ["4", "8"]
    assert summary.unchanged == 4 and summary.imported == 4  # page 2 again (same posts), then page 3
    assert post_count(tmp_path) == (12, 12)
