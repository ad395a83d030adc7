"""Sentiment per post, per topic and per day on a small real workspace (DuckDB, MiniLM, VADER, a trained model)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import yaml
from _sentiment_posts import DAYS, START, sentiment_posts, write_posts
from typer.testing import CliRunner

from postlens.errors import ConfigError
from postlens.serve.cli import app

runner = CliRunner()
SEGMENTATION = "subjects"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """80 posts over 4 days; subjects from seed topics; a logistic regression trained on the sentiment label."""
    from postlens.pipeline.featurize import featurize
    from postlens.pipeline.ingest import run_ingest
    from postlens.pipeline.segments import fit_segments
    from postlens.pipeline.train import run_train
    from postlens.store.workspace import Workspace

    root = tmp_path_factory.mktemp("sentiment")
    run_ingest([write_posts(sentiment_posts(), root / "posts.jsonl")], importer_name="postlens", workspace=root / "ws")
    with Workspace(root / "ws") as ws:
        featurize(ws, encoders=["minilm"], parallel_ocr=False)
    seeds = root / "seeds.yaml"
    seeds.write_text(
        "football: football matches, goals, players and the league\n"
        "baking: baking bread, cakes and pastry in the kitchen\n"
    )
    fit_segments(root / "ws", name=SEGMENTATION, seed_topics=seeds)
    config = root / "train.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "name": "sent",
                "target": "sentiment",
                "split": {"strategy": "stratified"},
                "features": {"modalities": {"text": "minilm"}, "metadata": False},
                "model": {"kind": "logreg"},
            }
        )
    )
    run_train(config, workspace=root / "ws")
    return root / "ws"


def _truth() -> pd.DataFrame:
    posts = sentiment_posts()
    return pd.DataFrame(
        {
            "post_id": [p["id"] for p in posts],
            "topic": [p["labels"]["topic"] for p in posts],
            "sentiment": [p["labels"]["sentiment"] for p in posts],
            "day": [p["created_at"][:10] for p in posts],
            "text": [p["text"] for p in posts],
        }
    )


def _vader(texts: list[str]) -> np.ndarray:
    from postlens.encoders.text.lexicon import VaderEncoder

    return np.array([f.vector[3] for f in VaderEncoder().encode(texts)])


def _table(workspace: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(workspace / "postlens.duckdb"), read_only=True) as db:
        return db.execute(sql, params or []).fetchall()


def test_per_topic_figures_are_the_posts_figures_and_follow_the_planted_sentiment(workspace: Path) -> None:
    from postlens.pipeline.sentiment import run_sentiment

    report = run_sentiment(workspace, model="sent", by="topic", segmentation=SEGMENTATION)
    assert report.predicted_now == 80  # nothing was predicted before: the model's rows are written now
    assert len(_table(workspace, "SELECT * FROM predictions WHERE model = 'sent'")) == 80
    truth = _truth()
    truth["compound"] = _vader(truth["text"].tolist())  # an independent path: VADER on the texts themselves
    topic_of = dict(
        _table(workspace, "SELECT post_id, topic_id FROM post_topics WHERE segmentation = ?", [SEGMENTATION])
    )
    label_of = dict(_table(workspace, "SELECT post_id, label FROM predictions WHERE model = 'sent'"))
    truth["topic_id"], truth["predicted"] = truth["post_id"].map(topic_of), truth["post_id"].map(label_of)
    assert sum(g.posts for g in report.groups) == 80 and report.overall.posts == 80
    for group in report.groups:
        part = truth[truth["topic_id"] == group.topic_id]
        assert group.posts == len(part) and group.scored == len(part)
        assert group.compound_mean == pytest.approx(part["compound"].mean(), abs=1e-5)
        assert group.label_shares["positive"] == pytest.approx((part["predicted"] == "positive").mean())
    by_name = {g.key.split(": ", 1)[1]: g for g in report.groups}
    assert set(by_name) == {"football", "baking"}
    # planted: baking is mostly positive, football mostly negative
    assert by_name["baking"].compound_mean > 0 > by_name["football"].compound_mean
    assert by_name["baking"].label_shares["positive"] > by_name["football"].label_shares["positive"]
    assert by_name["football"].top_label == "negative"
    again = run_sentiment(workspace, model="sent", by="topic", segmentation=SEGMENTATION)
    assert again.predicted_now == 0 and again.vader_computed == 0  # read from the table and the feature cache


def test_per_day_bins_follow_the_planted_turn(workspace: Path) -> None:
    from postlens.pipeline.sentiment import run_sentiment

    report = run_sentiment(workspace, model="sent", by="day")
    assert [g.start for g in report.groups] == [START.replace(hour=0) + timedelta(days=d) for d in range(DAYS)]
    assert all(g.posts == 20 for g in report.groups)
    truth = _truth()
    planted = truth.groupby("day")["sentiment"].apply(lambda s: (s == "positive").mean())
    for group in report.groups:
        assert group.lexicon_shares["positive"] == pytest.approx(planted[group.key], abs=0.15)
    early, late = report.groups[: DAYS // 2], report.groups[DAYS // 2 :]
    assert min(g.compound_mean for g in early) > max(g.compound_mean for g in late)  # the planted turn
    rows = _table(
        workspace,
        "SELECT strftime(p.created_at AT TIME ZONE 'UTC', '%Y-%m-%d'), avg((s.label = 'negative')::INT) "
        "FROM predictions s JOIN posts p ON p.id = s.post_id WHERE s.model = 'sent' GROUP BY 1",
    )
    assert {g.key: g.label_shares["negative"] for g in report.groups} == pytest.approx(dict(rows))


def test_one_post_as_the_agent_reads_it(workspace: Path) -> None:
    from postlens.pipeline.sentiment import post_sentiment

    posts, _ = post_sentiment(workspace, model="sent", segmentation=SEGMENTATION, where="text LIKE '%sourdough%'")
    assert len(posts) > 0 and set(posts.frame["topic"]) == {"baking"}
    row = posts.post(posts.frame["post_id"].iloc[0])
    assert row["label"] in ("positive", "negative") and -1 <= row["vader_compound"] <= 1
    assert row["proba_positive"] + row["proba_negative"] == pytest.approx(1.0)
    with pytest.raises(ConfigError, match="not among"):
        posts.post("syn:nope")


def test_cli_per_topic_and_per_day(workspace: Path) -> None:
    result = runner.invoke(app, ["sentiment", "--model", "sent", "--segmentation", SEGMENTATION, "-w", str(workspace)])
    assert result.exit_code == 0, result.output
    assert "football" in result.output and "baking" in result.output and "all posts" in result.output
    result = runner.invoke(app, ["sentiment", "--by", "day", "-w", str(workspace)])
    assert result.exit_code == 0, result.output
    assert all((START + timedelta(days=d)).strftime("%Y-%m-%d") in result.output for d in range(DAYS))
    assert "VADER lexicon (no --model)" in " ".join(result.output.split())


def test_unknown_names_are_listed(workspace: Path) -> None:
    from postlens.pipeline.sentiment import run_sentiment

    with pytest.raises(ConfigError, match=f"segmentations here: {SEGMENTATION}"):
        run_sentiment(workspace, by="topic")  # the default 'topics' was never fitted here
    with pytest.raises(ConfigError, match="models there: sent"):
        run_sentiment(workspace, model="nope", by="day")
    with pytest.raises(ConfigError, match="choose one of topic, hour, day"):
        run_sentiment(workspace, by="fortnight")
    result = runner.invoke(app, ["sentiment", "--by", "topic", "-w", str(workspace)])
    assert result.exit_code != 0


def test_without_prediction_posts_are_counted_not_guessed(workspace: Path) -> None:
    from postlens.pipeline.sentiment import run_sentiment

    run_sentiment(workspace, model="sent", by="none")  # every post predicted, whichever tests ran before on this worker
    with duckdb.connect(str(workspace / "postlens.duckdb")) as db:
        db.execute("DELETE FROM predictions WHERE model = 'sent' AND post_id LIKE 'syn:baking-0-%'")
    report = run_sentiment(workspace, model="sent", by="day", predict_missing=False)
    first = report.groups[0]
    assert first.posts == 20 and first.predicted == 10
    assert any("10 of 80 posts have no prediction" in note for note in report.notes)
    assert run_sentiment(workspace, model="sent", by="day").predicted_now == 10  # filled again
