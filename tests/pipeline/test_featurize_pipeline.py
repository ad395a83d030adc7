"""Featurize end to end on a small sample corpus: every modality, text from media, a free re-run."""

from __future__ import annotations

from pathlib import Path

import pytest

from postlens.pipeline import run_demo
from postlens.pipeline.featurize import featurize
from postlens.store.features import FeatureCache
from postlens.store.workspace import Workspace

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def featurized(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object, object]:
    root = tmp_path_factory.mktemp("featurize")
    run_demo(root / "corpus", seed=11, n_posts=60, workspace=root / "ws", featurize=False)
    with Workspace(root / "ws") as ws:
        first = featurize(ws)
        second = featurize(ws)
    return root / "ws", first, second


def test_every_modality_is_featurized(featurized: tuple[Path, object, object]) -> None:
    ws_path, first, _ = featurized
    runs = {r.encoder: r for r in first.runs}
    with Workspace(ws_path, read_only=True) as ws:
        kinds = dict(ws.db.execute("SELECT kind, count(DISTINCT sha256) FROM media WHERE status='stored' GROUP BY 1").fetchall())
    assert runs["efficientnet"].items == kinds.get("image", 0) + kinds.get("gif", 0) > 0
    assert runs["video"].items == kinds.get("video", 0)
    assert runs["audio"].items == kinds.get("audio", 0)
    for name, run in runs.items():
        assert run.computed == run.items, name
        assert run.errors == 0, f"{name} failed on sample media"


def test_ocr_text_joins_the_text_fields_and_is_embedded(featurized: tuple[Path, object, object]) -> None:
    ws_path, _, _ = featurized
    with Workspace(ws_path, read_only=True) as ws:
        fields = dict(ws.db.execute("SELECT field, count(*) FROM text_fields GROUP BY 1").fetchall())
        keys = [r[0] for r in ws.db.execute("SELECT key FROM text_fields").fetchall()]
        cache = FeatureCache(ws.features_dir)
        minilm = next(p.name for p in ws.features_dir.iterdir() if p.name.startswith("text-minilm"))
        _, mask = cache.vectors(minilm, keys)
    assert fields.get("ocr", 0) > 0, "captions drawn on the sample images should be read by OCR"
    assert fields.get("text", 0) > 0
    assert mask.all(), "every text field, OCR text included, gets a sentence embedding"


def test_rerun_does_no_model_work(featurized: tuple[Path, object, object]) -> None:
    _, _, second = featurized
    assert second.computed == 0
