"""``postlens collect --source mastodon`` against a real HTTP server on 127.0.0.1 speaking the Mastodon API."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import duckdb
import orjson
import pytest
from _apiserver import ApiServer, Reply, endless
from _platforms import install_mastodon, make_posts, serve_media

from postlens.pipeline.collect import DEFAULT_LAG, run_collect

SRC = Path(__file__).resolve().parents[2] / "src"
TAG_PATH = "/api/v1/timelines/tag/python"


@pytest.fixture
def server():
    api = ApiServer().start()
    yield api
    api.stop()


def counts(workspace: Path) -> dict[str, int]:
    db = duckdb.connect(str(workspace / "postlens.duckdb"), read_only=True)
    try:
        return {
            "posts": db.execute("SELECT count(*) FROM posts").fetchone()[0],
            "distinct": db.execute("SELECT count(DISTINCT id) FROM posts").fetchone()[0],
            "snapshots": db.execute("SELECT count(*) FROM engagement").fetchone()[0],
            "stored_media": db.execute("SELECT count(*) FROM media WHERE status = 'stored'").fetchone()[0],
            "quarantine": db.execute("SELECT count(*) FROM quarantine").fetchone()[0],
        }
    finally:
        db.close()


def collect(server: ApiServer, workspace: Path, sleeps: list[float] | None = None, **options):
    record = sleeps if sleeps is not None else []
    options.setdefault("page_size", 5)
    options.setdefault("environ", {})
    query = options.pop("query", "#python")
    return run_collect("mastodon", query, workspace=workspace, base_url=server.base_url, sleep=record.append, **options)


def test_pages_through_the_tag_timeline_stores_posts_media_and_a_cursor(server, tmp_path):
    posts = make_posts(12)
    install_mastodon(server, posts)
    serve_media(server)
    seen: list[int] = []

    summary = collect(server, tmp_path, until_caught_up=True, progress=lambda s: seen.append(s.pages))

    assert summary.error is None and summary.caught_up
    # 5 + 5 + 2, then an empty page (Mastodon links a next page after every non-empty one)
    assert summary.pages == 4 and seen == [1, 2, 3, 4]
    assert [r.query.get("max_id") for r in server.requests_to(TAG_PATH)] == [None, "1008", "1003", "1001"]
    got = counts(tmp_path)
    assert got["posts"] == 12 and got["stored_media"] == 12 and got["snapshots"] == 12
    db = duckdb.connect(str(tmp_path / "postlens.duckdb"), read_only=True)
    text, hashtags, observed_inferred = db.execute(
        "SELECT p.text, p.hashtags, e.observed_inferred FROM posts p JOIN engagement e ON e.post_id = p.id "
        "WHERE p.native_id = '1012'"
    ).fetchone()
    source, query, pages, state = db.execute("SELECT source, query, pages, state FROM collect_cursors").fetchone()
    db.close()
    assert text == "post number 1012 about #python" and hashtags == ["python"] and observed_inferred is False
    assert (source, query, pages) == ("mastodon", "#python", 4)
    saved = orjson.loads(state)
    assert saved["walk"] is None  # the walk ended: nothing left to resume
    assert saved["high_water"][:19] == posts[0].created_at.isoformat()[:19]  # the newest post collected


def test_a_second_pass_reads_down_to_the_high_water_mark_and_appends_engagement_snapshots(server, tmp_path):
    posts = make_posts(12, step=timedelta(hours=1))
    install_mastodon(server, posts)
    serve_media(server)
    collect(server, tmp_path, until_caught_up=True)
    before = counts(tmp_path)
    posts.insert(0, make_posts(1, start=1012)[0])  # one new post (number 1013), newest
    for post in posts:
        post.likes += 5

    already = len(server.log)

    summary = collect(server, tmp_path, until_caught_up=True, lag=timedelta(minutes=30))

    after = counts(tmp_path)
    downloads = [r.path for r in server.log[already:] if r.path.startswith("/media/")]
    assert downloads == ["/media/1013.png"]  # media stored by the first pass are not downloaded again
    assert after["stored_media"] == before["stored_media"] + 1
    assert summary.caught_up and summary.imported == 1
    assert summary.pages == 1  # the first page already reaches below the old high-water mark minus the lag
    assert after["posts"] == before["posts"] + 1 == after["distinct"]
    assert after["snapshots"] > before["snapshots"]  # counts moved: a new snapshot per post seen again
    assert summary.older_than_window >= 1  # posts below the floor on that page were not stored again


def test_429_waits_retry_after_and_a_500_is_retried_with_bounded_backoff(server, tmp_path):
    install_mastodon(server, make_posts(7))
    serve_media(server)
    server.script(
        TAG_PATH,
        [Reply.json({"error": "Too many requests"}, 429, {"Retry-After": "7"}), Reply.json({"error": "boom"}, 500)],
    )
    sleeps: list[float] = []

    summary = collect(server, tmp_path, sleeps, until_caught_up=True)

    assert summary.error is None and counts(tmp_path)["posts"] == 7
    assert sleeps[0] == 7.0  # Retry-After honoured exactly
    assert len(sleeps) == 2 and 0 <= sleeps[1] <= 4.0  # the second try of the call: full jitter within base * 2^2
    assert summary.retries == 1 and summary.rate_limit_waits == 1


def test_a_rate_limit_longer_than_max_wait_stops_with_the_cursor_saved(server, tmp_path):
    install_mastodon(server, make_posts(12))
    serve_media(server)
    collect(server, tmp_path, max_pages=1)
    server.script(TAG_PATH, [Reply.json({"error": "slow down"}, 429, {"Retry-After": "3600"})])

    summary = collect(server, tmp_path, until_caught_up=True, max_wait=60)

    assert "3,600 s" in summary.error and "cursor is saved" in summary.error
    resumed = collect(server, tmp_path, until_caught_up=True)
    assert resumed.resumed and resumed.caught_up
    assert counts(tmp_path)["posts"] == 12 == counts(tmp_path)["distinct"]


def test_a_malformed_status_is_quarantined_and_a_page_that_is_not_json_is_retried(server, tmp_path):
    posts = make_posts(6)
    posts[2].extra = {"created_at": "not a date"}
    install_mastodon(server, posts)
    serve_media(server)
    server.script(TAG_PATH, [Reply(200, b"<html>502 Bad Gateway</html>", {"Content-Type": "text/html"})])

    summary = collect(server, tmp_path, until_caught_up=True)

    assert summary.error is None and summary.retries == 1
    assert counts(tmp_path)["posts"] == 5
    db = duckdb.connect(str(tmp_path / "postlens.duckdb"), read_only=True)
    file, line, code = db.execute("SELECT file, line, code FROM quarantine").fetchone()
    db.close()
    assert code == "bad_date" and line == 3 and "api/v1/timelines/tag/python" in file


def test_a_page_of_the_wrong_shape_stops_the_run_clearly_and_loses_nothing(server, tmp_path):
    install_mastodon(server, make_posts(12))
    serve_media(server)
    first = collect(server, tmp_path, max_pages=1)
    server.script(TAG_PATH, [Reply.json({"error": "this is not a timeline"})])

    summary = collect(server, tmp_path, until_caught_up=True)

    assert summary.error and "expected a JSON list of statuses" in summary.error and summary.pages == 0
    assert counts(tmp_path)["posts"] == first.posts_seen == 5
    again = collect(server, tmp_path, until_caught_up=True)
    assert again.resumed and counts(tmp_path)["posts"] == 12


def test_an_expired_token_stops_with_a_clear_error_without_the_token_and_keeps_what_was_stored(server, tmp_path):
    install_mastodon(server, make_posts(12), token="good-token-123")
    serve_media(server)
    collect(server, tmp_path, max_pages=1, environ={"MASTODON_ACCESS_TOKEN": "good-token-123"})

    summary = collect(server, tmp_path, until_caught_up=True, environ={"MASTODON_ACCESS_TOKEN": "expired-token-456"})

    assert summary.error and "refused (401)" in summary.error and "credentials" in summary.error
    assert "expired-token-456" not in summary.error
    assert len(server.requests_to(TAG_PATH)) == 2  # one page, one refused call: no retry storm on a 401
    assert counts(tmp_path)["posts"] == 5
    done = collect(server, tmp_path, until_caught_up=True, environ={"MASTODON_ACCESS_TOKEN": "good-token-123"})
    assert done.caught_up and counts(tmp_path)["posts"] == 12 == counts(tmp_path)["distinct"]
    assert server.requests_to(TAG_PATH)[-1].headers["authorization"] == "Bearer good-token-123"


def test_media_over_the_limit_is_refused_at_the_limit_without_reading_it_all(server, tmp_path):
    posts = make_posts(3)
    install_mastodon(server, posts)
    serve_media(server)
    png_head = b"\x89PNG\r\n\x1a\n"
    total = 64 * 1024 * 1024
    server.route(
        "GET",
        f"/media/{posts[0].number}.png",
        lambda r: Reply(200, endless(total=total, head=png_head), {"Content-Type": "image/png"}),
    )
    server.route(
        "GET",
        f"/media/{posts[1].number}.png",
        lambda r: Reply(200, png_head + b"\0" * (300 * 1024), {"Content-Type": "image/png"}),
    )

    summary = collect(server, tmp_path, until_caught_up=True, max_media_bytes={"image": 256 * 1024})

    assert summary.media_refused == 2 and summary.media_fetched == 1
    chunk_count = total // (64 * 1024)
    assert server.chunks_sent[f"/media/{posts[0].number}.png"] < chunk_count // 4  # stopped early
    db = duckdb.connect(str(tmp_path / "postlens.duckdb"), read_only=True)
    rows = db.execute("SELECT q.code, q.post_kept, q.reason FROM quarantine q ORDER BY q.reason").fetchall()
    statuses = db.execute("SELECT status, count(*) FROM media GROUP BY status ORDER BY status").fetchall()
    db.close()
    assert {r[0] for r in rows} == {"media_too_large"} and all(r[1] for r in rows)
    assert any("Content-Length" in r[2] for r in rows) and any("stopped there" in r[2] for r in rows)
    assert statuses == [("remote", 2), ("stored", 1)]  # the refused parts keep their URLs
    assert counts(tmp_path)["posts"] == 3


def test_media_on_a_private_address_is_not_fetched_when_the_api_is_public(tmp_path):
    from postlens.sources.connectors.download import MediaDownloader
    from postlens.types import MediaPart, Modality, Post

    downloader = MediaDownloader(tmp_path / "in", resolver=lambda host: ["10.0.0.7"])
    post = Post(
        "mastodon:x", "1", "mastodon", None, "hi", media=[MediaPart(Modality.IMAGE, url="https://cdn.example/a.png")]
    )
    downloader.attach(post)
    downloader.close()
    assert post.media[0].source_path is None and post.notes[0].code == "media_private_host"


def test_a_killed_collect_resumes_with_no_post_lost_or_duplicated(server, tmp_path):
    install_mastodon(server, make_posts(23), page_cap=5)
    serve_media(server)
    blocked, release = threading.Event(), threading.Event()
    third_page_max_id = "1014"  # pages of 5: 1023..1019, 1018..1014, then max_id=1014

    original = server.routes[("GET", TAG_PATH)]

    def slow_third_page(request):
        if request.query.get("max_id") == third_page_max_id and not release.is_set():
            blocked.set()
            release.wait(60)
        return original(request)

    server.route("GET", TAG_PATH, slow_third_page)
    command = [
        sys.executable,
        "-c",
        "from postlens.serve.cli import main; main()",
        "collect",
        "--source",
        "mastodon",
        "--query",
        "#python",
        "--until-caught-up",
        "--base-url",
        server.base_url,
        "--workspace",
        str(tmp_path),
    ]
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    env.pop("MASTODON_ACCESS_TOKEN", None)
    process = subprocess.Popen(
        [*command, "--max-pages", "100"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        assert blocked.wait(120), process.stderr.read().decode() if process.poll() is not None else "not blocked"
        process.send_signal(signal.SIGKILL)
        process.wait(30)
    finally:
        release.set()
        if process.poll() is None:
            process.kill()
    mid = counts(tmp_path)
    assert 0 < mid["posts"] < 23 and mid["posts"] == mid["distinct"]

    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)

    assert result.returncode == 0, result.stderr
    assert "resumed an unfinished walk" in result.stdout
    after = counts(tmp_path)
    assert after["posts"] == 23 == after["distinct"]


def test_an_account_query_looks_the_account_up_and_reset_starts_again_from_since(server, tmp_path):
    install_mastodon(server, make_posts(4))
    serve_media(server)

    first = collect(server, tmp_path, until_caught_up=True, download_media=False, query="@alice@127.0.0.1")
    again = collect(
        server, tmp_path, until_caught_up=True, download_media=False, query="@alice@127.0.0.1", reset=True, since="1h"
    )

    assert server.requests_to("/api/v1/accounts/lookup")[0].query["acct"] == "alice@127.0.0.1"
    assert len(server.requests_to("/api/v1/accounts/1/statuses")) == 4  # two walks of 4 + an empty page
    assert first.caught_up and again.caught_up and not again.resumed
    # reset: the floor is now - since (1 h) again, below where the saved cursor would have stopped
    assert first.floor < again.floor < first.high_water - DEFAULT_LAG
    assert counts(tmp_path)["posts"] == 4


def test_a_notebook_collects_through_the_workspace_handle(server, tmp_path):
    import postlens

    install_mastodon(server, make_posts(8))
    collect(server, tmp_path, max_pages=1, download_media=False)  # postlens.open needs a workspace
    summary = postlens.open(tmp_path).collect(
        "mastodon",
        "#python",
        base_url=server.base_url,
        environ={},
        page_size=5,
        download_media=False,
        until_caught_up=True,
    )
    assert summary.resumed and summary.caught_up and counts(tmp_path)["posts"] == 8
