"""`postlens popularity fit | predict | explain` end to end on a real workspace, and on PHEME."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pytest
import yaml
from _popularity_workspace import base_config, build
from typer.testing import CliRunner

from postlens.errors import ConfigError
from postlens.serve.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def fitted(tmp_path_factory) -> tuple[Path, list[str]]:
    root = tmp_path_factory.mktemp("popularity-cli")
    fresh = build(root / "ws")
    config = root / "popularity.yaml"
    config.write_text(yaml.safe_dump({"name": "pop", **base_config()}))
    result = runner.invoke(app, ["popularity", "fit", "-c", str(config), "-w", str(root / "ws")])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "learned (prior + residual)" in text and "followers only (linear)" in text and "author mean" in text
    assert "curve" in text and (root / "ws" / "models" / "pop" / "popularity.json").is_file()
    return root / "ws", fresh


def test_predict_writes_the_table_and_a_file_for_posts_without_engagement(fitted, tmp_path):
    ws, fresh = fitted
    out = tmp_path / "p.parquet"
    where = "id IN (" + ", ".join(f"'{p}'" for p in fresh) + ")"
    result = runner.invoke(
        app, ["popularity", "predict", "--model", "pop", "--where", where, "--out", str(out), "-w", str(ws)]
    )
    assert result.exit_code == 0, result.output
    import pandas as pd

    frame = pd.read_parquet(out)
    assert sorted(frame["post_id"]) == sorted(fresh)
    assert frame["predicted"].notna().all() and frame["percentile"].between(0, 100).all()
    assert frame["observed"].isna().all()  # nothing observed yet: predicted at publish time
    with duckdb.connect(str(ws / "postlens.duckdb"), read_only=True) as db:
        rows = db.execute("SELECT post_id, value FROM predictions WHERE model = 'pop' ORDER BY post_id").fetchall()
    assert [r[0] for r in rows] == sorted(fresh)
    assert np.allclose([r[1] for r in rows], frame.sort_values("post_id")["predicted_log"])


def test_explain_prints_base_and_drivers(fitted):
    ws, fresh = fitted
    result = runner.invoke(
        app, ["popularity", "explain", fresh[0], "t:0300", "--model", "pop", "--top", "4", "-w", str(ws)]
    )
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert text.count("= base") == 2 and "by modality:" in text and "text" in text


def test_unknown_post_and_model_are_named(fitted):
    ws, _ = fitted
    result = runner.invoke(app, ["popularity", "explain", "nope:1", "--model", "pop", "-w", str(ws)])
    assert isinstance(result.exception, ConfigError) and "nope:1" in str(result.exception)
    result = runner.invoke(app, ["popularity", "predict", "--model", "missing", "-w", str(ws)])
    assert isinstance(result.exception, ConfigError) and "pop" in str(result.exception)  # lists the models there


def test_misspelt_config_key_lists_the_known_ones(tmp_path):
    config = tmp_path / "p.yaml"
    config.write_text("target: {metrc: shares}\n")
    result = runner.invoke(app, ["popularity", "fit", "-c", str(config), "-w", str(tmp_path / "ws")])
    assert isinstance(result.exception, ConfigError)
    assert "metrc" in str(result.exception) and "horizon_hours" in str(result.exception)


def test_pheme_followers_baseline_and_learned_model_on_the_same_split(dataset, tmp_path):
    """Real PHEME, metadata-only inputs (no encoder runs): both figures exist on one test period and
    the drivers still add up."""
    from postlens.pipeline import run_ingest
    from postlens.store.workspace import Workspace
    from postlens.tasks.popularity import evaluate, load_frame, parse_popularity_config

    run_ingest([dataset("pheme")], importer_name="pheme", workspace=tmp_path / "ws")
    config = parse_popularity_config({"features": {"modalities": {}, "sentiment": None}})
    with Workspace(tmp_path / "ws", read_only=True) as ws:
        frame = load_frame(ws, config)
    result = evaluate(frame, config)
    assert result.split.sizes()["test"] > 800
    learned, followers = result.figures["learned (prior + residual)"], result.figures["followers only (linear)"]
    assert followers["n"] == learned["n"] and 0.5 < followers["spearman"] < 0.8
    test = frame.subset(result.split.test)
    explanation = result.model.explain(test)
    assert np.allclose(explanation.base + explanation.values.sum(axis=1), result.model.predict(test))
