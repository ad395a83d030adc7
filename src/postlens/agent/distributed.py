"""``understand_many`` on an engine: the requests split into batches, each batch answered by an actor
that loaded the workspace's Agent (its models, topic model and neighbour index) once.

Requests travel pickled (posts, dicts, file paths, uploaded bytes: the caller's own objects to the
caller's own workers); answers come back as the Insight / Failure JSON and are parsed on the driver,
in input order. File paths must name files every node can read (the same path on each).
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from postlens.agent.insight import Failure, Insight
from postlens.engine.ray_engine import RayEngine

REQUESTS_PER_BATCH = 16
"""Requests one actor answers per call: the Agent batches model calls within it."""


class AgentBatch:
    """A Ray actor: one ``Agent`` built once, then (index, pickled request) rows in, (index, JSON) rows out."""

    def __init__(self, workspace: str, options: Mapping[str, Any], ocr: bool | None, similar: int | None) -> None:
        from postlens.agent.agent import Agent

        self.agent = Agent(workspace, **options)
        self.ocr, self.similar = ocr, similar

    def __call__(self, batch: pa.Table) -> pa.Table:
        indexes = batch.column("index").to_pylist()
        requests = [pickle.loads(blob) for blob in batch.column("request").to_pylist()]
        results = self.agent.understand_many(requests, ocr=self.ocr, similar=self.similar)
        failed = {r.index: r for r in results if isinstance(r, Failure)}
        answered = iter(r for r in results if isinstance(r, Insight))
        rows: list[str] = []
        for local in range(len(requests)):  # a Failure carries its index in this batch: make it the caller's
            failure = failed.get(local)
            rows.append(
                failure.model_copy(update={"index": indexes[local]}).model_dump_json()
                if failure is not None
                else next(answered).model_dump_json()
            )
        return pa.table(
            {
                "index": pa.array(indexes, pa.int64()),
                "failed": pa.array([local in failed for local in range(len(requests))], pa.bool_()),
                "result": pa.array(rows, pa.string()),
            }
        )


def understand_many_on(
    engine: RayEngine,
    workspace: str | Path,
    requests: Sequence[Any],
    options: Mapping[str, Any],
    *,
    ocr: bool | None = None,
    similar: int | None = None,
    batch_size: int = REQUESTS_PER_BATCH,
) -> list[Insight | Failure]:
    """Every request answered on ``engine`` by actors holding an ``Agent(workspace, **options)``, in input order."""
    found: dict[int, Insight | Failure] = {}
    blobs: list[bytes] = []
    sent: list[int] = []
    for i, request in enumerate(requests):
        try:
            blobs.append(pickle.dumps(request))
            sent.append(i)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:  # an open file, a generator...
            found[i] = Failure(index=i, code="bad_input", message=f"cannot be sent to the Ray engine: {exc}")
    if not sent:
        return [found[i] for i in range(len(requests))]
    table = pa.table({"index": pa.array(sent, pa.int64()), "request": pa.array(blobs, pa.binary())})
    kwargs = {
        "workspace": str(workspace),
        "options": {**options, "num_threads": engine.threads_per_worker},
        "ocr": ocr,
        "similar": similar,
    }
    for out in engine.map_table(table, AgentBatch, kwargs, batch_size=batch_size):
        for index, failed, result in zip(*(out.column(c).to_pylist() for c in ("index", "failed", "result"))):
            found[index] = Failure.model_validate_json(result) if failed else Insight.model_validate_json(result)
    missing = [i for i in range(len(requests)) if i not in found]
    if missing:  # Ray Data returns every row or raises: a gap is a bug, never a silent drop
        raise RuntimeError(f"the engine returned no answer for inputs {missing[:10]}")
    return [found[i] for i in range(len(requests))]
