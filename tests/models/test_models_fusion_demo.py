"""On the sample corpus the topic is planted in the words AND the picture colours: fusion must do at least
as well as the best single modality under grouped cross-validation (authors kept whole).

Real pipeline: the corpus generator, ingest, label import, the image-stats encoder (colour statistics)
and a TF-IDF text block fitted inside each training fold; ``postlens train --cv 3`` per modality set.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from postlens.models.config import parse_config
from postlens.pipeline import run_demo
from postlens.pipeline.featurize import featurize
from postlens.pipeline.labels import import_labels
from postlens.pipeline.train import run_train

N_POSTS = 600


@pytest.fixture(scope="module")
def demo_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """600 sample posts, every one labelled with its true topic (``topic_all``), pictures featurized."""
    root = tmp_path_factory.mktemp("fusion-demo")
    run_demo(root / "corpus", seed=0, n_posts=N_POSTS, workspace=root / "ws", featurize=False, train=False)
    truth = json.loads((root / "corpus" / "truth.json").read_text())
    with (root / "topics.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "topic_all"])
        writer.writerows([post["id"], post["topic"]] for post in truth["posts"])
    import_labels(root / "topics.csv", mapping_pairs=["id=id", "labels.topic_all=topic_all"], workspace=root / "ws")
    featurize(root / "ws", encoders=["image-stats"])
    return root / "ws"


def _cv_macro_f1(workspace: Path, modalities: dict[str, str], tmp_path: Path, name: str) -> dict:
    config = parse_config(
        {
            "name": name,
            "target": "topic_all",
            "features": {"modalities": modalities, "metadata": False},
            "split": {"strategy": "author"},
            "model": {"kind": "fusion"},
            "num_threads": 1,
            "output": str(tmp_path / name),
        }
    )
    return run_train(config, workspace=workspace, cv=3)["cv"]


def test_fusion_at_least_matches_the_best_single_modality_on_the_sample_corpus(demo_workspace, tmp_path):
    scores = {
        name: _cv_macro_f1(demo_workspace, modalities, tmp_path, name)
        for name, modalities in (
            ("text", {"text": "tfidf"}),
            ("image", {"image": "image-stats"}),
            ("both", {"text": "tfidf", "image": "image-stats"}),
        )
    }
    means = {name: cv["mean"]["macro_f1"] for name, cv in scores.items()}
    print(f"sample corpus, 3 author-grouped folds, macro-F1 mean: {means}")
    assert means["image"] > 1 / 6 + 0.05, means  # the colours carry signal of their own (6 topics)
    assert means["both"] >= max(means["text"], means["image"]), means
    per_fold = {name: [f["metrics"]["macro_f1"] for f in cv["folds"]] for name, cv in scores.items()}
    assert sum(b >= t - 0.01 for b, t in zip(per_fold["both"], per_fold["text"])) >= 2, per_fold
