"""A notebook session on a real workspace: posts as a DataFrame, features, GridSearchCV, predict held-out posts.

The workspace is the sample corpus (300 posts) imported and featurized with the default encoders,
built once for this module through the same ``postlens.open`` methods a notebook would call.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import postlens
from postlens.demo import generate_corpus
from postlens.errors import ConfigError
from postlens.models.config import parse_config
from postlens.models.data import load_post_data
from postlens.store.workspace import Workspace

pytestmark = pytest.mark.slow

N_POSTS = 300
BLOCKS = {"text": "minilm", "image": "efficientnet"}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("notebook")
    generate_corpus(root / "corpus", seed=11, n_posts=N_POSTS)  # what `postlens demo-data --posts 300` writes
    ws = postlens.open(root / "ws", create=True)
    ws.ingest([root / "corpus"], importer="postlens")
    ws.featurize()  # the default encoders
    return root


def _time_split(labelled: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    ordered = labelled.sort_values("created_at")
    cut = int(len(ordered) * 0.7)
    return ordered.iloc[:cut], ordered.iloc[cut:]


def test_posts_frame_has_labels_and_latest_engagement(workspace: Path) -> None:
    ws = postlens.open(workspace / "ws")
    posts = ws.posts()
    truth = json.loads((workspace / "corpus" / "truth.json").read_text())
    assert len(posts) == N_POSTS and posts.index.name == "post_id" and posts.index.is_monotonic_increasing
    assert set(posts.index) == {p["id"] for p in truth["posts"]}
    assert "label.topic" in posts.columns and posts["label.topic"].notna().any()
    assert str(posts["created_at"].dt.tz) == "UTC"
    with Workspace(workspace / "ws", read_only=True) as db:
        latest = dict(
            db.db.execute("SELECT post_id, arg_max(likes, observed_at) FROM engagement GROUP BY 1").fetchall()
        )
        stored = dict(db.db.execute("SELECT id, labels['topic'] FROM posts").fetchall())
    assert {k: int(v) for k, v in posts["likes"].dropna().items()} == {k: v for k, v in latest.items() if v is not None}
    assert posts["label.topic"].to_dict() == stored
    with_media = ws.posts(where="len(media_kinds) > 0")
    assert 0 < len(with_media) < N_POSTS and all(len(kinds) for kinds in with_media["media_kinds"])
    assert list(ws.posts(on=with_media.index[:3]).index) == list(with_media.index[:3])
    with pytest.raises(ConfigError, match="may not contain ';'"):
        ws.posts(where="true; DROP TABLE posts")


def test_features_align_with_posts_and_mark_missing_rows(workspace: Path) -> None:
    ws = postlens.open(workspace / "ws")
    posts = ws.posts()
    labelled = posts[posts["label.topic"].notna()].sample(frac=1.0, random_state=0)  # any order
    X = ws.features(["minilm", "efficientnet"], on=labelled)
    assert X.index.equals(labelled.index)
    assert sum(c.startswith("minilm.") for c in X.columns) == 384
    present = postlens.present(X)
    has_text = labelled["text"].str.strip().str.len() > 0
    has_image = labelled["media_kinds"].map(lambda kinds: any(k in ("image", "gif") for k in kinds))
    assert present["minilm"].tolist() == has_text.tolist()
    assert present["efficientnet"].any() and not (present["efficientnet"] & ~has_image).any()
    assert X.loc[~present["efficientnet"], [c for c in X.columns if c.startswith("efficientnet.")]].isna().all().all()
    config = parse_config({"features": {"modalities": BLOCKS}})
    with Workspace(workspace / "ws", read_only=True) as db:
        arrays, _ = load_post_data(db, config, list(labelled.index))  # what `postlens train` reads
    assert np.allclose(X.filter(like="minilm.").fillna(0).to_numpy(), arrays.modalities["text"])
    assert np.allclose(X.filter(like="efficientnet.").fillna(0).to_numpy(), arrays.modalities["image"])
    with pytest.raises(ConfigError, match=r"featurize --encoders e5"):
        ws.features("e5")
    with pytest.raises(ConfigError, match="unknown feature 'minilmm'"):
        ws.features("minilmm")
    with pytest.raises(ConfigError, match=r"'ocr' writes text, not vectors.*text_fields=\['text', 'ocr'\]"):
        ws.features("ocr")
    with_ocr = ws.features("minilm", on=labelled, text_fields=["text", "ocr"])
    assert (
        with_ocr.index.equals(labelled.index) and postlens.present(with_ocr)["minilm"].sum() >= present["minilm"].sum()
    )


def test_grid_search_over_postlens_estimators_predicts_held_out_posts(workspace: Path) -> None:
    ws = postlens.open(workspace / "ws")
    posts = ws.posts()
    labelled = posts[posts["label.topic"].notna()]
    train, test = _time_split(labelled)
    X_train, X_test = (
        ws.features(["minilm", "efficientnet", "metadata"], on=train),
        ws.features(["minilm", "efficientnet", "metadata"], on=test),
    )
    y_train, y_test = train["label.topic"], test["label.topic"]
    chance = f1_score(
        y_test,
        DummyClassifier(strategy="stratified", random_state=0)
        .fit(X_train.fillna(0), y_train)
        .predict(X_test.fillna(0)),
        average="macro",
    )

    search = GridSearchCV(postlens.BaselineModel(), {"C": [0.05, 1.0]}, cv=3, scoring="f1_macro").fit(X_train, y_train)
    predicted = search.predict(X_test)
    assert set(predicted) <= set(y_train) and search.best_params_["C"] in (0.05, 1.0)
    assert f1_score(y_test, predicted, average="macro") > chance + 0.2

    fusion = GridSearchCV(
        postlens.FusionModel(epochs=15, patience=5, batch_size=32), {"width": [16, 32]}, cv=2, scoring="f1_macro"
    ).fit(X_train, y_train)
    assert fusion.best_estimator_.width in (16, 32)
    assert f1_score(y_test, fusion.predict(X_test), average="macro") > chance + 0.2
    assert fusion.predict_proba(X_test).shape == (len(test), len(fusion.classes_))

    plain = make_pipeline(
        SimpleImputer(strategy="constant", fill_value=0, add_indicator=True),
        StandardScaler(),
        LogisticRegression(max_iter=2000),
    ).fit(X_train, y_train)
    assert f1_score(y_test, plain.predict(X_test), average="macro") > chance + 0.2


def test_train_then_predict_held_out_posts_with_the_saved_model(workspace: Path) -> None:
    ws = postlens.open(workspace / "ws")
    report = ws.train(
        {
            "name": "nb-topic",
            "target": "topic",
            "features": {"modalities": BLOCKS},
            "split": {"strategy": "stratified"},
            "model": {"kind": "logreg"},
        }
    )
    assert "nb-topic" in ws.models() and report["test"]["macro_f1"] > 0
    posts = ws.posts()
    held_out = posts[posts["label.topic"].isna()].head(25)
    result = ws.predict("nb-topic", on=held_out, save=False)
    assert list(result.frame["post_id"]) == list(held_out.index)
    model = ws.model("nb-topic")
    X = ws.features({**BLOCKS, "meta": "metadata"}, on=held_out)  # blocks named as the model's modalities
    assert list(result.frame["label"]) == model.predict_labels(X)
    with Workspace(workspace / "ws", read_only=True) as db:
        saved = db.db.execute("SELECT count(*) FROM predictions WHERE model = 'nb-topic'").fetchone()
    assert saved == (0,)  # save=False left the predictions table alone
