"""The CLI's option defaults are the library's: the CLI module spells them out (importing the pipeline
to read them would slow ``postlens --help`` by a second), so this test keeps the two from drifting."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pytest

from postlens.library import WorkspaceHandle
from postlens.pipeline.featurize import MEDIA_BATCH, featurize
from postlens.pipeline.ingest import run_ingest
from postlens.serve import cli
from postlens.serve.featurize import run_featurize
from postlens.store.ingest import BATCH_SIZE, ingest


def default(function: Callable[..., Any], name: str) -> Any:
    return inspect.signature(function).parameters[name].default


@pytest.mark.parametrize(("constant", "functions"), [
    (BATCH_SIZE, [cli.ingest, run_ingest, ingest]),
    (MEDIA_BATCH, [cli.featurize, run_featurize, featurize, WorkspaceHandle.featurize]),
])
def test_batch_size_defaults_are_one_value(constant: int, functions: list[Callable[..., Any]]) -> None:
    assert {f.__qualname__: default(f, "batch_size") for f in functions} == {f.__qualname__: constant for f in functions}

