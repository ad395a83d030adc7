"""Trends on the sample corpus: the planted burst is alerted at its start; incremental runs equal a full recompute."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from _trend_posts import import_posts, trend_tables
from typer.testing import CliRunner

from postlens.demo import generate_corpus
from postlens.serve.cli import app
from postlens.tasks.trends import TrendSettings, trends

DEMO_SEED = 0
DEMO_POSTS = 1500


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The corpus of ``postlens demo-data --posts 1500`` (seed 0): its posts and truth.json."""
    summary = generate_corpus(tmp_path_factory.mktemp("demo") / "corpus", seed=DEMO_SEED, n_posts=DEMO_POSTS)
    posts = [orjson.loads(line) for line in summary.posts_path.read_bytes().splitlines()]
    return posts, orjson.loads(summary.truth_path.read_bytes())


@pytest.fixture(scope="module")
def full_workspace(
    corpus: tuple[list[dict[str, Any]], dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    folder = tmp_path_factory.mktemp("full")
    import_posts(corpus[0], folder, "all", folder / "ws")
    return folder / "ws"


def _at(record: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(record["created_at"])


def test_planted_burst_is_alerted_within_one_bin_of_its_start(corpus, full_workspace: Path) -> None:
    _, truth = corpus
    burst = truth["burst"]
    start = datetime.fromisoformat(burst["week_start"])
    report = trends(full_workspace, since="60d", bin="1d", sources=["hashtags", "entities"])
    on_burst = [a for a in report.alerts if a.term == "#" + burst["hashtag"]]
    assert on_burst, f"no alert on #{burst['hashtag']}; alerts: {[(a.term, a.bin_start) for a in report.alerts]}"
    first = min(on_burst, key=lambda a: a.fired_at)
    assert start <= first.bin_start <= start + timedelta(days=1)
    assert first.fired_at == first.bin_start + timedelta(days=1)
    assert first.count >= 5 and first.count > 3 * first.expected
    # nothing else fired before the burst: the weeks before it are quiet
    assert all(a.bin_start >= start for a in report.alerts), [(a.term, a.bin_start) for a in report.alerts]


def test_incremental_runs_equal_a_full_recompute(corpus, full_workspace: Path, tmp_path: Path) -> None:
    posts, truth = corpus
    cut = datetime.fromisoformat(truth["burst"]["week_start"]) + timedelta(days=2, hours=3, minutes=17)  # mid-bin
    first = [p for p in posts if _at(p) < cut]
    rest = [p for p in posts if _at(p) >= cut]
    late = rest[::9]  # posts of the second part that arrive only after a later run
    on_time = [p for p in rest if p not in late]
    ws = tmp_path / "ws"
    sensitive = TrendSettings(min_count=3, min_share=0.0, z_threshold=4.0)  # so that alerts exist to compare
    options = {"since": "60d", "bin": "6h", "sources": ["hashtags", "entities"], "settings": sensitive}

    written = import_posts(first, tmp_path, "part1", ws)
    early = trends(ws, **options)
    assert early.posts_in_window == written
    import_posts(on_time, tmp_path, "part2", ws)
    trends(ws, **options)
    import_posts(late, tmp_path, "part3", ws)  # older than the saved frontier: must trigger a recompute
    report = trends(ws, **options)
    assert any("recomputed from the start" in note for note in report.notes), report.notes

    trends(full_workspace, **options)
    incremental, full = trend_tables(ws, "6h"), trend_tables(full_workspace, "6h")
    assert len(full["trend_series"]) > 1000 and len(full["trend_state"]) > 100 and full["alerts"]
    assert incremental == full


def test_a_new_import_continues_from_the_saved_state(corpus, tmp_path: Path) -> None:
    posts, truth = corpus
    cut = datetime.fromisoformat(truth["burst"]["week_start"]) + timedelta(days=1)
    ws = tmp_path / "ws"
    import_posts([p for p in posts if _at(p) < cut], tmp_path, "part1", ws)
    from postlens.store.workspace import Workspace
    from postlens.tasks.trends import Hashtags
    from postlens.tasks.trends.engine import update_stream

    settings = TrendSettings(bin_seconds=86400)
    with Workspace(ws) as w:
        newest = w.db.execute("SELECT max(created_at) FROM posts").fetchall()[0][0]
        first = update_stream(w.db, Hashtags(), settings, horizon=newest)
    import_posts([p for p in posts if _at(p) >= cut], tmp_path, "part2", ws)
    with Workspace(ws) as w:
        newest = w.db.execute("SELECT max(created_at) FROM posts").fetchall()[0][0]
        second = update_stream(w.db, Hashtags(), settings, horizon=newest)
        again = update_stream(w.db, Hashtags(), settings, horizon=newest)
    assert not first.continued and first.bins_folded == 21  # three weeks of complete days before the cut
    assert second.continued and second.bins_folded == 20  # only the new days (the last one is unfinished)
    assert again.continued and again.bins_folded == 0


def test_cli_prints_terms_states_and_alerts(full_workspace: Path) -> None:
    result = CliRunner().invoke(
        app, ["trends", "--since", "60d", "--bin", "1d", "--source", "hashtags", "--workspace", str(full_workspace)]
    )
    assert result.exit_code == 0, result.output
    assert "#festivalweekend" in result.output
    assert "alerts (" in result.output and "fired at (UTC)" in result.output
    bad = CliRunner().invoke(app, ["trends", "--source", "emoji", "--workspace", str(full_workspace)])
    assert bad.exit_code != 0
    assert "hashtags, entities, topics" in str(bad.exception)
