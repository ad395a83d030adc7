"""Helpers of the segments tests: the sample corpus, subsets of it, ingest + featurize."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

N_POSTS = 300
ENCODERS = ["minilm", "efficientnet"]


@dataclass
class DemoCorpus:
    corpus: Path
    truth: dict[str, Any]
    features: Path  # a feature cache holding every post of the corpus

    def topic_of(self) -> dict[str, str]:
        return {p["id"]: p["topic"] for p in self.truth["posts"]}

    def kind_of(self) -> dict[str, str]:
        return {p["id"]: p["kind"] for p in self.truth["posts"]}

    def write_subset(self, name: str, keep: Any) -> Path:
        """posts.jsonl lines whose post ``keep(truth post)`` accepts, written beside the corpus (media paths stay valid)."""
        truth = {p["id"]: p for p in self.truth["posts"]}
        lines = (self.corpus / "posts.jsonl").read_bytes().splitlines()
        out = self.corpus / name
        out.write_bytes(b"\n".join(line for line in lines if keep(truth[orjson.loads(line)["id"]])) + b"\n")
        return out


def ingest_and_featurize(corpus: DemoCorpus, posts_file: Path, workspace: Path) -> None:
    from postlens.pipeline.featurize import featurize
    from postlens.pipeline.ingest import run_ingest
    from postlens.store.workspace import Workspace

    run_ingest([posts_file], importer_name="postlens", media_root=corpus.corpus, workspace=workspace)
    target = workspace / "features"
    if corpus.features.exists() and corpus.features != target:
        shutil.copytree(corpus.features, target, dirs_exist_ok=True)
    with Workspace(workspace) as ws:
        featurize(ws, encoders=ENCODERS, parallel_ocr=False)
