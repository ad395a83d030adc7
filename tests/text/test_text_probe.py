"""Quality probe on real tweets: MiniLM embeddings + logistic regression on TweetEval emotion."""

from __future__ import annotations

import numpy as np
import pytest

from postlens.encoders.text.sentence import MiniLMEncoder


@pytest.mark.slow
@pytest.mark.shared
def test_minilm_linear_probe_beats_chance_by_far(dataset) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score

    root = dataset("tweeteval") / "emotion"

    def load(split: str) -> tuple[list[str], np.ndarray]:
        texts = (root / f"{split}_text.txt").read_text(encoding="utf-8").splitlines()
        labels = np.array([int(x) for x in (root / f"{split}_labels.txt").read_text().split()])
        return texts, labels

    train_text, train_y = load("train")
    val_text, val_y = load("val")
    encoder = MiniLMEncoder()
    train_x = np.stack([f.vector for f in encoder.encode(train_text)])
    val_x = np.stack([f.vector for f in encoder.encode(val_text)])
    model = LogisticRegression(max_iter=3000, C=4.0, class_weight="balanced").fit(train_x, train_y)
    score = f1_score(val_y, model.predict(val_x), average="macro")
    assert score > 0.45, f"macro-F1 {score:.3f} (4 classes, chance ~0.25)"
