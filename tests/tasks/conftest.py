"""A small featurized sample corpus shared by the segments tests (real models, real DuckDB).

One corpus and one feature cache per session: the cache is content-addressed, so a second
workspace built from parts of the same corpus reuses it (copied) and computes nothing twice.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import orjson
import pytest
from _segments_fixtures import N_POSTS, DemoCorpus, ingest_and_featurize


@pytest.fixture(scope="session")
def demo_corpus(tmp_path_factory: pytest.TempPathFactory) -> DemoCorpus:
    from postlens.demo import generate_corpus

    root = tmp_path_factory.mktemp("segments-demo")
    generate_corpus(root / "corpus", seed=0, n_posts=N_POSTS)
    corpus = DemoCorpus(
        root / "corpus", orjson.loads((root / "corpus" / "truth.json").read_bytes()), root / "ws" / "features"
    )
    ingest_and_featurize(corpus, corpus.corpus / "posts.jsonl", root / "ws")
    return corpus


@pytest.fixture
def demo_workspace(demo_corpus: DemoCorpus, tmp_path: Path) -> Path:
    """A private copy of the featurized workspace of the whole corpus."""
    target = tmp_path / "ws"
    shutil.copytree(demo_corpus.features.parent, target)
    return target
