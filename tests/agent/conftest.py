"""A small real workspace for the agent's tests (real models, real DuckDB), built once per session:
``demo-data --posts 300`` -> ingest -> featurize (every default encoder) -> segments fit -> a topic and
a sentiment classifier -> a popularity model -> trends. Tests copy it when they change it."""

from __future__ import annotations

import shutil
from pathlib import Path

import orjson
import pytest
from _agent_fixtures import AgentWorkspace

N_POSTS = 300
TOPIC_MODEL = {"name": "demo-topic", "target": "topic",
               "features": {"modalities": {"text": "minilm", "image": "efficientnet", "video": "video", "audio": "audio"},
                            "text_fields": ["text", "ocr"]},
               "split": {"strategy": "stratified"}, "model": {"kind": "logreg"}, "seed": 0}
SENTIMENT_MODEL = {"name": "demo-sentiment", "target": "sentiment", "features": {"modalities": {"text": "minilm"}},
                   "split": {"strategy": "stratified"}, "model": {"kind": "logreg"}, "seed": 0}


@pytest.fixture(scope="session")
def agent_workspace(tmp_path_factory: pytest.TempPathFactory) -> AgentWorkspace:
    from postlens.demo import generate_corpus
    from postlens.models.config import parse_config
    from postlens.pipeline.featurize import featurize
    from postlens.pipeline.ingest import run_ingest
    from postlens.pipeline.popularity import run_popularity_fit
    from postlens.pipeline.segments import fit_segments
    from postlens.pipeline.train import run_train
    from postlens.tasks.trends import trends

    root = tmp_path_factory.mktemp("agent")
    corpus, ws = root / "corpus", root / "ws"
    generate_corpus(corpus, seed=7, n_posts=N_POSTS)
    run_ingest([corpus / "posts.jsonl"], importer_name="postlens", workspace=ws)
    featurize(ws, parallel_ocr=False)
    fit_segments(ws)
    run_train(parse_config(TOPIC_MODEL), workspace=ws)
    run_train(parse_config(SENTIMENT_MODEL), workspace=ws)
    run_popularity_fit(None, workspace=ws)
    trends(ws, since="60d", bin="1d")
    return AgentWorkspace(ws, corpus, orjson.loads((corpus / "truth.json").read_bytes()))


@pytest.fixture(scope="session")
def agent(agent_workspace: AgentWorkspace):
    """One warmed agent over the session workspace (read-only use)."""
    from postlens.agent import Agent

    with Agent(agent_workspace.root, similar=5) as shared:
        shared.warm_up()
        yield shared


@pytest.fixture
def workspace_copy(agent_workspace: AgentWorkspace, tmp_path: Path) -> Path:
    target = tmp_path / "ws"
    shutil.copytree(agent_workspace.root, target)
    return target
