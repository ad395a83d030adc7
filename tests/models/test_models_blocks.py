"""Several encoders per modality: one feature block each (``text:vader``, ``text:tfidf``), recorded in
the model folder, featurized by ``postlens predict``; TF-IDF / Word2Vec fitted on the training posts
only and applied with the same vocabulary to new posts."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from postlens.encoders.identity import installed_identity
from postlens.errors import ConfigError
from postlens.models import trainer
from postlens.models.artifact import load_model, save_model
from postlens.models.baselines import BaselineModel
from postlens.models.config import parse_config
from postlens.models.data import TrainingSet, assemble, load_post_data
from postlens.models.fitted_text import FittedTextFeatures
from postlens.models.inputs import PostData
from postlens.pipeline import run_ingest
from postlens.pipeline.featurize import featurize
from postlens.pipeline.predict import predict
from postlens.pipeline.train import run_train, train_from_config
from postlens.store.workspace import Workspace

TOPICS = {
    "food": ["pizza", "pasta", "soup", "burger", "salad"],
    "travel": ["flight", "hotel", "beach", "train", "trip"],
}
MOOD = {
    "up": ["love", "wonderful", "great", "amazing", "happy"],
    "down": ["hate", "awful", "terrible", "horrible", "sad"],
}
FILLER = ["today", "again", "with", "friends", "really", "just", "the", "this", "so", "my"]
CONFIG = {
    "name": "blocks",
    "target": "kind",
    "features": {"modalities": {"text": ["vader", "tfidf"]}},
    "split": {"strategy": "stratified"},
    "model": {"kind": "logreg"},
    "seed": 0,
    "num_threads": 1,
}


def _post(rng: np.random.Generator, i: int, prefix: str) -> dict[str, str]:
    topic, mood = rng.choice(list(TOPICS)), rng.choice(list(MOOD))
    words = [rng.choice(TOPICS[topic]), rng.choice(MOOD[mood]), *rng.choice(FILLER, 3)]
    rng.shuffle(words)
    return {"id": f"{prefix}{i}", "text": " ".join(words) + ("!" if mood == "up" else "."), "kind": f"{topic}-{mood}"}


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["id", "text", "kind"])
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A workspace of 200 posts (topic x mood labels) featurized with the real VADER encoder and a
    logreg model on text: [vader, tfidf]; 30 more posts wait in new.csv (one carries an unseen word)."""
    root = tmp_path_factory.mktemp("blocks")
    rng = np.random.default_rng(0)
    old = [_post(rng, i, "t") for i in range(200)]
    new = [_post(rng, i, "n") for i in range(30)]
    new[0]["text"] += " zeppelin"
    _write(root / "train.csv", old)
    _write(root / "new.csv", [{**r, "kind": ""} for r in new])
    run_ingest(
        [root / "train.csv"],
        importer_name="csv",
        workspace=root / "ws",
        source="s",
        mapping_pairs=["id=id", "text=text", "labels.kind=kind"],
    )
    with Workspace(root / "ws") as ws:
        featurize(ws, encoders=["vader"])
    report = run_train(parse_config(CONFIG), workspace=root / "ws")
    return {"root": root, "ws": root / "ws", "report": report, "new": new, "folder": root / "ws" / "models" / "blocks"}


def test_each_encoder_is_its_own_block_recorded_in_model_json(trained):
    info = json.loads((trained["folder"] / "model.json").read_text())
    vader, tfidf = info["encoders"]["text:vader"], info["encoders"]["text:tfidf"]
    assert list(info["encoders"]) == ["text:vader", "text:tfidf"]
    assert vader == {**installed_identity("vader").describe(), "modality": "text", "dim": 4}
    assert tfidf["fitted"] is True and tfidf["encoder"] == "tfidf" and tfidf["key"].startswith("text-tfidf@1.")
    assert info["feature_keys"] == {"text:vader": vader["key"]}  # the only block read from the feature cache
    assert (trained["folder"] / "fitted_text" / "tfidf.joblib").is_file()
    model = load_model(trained["folder"])
    assert model.encoder_names() == ["vader"]  # what featurize has to run for new posts
    assert set(model.estimator.estimator_.dims_) == {"text:vader", "text:tfidf"}
    assert trained["report"]["test"]["macro_f1"] > 0.8  # both halves of the label are learnt


def test_tfidf_vocabulary_comes_from_the_training_posts_only(trained):
    from postlens.encoders.text.tfidf import TfidfFeaturizer

    model = load_model(trained["folder"])
    held = {
        p
        for side in ("val", "test")
        for p in pd.read_parquet(trained["folder"] / f"predictions_{side}.parquet")["post_id"]
    }
    with Workspace(trained["ws"], read_only=True) as ws:
        rows = ws.db.execute("SELECT id, text FROM posts ORDER BY id").fetchall()
    train_texts = [text for post_id, text in rows if post_id not in held]
    assert len(train_texts) == trained["report"]["sizes"]["train"]
    fitted = model.estimator.featurizers_["text:tfidf"]
    assert fitted.vocabulary_ == TfidfFeaturizer().fit(train_texts).vocabulary_
    assert model.feature_keys == {"text:vader": installed_identity("vader").key}


