"""The pure parts of collect: rate-limit headers of four platforms, redaction, the walk of a cursor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from postlens.errors import ConfigError
from postlens.pipeline.collect import parse_since, run_collect
from postlens.sources.connectors.cursor import CursorState
from postlens.sources.connectors.http import Redactor, label_of
from postlens.sources.connectors.ratelimit import exhausted_for, reset_in, retry_after

NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "120"}, 120.0),
        ({"retry-after": format_datetime(datetime.fromtimestamp(NOW + 90, UTC), usegmt=True)}, 90.0),
        ({"Retry-After": "soon"}, None),
        ({"Retry-After": "-5"}, None),
        ({"Retry-After": "nan"}, None),
        ({}, None),
    ],
)
def test_retry_after_reads_seconds_and_http_dates_and_ignores_garbage(headers, expected):
    assert retry_after(headers, NOW) == expected


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(int(NOW) + 30)}, 30.0),  # X: Unix seconds
        (
            {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": datetime.fromtimestamp(NOW + 45, UTC).isoformat()},
            45.0,
        ),  # Mastodon: ISO
        ({"X-Ratelimit-Remaining": "0.0", "X-Ratelimit-Reset": "12"}, 12.0),  # Reddit: seconds from now
        ({"RateLimit-Remaining": "0", "RateLimit-Reset": str(int(NOW) + 5)}, 5.0),  # Bluesky: Unix seconds
        ({"RateLimit-Remaining": "3", "RateLimit-Reset": str(int(NOW) + 5)}, None),  # calls left: no wait
        ({"RateLimit-Remaining": "zero", "RateLimit-Reset": "5"}, None),
        ({"RateLimit-Remaining": "0", "RateLimit-Reset": str(int(NOW) - 50)}, 0.0),  # a reset in the past
    ],
)
def test_an_exhausted_window_waits_until_its_reset_in_each_platforms_dialect(headers, expected):
    assert exhausted_for(headers, NOW) == expected


def test_reset_without_a_readable_value_is_none():
    assert reset_in({"x-rate-limit-reset": "tomorrow"}, NOW) is None


def test_redaction_removes_given_secrets_and_secret_looking_parameters():
    redactor = Redactor(["s3cr3t-token", None, "abc"])  # too-short secrets are not "redacted" everywhere
    shown = redactor.url("https://user:pw@api.example/x?q=python&access_token=zzz&client_secret=yyy&page=s3cr3t-token")
    assert "zzz" not in shown and "yyy" not in shown and "s3cr3t-token" not in shown and "pw" not in shown
    assert "q=python" in shown and redactor.text("abc def") == "abc def"

    assert label_of(shown).startswith("api.example/x?")


def test_a_walk_goes_down_to_its_floor_then_raises_the_high_water_mark():
    now = datetime(2026, 11, 28, 12, tzinfo=UTC)
    state = CursorState()
    walk, resumed = state.begin(now, timedelta(days=2), timedelta(minutes=15))
    assert not resumed and walk.floor == now - timedelta(days=2)
    assert not state.advance(next_page={"max_id": "9"}, oldest=now - timedelta(hours=1), newest=now, items=5)
    restored = CursorState.from_json(state.to_json())  # what a killed run finds
    walk, resumed = restored.begin(now, timedelta(days=2), timedelta(minutes=15))
    assert resumed and walk.next == {"max_id": "9"} and walk.top == now
    assert restored.advance(next_page={"max_id": "3"}, oldest=now - timedelta(days=3), newest=now, items=5)
    assert restored.high_water == now and restored.walk is None
    walk, _ = restored.begin(now + timedelta(hours=1), timedelta(days=2), timedelta(minutes=15))
    assert walk.floor == now - timedelta(minutes=15)  # the next walk stops at the mark minus the lag


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2d", timedelta(days=2)),
        ("12h", timedelta(hours=12)),
        ("90s", timedelta(seconds=90)),
        ("1w", timedelta(weeks=1)),
        (" 1.5 H ", timedelta(hours=1.5)),
    ],
)
def test_since_reads_a_number_and_a_unit(text, expected):
    assert parse_since(text) == expected


@pytest.mark.parametrize("text", ["2", "two days", "0d", "-1d", ""])
def test_since_refuses_what_it_cannot_read(text):
    with pytest.raises(ConfigError):
        parse_since(text)


@pytest.mark.parametrize(
    "url",
    ["https://user:pw@mastodon.example", "https://m.example/?access_token=x", "ftp://m.example", "mastodon.example"],
)
def test_a_base_url_with_credentials_or_no_scheme_is_refused(url, tmp_path):
    with pytest.raises(ConfigError, match="base URL"):
        run_collect("mastodon", "#tag", base_url=url, workspace=tmp_path)


def test_an_api_answer_longer_than_the_limit_is_refused_without_reading_it_all():
    from _apiserver import ApiServer, Reply, endless

    from postlens.errors import BadPage
    from postlens.sources.connectors.http import ApiClient, RetryPolicy

    server = ApiServer().start()
    try:
        server.route("GET", "/huge", lambda r: Reply(200, endless(total=256 * 1024 * 1024, head=b"[")))
        server.route("GET", "/declared", lambda r: Reply(200, b"[" + b" " * 300_000 + b"]"))
        client = ApiClient(server.base_url, policy=RetryPolicy(max_body=200_000), sleep=lambda s: None)
        with pytest.raises(BadPage, match="reading was stopped there"):
            client.get_json("/huge")
        with pytest.raises(BadPage, match="announced 300,002 bytes"):
            client.get_json("/declared")
        client.close()
        assert server.chunks_sent["/huge"] < 4096 // 4  # of 4,096 chunks: stopped near the limit
        assert len(server.requests_to("/huge")) == 1  # not retried: a bigger answer will not shrink
    finally:
        server.stop()


def test_a_connection_cut_mid_answer_is_retried_and_a_dead_server_ends_in_retries_exhausted():
    from _apiserver import ApiServer, Reply

    from postlens.errors import RetriesExhausted
    from postlens.sources.connectors.http import ApiClient, RetryPolicy

    def cut_off():
        yield b'[{"id": '
        raise ConnectionResetError("the server went away")

    server = ApiServer().start()
    try:
        server.route("GET", "/page", lambda r: Reply.json([{"id": 1}]))
        server.script("/page", [Reply(200, cut_off(), {"Content-Type": "application/json"})])
        sleeps: list[float] = []
        client = ApiClient(server.base_url, policy=RetryPolicy(max_attempts=3), sleep=sleeps.append)
        body, _ = client.get_json("/page")
        assert body == [{"id": 1}] and client.stats.retries == 1 and len(sleeps) == 1
        client.close()
        dead = server.base_url
    finally:
        server.stop()
    fresh = ApiClient(dead, policy=RetryPolicy(max_attempts=3), sleep=sleeps.append)  # no kept-alive socket
    with pytest.raises(RetriesExhausted, match="failed 3 times; last: ConnectError"):
        fresh.get_json("/page")
    fresh.close()
