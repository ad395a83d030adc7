"""One small demo corpus per test session: generating it costs about a second, reading it is cheap."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from postlens.demo import CorpusSummary, generate_corpus

DEMO_SEED = 7
DEMO_POSTS = 300


@pytest.fixture(scope="session")
def demo_settings() -> tuple[int, int]:
    """(seed, n_posts) of the shared session corpus."""
    return DEMO_SEED, DEMO_POSTS


@pytest.fixture(scope="session")
def demo_corpus(tmp_path_factory: pytest.TempPathFactory) -> CorpusSummary:
    return generate_corpus(tmp_path_factory.mktemp("demo") / "corpus", seed=DEMO_SEED, n_posts=DEMO_POSTS)


@pytest.fixture(scope="session")
def demo_posts(demo_corpus: CorpusSummary) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in demo_corpus.posts_path.read_bytes().splitlines()]


@pytest.fixture(scope="session")
def demo_truth(demo_corpus: CorpusSummary) -> dict[str, Any]:
    return orjson.loads(demo_corpus.truth_path.read_bytes())