def test_predict_featurizes_new_posts_and_applies_the_same_vocabulary(trained):
    report = predict(
        "blocks",
        workspace=trained["ws"],
        files=[trained["root"] / "new.csv"],
        mapping_pairs=["id=id", "text=text", "labels.kind=kind"],
        source="s",
    )
    frame = report.predictions.frame.set_index("post_id")
    ids = [f"s:{r['id']}" for r in trained["new"]]
    assert sorted(frame.index) == sorted(ids) and report.predictions.featurized == 30  # VADER on the new texts
    model = load_model(trained["folder"])
    with Workspace(trained["ws"], read_only=True) as ws:
        arrays, _ = load_post_data(ws, model.training_config(), ids, feature_keys=model.feature_keys, dims=model.dims)
    assert set(arrays.modalities) == {"text:vader"} and arrays.texts == [r["text"] for r in trained["new"]]
    assert frame.loc[ids, "label"].tolist() == model.predict_labels(arrays)
    right = np.mean([label == r["kind"] for label, r in zip(frame.loc[ids, "label"], trained["new"])])
    assert right > 0.8
    tfidf = model.estimator.featurizers_["text:tfidf"]
    assert "zeppelin" not in tfidf.vocabulary_  # a new post's word does not grow the vocabulary


def test_a_tampered_fitted_encoder_is_refused(trained, tmp_path):
    import shutil

    import joblib

    from postlens.encoders.text.tfidf import TfidfFeaturizer

    copy = tmp_path / "copy"
    shutil.copytree(trained["folder"], copy)
    joblib.dump(
        TfidfFeaturizer().fit(["some other corpus", "another other text"] * 3), copy / "fitted_text" / "tfidf.joblib"
    )
    with pytest.raises(ConfigError, match="not the ones this model was trained with"):
        load_model(copy)


