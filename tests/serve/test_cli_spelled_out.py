"""What the CLI module spells out instead of importing (reading it from the pipeline and the importer
registry would slow ``postlens --help`` by a second): its option defaults and the importer names in
its help. These tests keep each spelling equal to the one definition."""

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



def test_ingest_help_names_every_importer_and_only_those() -> None:
    import re

    import typer

    from postlens.sources.base import known_importers, known_recipes

    command = typer.main.get_command(cli.app).commands["ingest"]  # type: ignore[attr-defined]
    helps = {param.name: param.help for param in command.params}
    listed = {option: re.search(r":\s*([a-z0-9, -]+)\.", helps[option]).group(1).split(", ")  # type: ignore[union-attr]
              for option in ("format", "recipe")}
    recipes = set(known_recipes())
    assert recipes and recipes < set(known_importers())
    assert set(listed["recipe"]) == recipes
    assert set(listed["format"]) == set(known_importers()) - recipes
