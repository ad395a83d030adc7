"""One story, one alert: term alerts of the same posts are grouped; sub-stories join; runs in halves agree."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pytest
from _trend_posts import import_posts, post

from postlens.errors import ConfigError
from postlens.tasks.trends import TrendSettings, trends

START = datetime(2026, 5, 4, tzinfo=UTC)
SOURCES = ["hashtags", "entities", "topics"]


def background(days: int, seed: int = 1) -> list[dict]:
    """About 20 posts an hour of ordinary chatter over ten stable tags (no names, one of five topics)."""
    rng = np.random.default_rng(seed)
    records = []
    for hour in range(days * 24):
        at = START + timedelta(hours=hour)
        for k in range(int(rng.poisson(20))):
            tag = f"tag{int(rng.integers(10))}"
            records.append(
                post(f"bg-{hour}-{k}", at + timedelta(seconds=int(rng.integers(3600))), f"just posting #{tag}", [tag])
            )
    return records


def burst(name: str, at: datetime, text: str, tag: str, n: int = 30) -> list[dict]:
    """``n`` posts in the hour from ``at``, each with the same names and hashtag (the text varies)."""
    return [
        post(f"{name}-{k}", at + timedelta(minutes=k * 55 // n), f"{text}, report {k} #{tag}", [tag]) for k in range(n)
    ]


def with_topics(workspace: Path, topic_of: dict[str, int]) -> None:
    """A ``post_topics`` table as ``postlens segments`` writes it: the given posts' topic, else one of five."""
    with duckdb.connect(str(workspace / "postlens.duckdb")) as db:
        ids = [r[0] for r in db.execute("SELECT id FROM posts ORDER BY id").fetchall()]
        db.execute("CREATE OR REPLACE TABLE post_topics (post_id VARCHAR, topic_id INTEGER)")
        db.executemany(
            "INSERT INTO post_topics VALUES (?, ?)", [[i, topic_of.get(i, k % 5)] for k, i in enumerate(ids)]
        )


FLOOD = "Flooding reported across Riverton"
FLOOD_AT = START + timedelta(days=3, hours=10)


def test_a_hashtag_its_name_and_its_topic_bursting_together_are_one_story(tmp_path: Path) -> None:
    records = background(4) + burst("flood", FLOOD_AT, FLOOD, "riverflood")
    import_posts(records, tmp_path, "posts", tmp_path / "ws")
    with_topics(tmp_path / "ws", {f"syn:flood-{k}": 9 for k in range(30)})
    report = trends(tmp_path / "ws", since="5d", bin="1h", sources=SOURCES)
    fired = {(a.source, a.term) for a in report.alerts}
    assert {("hashtags", "#riverflood"), ("entities", "riverton"), ("topics", "topic 9")} <= fired
    assert len(report.stories) == 1, [(s.lead, [m.term for m in s.members]) for s in report.stories]
    story = report.stories[0]
    assert story.bin_start == FLOOD_AT and story.fired_at == FLOOD_AT + timedelta(hours=1)
    assert {m.source for m in story.members} == set(SOURCES)
    assert {a.story for a in report.alerts} == {story.key}
    assert len(story.first_posts) == 30


def test_two_unrelated_bursts_in_the_same_hour_are_two_stories(tmp_path: Path) -> None:
    records = background(4) + burst("flood", FLOOD_AT, FLOOD, "riverflood")
    records += burst("power", FLOOD_AT, "Power cut at Lakeside Mall", "blackout")
    import_posts(records, tmp_path, "posts", tmp_path / "ws")
    report = trends(tmp_path / "ws", since="5d", bin="1h", sources=["hashtags", "entities"])
    groups = sorted(sorted(m.term for m in s.members) for s in report.stories)
    assert groups == [["#blackout", "lakeside mall"], ["#riverflood", "riverton"]]
    assert all(s.bin_start == FLOOD_AT for s in report.stories)


def test_a_later_sub_story_joins_its_story_and_one_after_the_gap_is_new(tmp_path: Path) -> None:
    """A day after the flood, volunteers in Riverton (a new hashtag) burst: the same story, not a new
    alert. Eight days later, with the story over (gap of three days), the same burst is news again."""
    sub_at = FLOOD_AT + timedelta(days=1, hours=5)
    late_at = FLOOD_AT + timedelta(days=8, hours=2)
    records = background(12) + burst("flood", FLOOD_AT, FLOOD, "riverflood")
    records += burst("sand", sub_at, "Volunteers fill sandbags in Riverton", "sandbagcrew")
    records += burst("late", late_at, "Volunteers rebuild the Riverton levee", "leveecrew")
    import_posts(records, tmp_path, "posts", tmp_path / "ws")
    report = trends(tmp_path / "ws", since="13d", bin="1h", sources=["hashtags", "entities"])
    assert {a.term for a in report.alerts} >= {"#riverflood", "#sandbagcrew", "#leveecrew"}
    by_term = {m.term: s for s in report.stories for m in s.members}
    assert by_term["#sandbagcrew"] is by_term["#riverflood"]
    assert by_term["#riverflood"].fired_at == FLOOD_AT + timedelta(hours=1)
    assert by_term["#leveecrew"] is not by_term["#riverflood"]
    assert by_term["#leveecrew"].bin_start == late_at
    assert len(report.stories) == 2


def test_stories_are_the_same_in_one_run_as_in_two_halves(tmp_path: Path) -> None:
    sub_at = FLOOD_AT + timedelta(days=1, hours=5)
    records = background(6) + burst("flood", FLOOD_AT, FLOOD, "riverflood")
    records += burst("sand", sub_at, "Volunteers fill sandbags in Riverton", "sandbagcrew")
    records += burst("power", FLOOD_AT + timedelta(days=2), "Power cut at Lakeside Mall", "blackout")
    cut = FLOOD_AT + timedelta(hours=20, minutes=17)  # between the flood and its sub-story, mid-bin
    import_posts(records, tmp_path / "whole", "all", tmp_path / "whole" / "ws")
    whole = trends(tmp_path / "whole" / "ws", since="7d", bin="1h", sources=["hashtags", "entities"])
    halves = tmp_path / "halves" / "ws"
    import_posts(
        [r for r in records if datetime.fromisoformat(r["created_at"]) < cut], tmp_path / "halves", "a", halves
    )
    first = trends(halves, since="7d", bin="1h", sources=["hashtags", "entities"])
    assert len(first.stories) == 1 and first.stories[0].key == whole.stories[0].key
    import_posts(
        [r for r in records if datetime.fromisoformat(r["created_at"]) >= cut], tmp_path / "halves", "b", halves
    )
    second = trends(halves, since="7d", bin="1h", sources=["hashtags", "entities"])

    def shape(report) -> list[tuple]:  # type: ignore[no-untyped-def]
        return [
            (s.key, s.fired_at, s.provisional, sorted((m.source, m.term, m.bin_start) for m in s.members))
            for s in report.stories
        ]

    assert len(whole.stories) == 2
    assert shape(second) == shape(whole)
    assert [(a.term, a.story) for a in second.alerts] == [(a.term, a.story) for a in whole.alerts]


def test_story_settings_are_checked_and_leave_the_saved_streams_alone() -> None:
    with pytest.raises(ConfigError, match="story_overlap"):
        TrendSettings(story_overlap=0.0)
    base = TrendSettings()
    assert base.with_changes(story_gap_seconds=86400, story_overlap=0.3).fingerprint() == base.fingerprint()
    assert base.with_changes(min_count=5).fingerprint() != base.fingerprint()