def _synthetic(n: int = 240, seed: int = 0) -> TrainingSet:
    """Blocks text:minilm (8-d) and text:vader (4-d) each carrying half of a 4-class label; texts too."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    a, b = rng.normal(size=(2, 8)) * 2, rng.normal(size=(2, 4)) * 2
    minilm = (a[y % 2] + rng.normal(size=(n, 8))).astype(np.float32)
    vader = (b[y // 2] + rng.normal(size=(n, 4))).astype(np.float32)
    texts = [f"{['pizza', 'flight'][c % 2]} {['love', 'hate'][c // 2]} post {i}" for i, c in enumerate(y)]
    data = PostData(
        modalities={"text:minilm": minilm, "text:vader": vader},
        masks={"text:minilm": np.ones(n, bool), "text:vader": np.ones(n, bool)},
        meta=np.zeros((n, 0), np.float32),
        texts=texts,
        ids=[f"p{i}" for i in range(n)],
    )
    sides = np.array(["train", "train", "train", "val", "test"] * (n // 5), object)
    return TrainingSet(
        data=data,
        y=y,
        task="classification",
        classes=["a", "b", "c", "d"],
        groups={"column": sides},
        feature_keys={"text:minilm": "m@1", "text:vader": "v@1"},
    )


def test_fusion_gets_one_token_per_block_and_reports_each_block_and_the_modality_missing(tmp_path):
    config = parse_config(
        {
            "features": {"modalities": {"text": ["minilm", "vader"]}, "metadata": False},
            "split": {"strategy": "column"},
            "num_threads": 1,
            "output": str(tmp_path / "f"),
            "model": {"kind": "fusion", "fusion": "attention", "epochs": 4, "width": 16},
        }
    )
    report = train_from_config(config, _synthetic(), output=tmp_path / "f")
    assert set(report["test_missing"]) == {"without_text:minilm", "without_text:vader", "without_text"}
    assert report["test"]["macro_f1"] > report["test_missing"]["without_text"]["macro_f1"]
    state = json.loads((tmp_path / "f" / "fusion.json").read_text())
    assert set(state["dims"]) == {"text:minilm", "text:vader"}
    model = load_model(tmp_path / "f")
    assert model.feature_keys == {"text:minilm": "m@1", "text:vader": "v@1"}
    assert report["epochs"] == {**report["epochs"], "max": 4, "default_for_kind": False}


def test_late_fusion_reports_no_epochs(tmp_path):
    """Late fusion fits linear experts and a pool: "1 epoch run of 30" would be a false statement."""
    config = parse_config(
        {
            "features": {"modalities": {"text": ["minilm", "vader"]}, "metadata": False},
            "split": {"strategy": "column"},
            "num_threads": 1,
            "model": {"kind": "fusion", "fusion": "late"},
        }
    )
    report = train_from_config(config, _synthetic(), output=tmp_path / "late")
    assert "epochs" not in report and report["epochs_run"] is None and report["test"]["macro_f1"] > 0


@pytest.mark.parametrize("encoder", ["tfidf", "word2vec"])
def test_fitted_text_is_a_scikit_learn_estimator_that_round_trips(tmp_path, encoder):
    data = _synthetic()
    labels = np.array(["food+", "travel+", "food-", "travel-"])[data.y]
    frame = pd.DataFrame({"text": data.data.texts}, index=data.data.ids)
    model = FittedTextFeatures(estimator=BaselineModel(kind="logreg", C=10.0), encoders={"text:" + encoder: encoder})
    assert clone(model).get_params()["estimator__C"] == 10.0
    model.fit(frame.iloc[:200], labels[:200])
    assert list(model.classes_) == sorted(set(labels[:200])) and not hasattr(clone(model), "featurizers_")
    predicted = model.predict(frame.iloc[200:])
    assert set(predicted) <= set(labels) and np.mean(predicted == labels[200:]) > 0.7
    folder = save_model(tmp_path / encoder, model, task="classification", classes=list(model.classes_))
    loaded = load_model(folder)
    assert np.allclose(loaded.estimator.predict_proba(frame.iloc[200:]), model.predict_proba(frame.iloc[200:]))
    assert list(loaded.estimator.predict(frame.iloc[200:])) == list(predicted)


def test_config_lists_encoders_per_modality():
    features = parse_config(
        {"features": {"modalities": {"text": ["minilm", "vader"], "image": ["efficientnet"]}}}
    ).features
    assert [(b.name, b.modality, b.encoder) for b in features.blocks()] == [
        ("text:minilm", "text", "minilm"),
        ("text:vader", "text", "vader"),
        ("image", "image", "efficientnet"),
    ]
    assert features.modalities["image"] == "efficientnet"  # one listed encoder = that encoder alone
    pinned = parse_config({"features": {"modalities": {"text": ["text-minilm-l6@1.9d55ef50", "vader"]}}}).features
    assert pinned.blocks()[0].name == "text:text-minilm-l6@1_9d55ef50"  # torch module names may not hold '.'
    assert pinned.blocks()[0].encoder == "text-minilm-l6@1.9d55ef50"
    assert features.blocks_of(["text"]) == ["text:minilm", "text:vader"] and features.blocks_of(["image"]) == ["image"]
    for bad, message in (
        ({"text": ["minilm", "minilm"]}, "listed twice"),
        ({"text": []}, "at least one encoder"),
        ({"image": ["tfidf"]}, "are text encoders"),
    ):
        with pytest.raises(ConfigError, match=message):
            parse_config({"features": {"modalities": bad}})


def test_smote_and_finetune_refuse_fitted_text_blocks_clearly():
    config = parse_config(
        {"features": {"modalities": {"text": ["tfidf"]}}, "imbalance": "smote", "model": {"kind": "logreg"}}
    )
    data = _synthetic()
    with pytest.raises(ConfigError, match=r"SMOTE|smote.*without text"):
        trainer.fit(config, data.subset(np.arange(100)), data.subset(np.arange(100, 140)))
    with pytest.raises(ConfigError, match=r"finetune.*reads raw text itself"):
        trainer.build_estimator(
            parse_config({"features": {"modalities": {"text": ["tfidf"]}}, "model": {"kind": "finetune"}}),
            "classification",
        )


def test_assemble_reads_each_cached_block(tmp_path, label_workspace):
    key = label_workspace(
        tmp_path / "ws", [{"labels": {"label": "ab"[i % 2]}, "vector": np.full(3, i, float)} for i in range(30)]
    )
    config = parse_config({"features": {"modalities": {"text": [key, "tfidf"]}}})
    with Workspace(tmp_path / "ws", read_only=True) as ws:
        data = assemble(ws, config)
    assert data.feature_keys == {f"text:{key}": key} and data.data.dims == {f"text:{key}": 3}
    assert data.data.texts[:2] == ["post number 0", "post number 1"]


def test_logreg_reads_tfidf_blocks_unscaled_and_everything_else_standardised():
    data = _synthetic(n=100)
    with_tfidf = parse_config({"features": {"modalities": {"text": ["minilm", "tfidf"]}}, "model": {"kind": "logreg"}})
    model = trainer.build_estimator(with_tfidf, "classification")
    assert model.estimator.unscaled == ("text:tfidf",)
    fitted = model.fit(data.data, data.y)
    flat = fitted.estimator_.estimator_
    transformer = flat.steps[0][1]
    x = PostData(
        modalities={**data.data.modalities}, masks=dict(data.data.masks), meta=data.data.meta, texts=data.data.texts
    )
    from postlens.models.fitted_text import with_text_blocks

    blocks = with_text_blocks(fitted.featurizers_, x, "test")
    columns = blocks.flat(fitted.estimator_.modalities_)
    out = transformer.transform(columns)
    tfidf = blocks.modalities["text:tfidf"]
    assert np.allclose(out[:, : tfidf.shape[1]], tfidf)  # passed through as they are, first
    assert np.allclose(out[:, tfidf.shape[1] :].mean(axis=0), 0, atol=1e-5)  # the rest standardised
    assert trainer.build_estimator(parse_config({"model": {"kind": "logreg"}}), "classification").unscaled == ()
