"""postlens predict end to end with the real encoders: a model trained on a small sample corpus
predicts new posts imported on the fly exactly as it predicts arrays assembled the training way."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from postlens.demo import generate_corpus
from postlens.encoders.identity import installed_identity, text_key
from postlens.encoders.registry import get_spec
from postlens.errors import ConfigError
from postlens.models.artifact import load_model
from postlens.models.config import parse_config
from postlens.models.data import assemble, load_post_data
from postlens.pipeline import run_ingest
from postlens.pipeline.featurize import featurize
from postlens.pipeline.predict import predict
from postlens.pipeline.train import run_train
from postlens.serve.cli import app
from postlens.store.features import FeatureCache
from postlens.store.workspace import Workspace

pytestmark = pytest.mark.slow

CONFIG = {"name": "topic", "target": "topic",
          "features": {"modalities": {"text": "minilm", "image": "efficientnet"}},
          "split": {"strategy": "stratified"}, "model": {"kind": "logreg"}, "seed": 0}
N_NEW = 40


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A workspace of 160 sample posts featurized (MiniLM, EfficientNet) with a logreg topic model;
    40 more posts of the same corpus wait in new.jsonl."""
    root = tmp_path_factory.mktemp("predict")
    corpus = root / "corpus"
    generate_corpus(corpus, seed=3, n_posts=200)
    lines = (corpus / "posts.jsonl").read_text().splitlines(keepends=True)
    (corpus / "train.jsonl").write_text("".join(lines[:-N_NEW]))
    (corpus / "new.jsonl").write_text("".join(lines[-N_NEW:]))
    run_ingest([corpus / "train.jsonl"], importer_name="postlens", workspace=root / "ws")
    with Workspace(root / "ws") as ws:
        featurize(ws, encoders=["minilm", "efficientnet"])
    run_train(parse_config(CONFIG), workspace=root / "ws")
    return {"ws": root / "ws", "new": corpus / "new.jsonl", "root": root}


def _new_ids(path: Path) -> list[str]:
    return [json.loads(line)["id"] for line in path.read_text().splitlines()]


def test_new_posts_from_a_file_are_predicted_like_training_arrays(trained: dict[str, Path]) -> None:
    out = trained["root"] / "pred.parquet"
    report = predict("topic", workspace=trained["ws"], files=[trained["new"]], out=out)
    ids = _new_ids(trained["new"])
    p = report.predictions
    assert report.file_posts == N_NEW and sorted(p.frame["post_id"]) == sorted(ids)
    assert p.featurized > 0  # the new texts and images were embedded, nothing else
    model = load_model(trained["ws"] / "models" / "topic")
    config = parse_config(CONFIG)
    with Workspace(trained["ws"], read_only=True) as ws:
        arrays, facts = load_post_data(ws, config, ids, dims=model.dims)  # the training path: registry names
        cache = FeatureCache(ws.features_dir)
        texts = [t for (t,) in ws.db.execute(
            "SELECT text FROM posts WHERE id IN (SELECT unnest(?)) AND length(trim(text)) > 0 ORDER BY id", [ids]).fetchall()]
        cached = cache.read(model.feature_keys["text"], [text_key(t) for t in texts])
    model.check_feature_keys(facts["feature_keys"])
    frame = p.frame.set_index("post_id").loc[ids]
    assert frame["label"].tolist() == model.predict_labels(arrays)
    proba_columns = [f"proba_{c}" for c in model.classes]
    assert np.allclose(frame[proba_columns].to_numpy(), model.predict_proba(arrays), atol=1e-9)
    assert np.allclose(frame[proba_columns].sum(axis=1), 1.0)
    # the vectors computed on the fly are MiniLM's own for those texts
    direct = get_spec("minilm").build().encode(texts)
    assert np.allclose(np.stack([cached[text_key(t)].vector for t in texts]), np.stack([f.vector for f in direct]), atol=1e-5)
    # posts without an image were predicted anyway, and counted
    assert 0 < p.lacking["image"] < N_NEW and p.lacking["text"] == N_NEW - len(texts)
    written = pd.read_parquet(out)
    assert written.set_index("post_id").loc[ids, "label"].tolist() == frame["label"].tolist()
    again = predict("topic", workspace=trained["ws"], files=[trained["new"]])
    assert again.predictions.featurized == 0  # everything is cached now
    with Workspace(trained["ws"], read_only=True) as ws:
        rows = ws.db.execute("SELECT count(*), count(DISTINCT post_id) FROM predictions WHERE model = 'topic'").fetchone()
    assert rows == (N_NEW, N_NEW)  # re-predicting replaced the rows


def test_training_posts_predict_as_the_assembled_training_set(trained: dict[str, Path]) -> None:
    model = load_model(trained["ws"] / "models" / "topic")
    with Workspace(trained["ws"]) as ws:
        data = assemble(ws, parse_config(CONFIG))
        result = model.predict_posts(ws, post_ids=data.data.ids, save=False)
    assert result.frame["label"].tolist() == model.predict_labels(data.data)


def test_a_model_of_another_encoder_version_is_refused_before_importing(trained: dict[str, Path]) -> None:
    folder = trained["root"] / "old-model"
    import shutil

    shutil.copytree(trained["ws"] / "models" / "topic", folder)
    info = json.loads((folder / "model.json").read_text())
    old = installed_identity("efficientnet").key.split("@")[0] + "@0"
    info["encoders"]["image"]["key"] = info["feature_keys"]["image"] = old
    (folder / "model.json").write_text(json.dumps(info))
    extra = trained["root"] / "extra.jsonl"
    extra.write_text(trained["new"].read_text().replace('"id":"demo:', '"id":"demo:x'))
    with Workspace(trained["ws"], read_only=True) as ws:
        before = ws.db.execute("SELECT count(*) FROM posts").fetchone()
    with pytest.raises(ConfigError, match=rf"image features: trained on {old} .*this postlens computes "
                                          rf"{installed_identity('efficientnet').key}.*Retrain"):
        predict(folder, workspace=trained["ws"], files=[extra])
    with Workspace(trained["ws"], read_only=True) as ws:
        assert ws.db.execute("SELECT count(*) FROM posts").fetchone() == before  # nothing was imported
    done = subprocess.run([sys.executable, "-m", "postlens.serve.cli", "predict", "--model", str(folder),
                           "-w", str(trained["ws"])], capture_output=True, text=True, check=False)
    assert done.returncode == 2 and "install postlens" in done.stderr and "Traceback" not in done.stderr


def test_cli_where_and_csv(trained: dict[str, Path]) -> None:
    out = trained["root"] / "labelled.csv"
    result = CliRunner().invoke(app, ["predict", "--model", "topic", "--where", "labels['topic'] IS NOT NULL",
                                      "--out", str(out), "-w", str(trained["ws"])])
    assert result.exit_code == 0, result.output
    with Workspace(trained["ws"], read_only=True) as ws:
        labelled = ws.db.execute("SELECT count(*) FROM posts WHERE labels['topic'] IS NOT NULL").fetchone()[0]
    assert f"predicted {labelled:,} posts" in result.output and "predictions table" in result.output
    assert len(pd.read_csv(out)) == labelled
    bad = CliRunner().invoke(app, ["predict", "--model", "topic", "--where", "true; DROP TABLE posts",
                                   "-w", str(trained["ws"])])
    assert isinstance(bad.exception, ConfigError) and "';'" in str(bad.exception)
    unknown = CliRunner().invoke(app, ["predict", "--model", "nope", "-w", str(trained["ws"])])
    assert isinstance(unknown.exception, ConfigError) and "models there: topic" in str(unknown.exception)
