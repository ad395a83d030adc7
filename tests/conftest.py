"""Shared fixtures. Real-data tests use ``shared_datasets`` and skip with a message when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATASETS = Path(os.environ.get("POSTLENS_SHARED_DATASETS", REPO_ROOT.parent / "shared" / "datasets"))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def shared_dataset(name: str) -> Path:
    """Path to ``../shared/datasets/<name>``; skips the test with a clear message when absent."""
    path = SHARED_DATASETS / name
    if not path.exists():
        pytest.skip(f"real dataset {path} is absent (it lives beside the repo in ../shared/datasets)")
    return path


@pytest.fixture
def shared_datasets() -> Path:
    if not SHARED_DATASETS.exists():
        pytest.skip(f"real datasets folder {SHARED_DATASETS} is absent")
    return SHARED_DATASETS


@pytest.fixture
def dataset():
    """``dataset("pheme")`` -> path of that real dataset, or a skip with a message when absent."""
    return shared_dataset
