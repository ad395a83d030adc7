"""The training report at a terminal shows class names, per-class figures, the confusion matrix, the
imbalance choice made on validation and cross-validation mean +- std."""

from __future__ import annotations

import json

import numpy as np
from rich.console import Console

from postlens.models.config import parse_config
from postlens.models.data import TrainingSet
from postlens.models.inputs import PostData
from postlens.pipeline.train import train_from_config
from postlens.serve.render_train import print_train_report

CLASSES = ["anger", "joy", "optimism", "sadness"]


def _training_set(n: int = 400) -> TrainingSet:
    rng = np.random.default_rng(0)
    y = rng.choice(4, n, p=[0.4, 0.3, 0.2, 0.1])
    text = (rng.normal(size=(4, 8))[y] * 2 + rng.normal(size=(n, 8))).astype(np.float32)
    data = PostData(
        modalities={"text": text},
        masks={"text": np.ones(n, bool)},
        meta=np.zeros((n, 0), np.float32),
        ids=[f"p{i}" for i in range(n)],
    )
    return TrainingSet(data=data, y=y, task="classification", classes=CLASSES)


def test_report_shows_names_per_class_confusion_choice_and_cv():
    config = parse_config({"model": {"kind": "logreg"}, "split": {"strategy": "stratified"}})
    report = train_from_config(config, _training_set(), compare_imbalance=True, folds=3)
    console = Console(record=True, width=240)
    print_train_report(console, report)
    text = console.export_text()
    assert "per class, held-out" in text and "confusion matrix" in text and "true \\ predicted" in text
    for name in CLASSES:
        assert text.count(name) >= 4  # per-class row, confusion row and column, CV F1 row
    assert "minority recall" in text and "(sadness)" in text
    assert "chosen on validation" in text and "chosen" in text and "of the chosen method only" in text
    assert "3 stratified folds" in text and "+-" in text and "F1 sadness" in text
    json.dumps(report)  # the same report is metrics.json
