"""A small real workspace for the agent's, the API's and the MCP server's tests (real models, real DuckDB):
``demo-data --posts 300`` -> ingest -> featurize (every default encoder) -> segments fit -> a topic and a
sentiment classifier -> a popularity model and its predictions -> trends. ``tests/conftest.py`` builds it once per session
(fixture ``agent_workspace``); a module of its own because test files import ``AgentWorkspace``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

N_POSTS = 300
TOPIC_MODEL = {
    "name": "demo-topic",
    "target": "topic",
    "features": {
        "modalities": {"text": "minilm", "image": "efficientnet", "video": "video", "audio": "audio"},
        "text_fields": ["text", "ocr"],
    },
    "split": {"strategy": "stratified"},
    "model": {"kind": "logreg"},
    "seed": 0,
}
SENTIMENT_MODEL = {
    "name": "demo-sentiment",
    "target": "sentiment",
    "features": {"modalities": {"text": "minilm"}},
    "split": {"strategy": "stratified"},
    "model": {"kind": "logreg"},
    "seed": 0,
}


@dataclass
class AgentWorkspace:
    root: Path
    corpus: Path
    truth: dict[str, Any]

    def lines(self) -> dict[str, str]:
        """post id -> its JSON line in the corpus."""
        return {
            orjson.loads(line)["id"]: line for line in (self.corpus / "posts.jsonl").read_text().splitlines() if line
        }

    def kind_of(self) -> dict[str, str]:
        return {p["id"]: p["kind"] for p in self.truth["posts"]}

    def topic_of(self) -> dict[str, str]:
        return {p["id"]: p["topic"] for p in self.truth["posts"]}

    def media(self, suffix: str) -> list[Path]:
        return sorted((self.corpus / "media").glob(f"*{suffix}"))


def build_agent_workspace(root: Path, n_posts: int = N_POSTS, *, parallel_ocr: bool = False) -> AgentWorkspace:
    """Generate the sample corpus under ``root`` and run every step the agent reads the results of
    (bench/agent.py builds its workspace with this too, OCR in its worker as users run it)."""
    from postlens.demo import generate_corpus
    from postlens.models.config import parse_config
    from postlens.pipeline.featurize import featurize
    from postlens.pipeline.ingest import run_ingest
    from postlens.pipeline.popularity import run_popularity_fit, run_popularity_predict
    from postlens.pipeline.segments import fit_segments
    from postlens.pipeline.train import run_train
    from postlens.tasks.trends import trends

    corpus, ws = root / "corpus", root / "ws"
    generate_corpus(corpus, seed=7, n_posts=n_posts)
    run_ingest([corpus / "posts.jsonl"], importer_name="postlens", workspace=ws)
    featurize(ws, parallel_ocr=parallel_ocr)
    fit_segments(ws)
    run_train(parse_config(TOPIC_MODEL), workspace=ws)
    run_train(parse_config(SENTIMENT_MODEL), workspace=ws)
    fitted = run_popularity_fit(None, workspace=ws)
    run_popularity_predict(fitted["name"], workspace=ws)  # the stored predictions the dashboard ranks
    trends(ws, since="60d", bin="1d")
    return AgentWorkspace(ws, corpus, orjson.loads((corpus / "truth.json").read_bytes()))
