"""Artifacts round-trip: load_model(path).predict == the trained model's predictions."""

from __future__ import annotations

import json

import numpy as np
import pytest

from postlens.errors import ConfigError
from postlens.models.artifact import load_model, save_model
from postlens.models.baselines import BaselineModel
from postlens.models.distill import StudentModel, per_post_latency
from postlens.models.fusion import FusionModel


@pytest.mark.parametrize("kind", ["logreg", "lightgbm", "fusion", "student"])
def test_round_trip_predicts_identically(tmp_path, posts, kind):
    data, y = posts(n=300)
    if kind == "fusion":
        model = FusionModel(epochs=3, width=16, num_threads=1).fit(data, y)
    elif kind == "student":
        teacher = FusionModel(epochs=3, width=16, num_threads=1).fit(data, y)
        model = StudentModel(epochs=3, num_threads=1).fit(data, y, teacher_logits=teacher.decision_function(data))
    else:
        model = BaselineModel(kind=kind, n_estimators=20).fit(data, y)
    folder = save_model(
        tmp_path / "m",
        model,
        task="classification",
        classes=["a", "b", "c"],
        feature_keys={"text": "minilm@1"},
        meta_names=data.meta_names,
        fingerprint=data.fingerprint(["minilm@1"]),
        metrics={"test": {"macro_f1": 0.5}},
        config={"seed": 0},
    )
    loaded = load_model(folder)
    assert np.allclose(loaded.predict_proba(data), model.predict_proba(data), atol=1e-6)
    assert loaded.predict_labels(data.subset(np.arange(3)))[0] in {"a", "b", "c"}
    described = json.loads((folder / "model.json").read_text())
    assert described["kind"] == kind and described["feature_keys"] == {"text": "minilm@1"}
    assert len(described["fingerprint"]) == 64


def test_not_a_model_folder(tmp_path):
    with pytest.raises(ConfigError, match=r"model\.json"):
        load_model(tmp_path)


def test_student_learns_from_teacher_and_is_faster(posts):
    data, y = posts(n=400)
    teacher = FusionModel(epochs=8, width=32, num_threads=1).fit(data, y)
    student = StudentModel(modalities=("text",), epochs=20, num_threads=1).fit(
        data, y, teacher_logits=teacher.decision_function(data)
    )
    agreement = (student.predict(data) == teacher.predict(data)).mean()
    assert agreement > 0.7
    assert set(per_post_latency(student, data, n=10)) == {"ms_per_post_single", "ms_per_post_batched"}
