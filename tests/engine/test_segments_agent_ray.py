"""Segment assignment and ``Agent.understand_many`` on Ray give what they give in-process."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from _agent_fixtures import AgentWorkspace
from postlens.engine import RayEngine
from postlens.store.features import FeatureCache
from postlens.store.workspace import Workspace

N_POSTS = 80
ENCODERS = ["minilm", "efficientnet"]


def assignments(root: Path) -> list[tuple[Any, ...]]:
    with Workspace(root, read_only=True) as ws:
        return ws.db.execute(
            "SELECT post_id, topic_id, round(score, 5), novel FROM post_topics WHERE segmentation = 'topics' ORDER BY post_id"
        ).fetchall()


def test_segments_assign_on_ray_places_new_posts_as_the_local_engine_does(
    tmp_path: Path, ray_engine: RayEngine
) -> None:
    from postlens.demo import generate_corpus
    from postlens.pipeline.featurize import featurize
    from postlens.pipeline.ingest import run_ingest
    from postlens.pipeline.segments import assign_segments, fit_segments

    corpus = tmp_path / "corpus"
    generate_corpus(corpus, seed=1, n_posts=N_POSTS)
    lines = (corpus / "posts.jsonl").read_bytes().splitlines()
    lines.sort(key=lambda line: orjson.loads(line).get("created_at") or "")
    cut = int(0.7 * len(lines))
    (corpus / "old.jsonl").write_bytes(b"\n".join(lines[:cut]) + b"\n")
    (corpus / "new.jsonl").write_bytes(b"\n".join(lines[cut:]) + b"\n")
    base = tmp_path / "base"
    run_ingest([corpus / "old.jsonl"], importer_name="postlens", media_root=corpus, workspace=base)
    featurize(base, encoders=ENCODERS, parallel_ocr=False)
    fit_segments(base, n_topics=4)
    before = assignments(base)

    copies = {}
    for engine in ("local", "ray"):
        copies[engine] = tmp_path / engine
        shutil.copytree(base, copies[engine])
        run_ingest([corpus / "new.jsonl"], importer_name="postlens", media_root=corpus, workspace=copies[engine])
    local = assign_segments(copies["local"])
    on_ray = assign_segments(copies["ray"], engine=ray_engine)

    assert on_ray.posts == local.posts >= len(lines) - cut  # new posts (and earlier outliers, retried)
    assert assignments(copies["ray"]) == assignments(copies["local"])
    assert set(before) <= set(assignments(copies["ray"]))  # old posts kept their topic
    for folder in sorted((copies["local"] / "features").iterdir()):  # new posts' features, computed on Ray
        local_rows = FeatureCache(copies["local"] / "features").read(folder.name)
        ray_rows = FeatureCache(copies["ray"] / "features").read(folder.name)
        assert sorted(ray_rows) == sorted(local_rows), folder.name


@contextmanager
def single_threaded() -> Iterator[None]:
    """This process's BLAS, OpenMP and torch pools at one thread (what each Ray actor gets), restored after."""
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(1):
            yield
    finally:
        torch.set_num_threads(before)


def comparable(result: Any) -> Any:
    """An Insight's JSON without its timings (wall time differs run to run), floats to 5 places."""

    def clean(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items() if k != "timings_ms"}
        if isinstance(value, list):
            return [clean(v) for v in value]
        if isinstance(value, float):
            return round(value, 5)
        return value

    return clean(result.model_dump(mode="json"))


def test_understand_many_on_ray_answers_as_the_local_agent_does(
    agent_workspace: AgentWorkspace, ray_engine: RayEngine
) -> None:
    from postlens.agent import Agent, AgentRequest

    lines = list(agent_workspace.lines().values())[:10]
    picture = agent_workspace.media(".png")[0]
    requests: list[Any] = [AgentRequest(post=orjson.loads(line), media_root=agent_workspace.corpus) for line in lines]
    requests += [
        AgentRequest(text="Flooded subway station after the storm #flood", files=[picture]),
        {"text": ""},  # cannot be understood: a Failure in its place, the others go on
        AgentRequest(files=[agent_workspace.root / "no-such-file.png"]),
    ]
    with Agent(agent_workspace.root, similar=3) as agent:
        with single_threaded():  # as the actors run: BLAS/OpenMP thread counts move some answers by ~1e-4
            local = agent.understand_many(requests)
        on_ray = agent.understand_many(requests, engine=ray_engine)
    assert len(on_ray) == len(local) == len(requests)
    assert [getattr(r, "kind", "insight") for r in on_ray] == [getattr(r, "kind", "insight") for r in local]
    assert sum(getattr(r, "kind", None) == "failure" for r in on_ray) >= 2
    assert [comparable(r) for r in on_ray] == [comparable(r) for r in local]


def test_an_input_that_cannot_be_sent_to_ray_fails_alone(
    agent_workspace: AgentWorkspace, ray_engine: RayEngine
) -> None:
    from postlens.agent import Agent, Failure

    with Agent(agent_workspace.root, similar=0) as agent, open(agent_workspace.corpus / "posts.jsonl") as handle:
        results = agent.understand_many([{"text": "fine #ok"}, {"text": "bad", "extra": handle}], engine=ray_engine)
    assert getattr(results[0], "kind", "insight") != "failure"
    assert isinstance(results[1], Failure)
    assert results[1].index == 1 and "cannot be sent to the Ray engine" in results[1].message
