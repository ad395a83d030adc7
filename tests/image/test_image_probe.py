"""Real-data quality: image features alone predict the MediaEval event far above chance."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from _image_fixtures import MEDIAEVAL, REPO_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.shared]


def _probe_module():
    spec = importlib.util.spec_from_file_location("postlens_bench_image_probe", REPO_ROOT / "bench" / "image_probe.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not MEDIAEVAL.exists(), reason=f"MediaEval 2016 not found at {MEDIAEVAL} (../shared/datasets)")
def test_event_from_image_features_beats_chance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    probe = _probe_module()
    monkeypatch.setattr(probe, "CACHE", tmp_path)  # hermetic: no features from earlier bench runs
    data = probe.load_features(with_ocr=False, verbose=False)
    assert len(data.ids) >= 400
    results = probe.event_probe(data, folds=5)
    chance = max(
        results["by_near_duplicate_group/chance_stratified/macro_f1"],
        results["by_near_duplicate_group/chance_majority/macro_f1"],
    )
    assert results["by_near_duplicate_group/cnn/macro_f1"] > max(0.4, 4 * chance)
    assert results["by_image/cnn/macro_f1"] > max(0.4, 4 * chance)
