"""Imports point one way: a package never imports a package of a higher layer.

The layers of ``src/postlens``, lowest first. A package may import its own modules and any package
of a LOWER layer; packages on one line are peers and import none of each other.

    0  types, errors            the vocabulary (Post, Rejected, Features, the Importer contract), the exception tree
    1  values, machine          value repair shared by importers and the store; the cores this process may use
    2  media                    safe decoding, sniffing and size limits: what layer 3 reads files with
    3  sources | encoders | store | demo | engine
                                importers | feature extractors | the workspace and feature cache | sample corpus |
                                where batch work runs (in process, or Ray Data actor pools; ray imported lazily)
    4  evaluation               metrics, splits, folds
    5  models                   estimators, training inputs, artifacts
    6  tasks                    segments, trends, popularity (built on models' data loading and estimators)
    7  pipeline                 the stages wired together: take callbacks, return summaries, print nothing
    8  library | agent          ``postlens.open``: the notebook facade over pipeline, models and store |
                                ``postlens.Agent``: one post in, one insight out, from a workspace's saved models
    9  serve | postlens         CLI and every piece of terminal output (rich, typer) | the package root's lazy names

Why these directions (architecture.md: types <- sources, media, encoders, store <- models, tasks,
evaluation <- pipeline <- serve): within the middle layers the code already builds that way round
(``models`` scores with ``evaluation.metrics``; ``tasks.popularity`` loads data with ``models.data``),
and the reverse edge would make a cycle. ``from postlens import __version__`` is allowed anywhere:
the root package imports only ``types`` eagerly.

Counted: every ``import`` and ``from ... import`` anywhere in a module (top level, inside functions,
under ``TYPE_CHECKING``: a type annotation is a dependency too), and a module path given to
importlib as a string literal (``"postlens.encoders.text.sentence"``). Separately, ``rich`` and
``typer`` are imported only in ``serve``: terminal output lives there.
"""

from __future__ import annotations

import ast
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "postlens"

LAYERS: tuple[tuple[str, ...], ...] = (
    ("types", "errors"),
    ("values", "machine"),
    ("media",),
    ("sources", "encoders", "store", "demo", "engine"),
    ("evaluation",),
    ("models",),
    ("tasks",),
    ("pipeline",),
    ("library", "agent"),
    ("serve", "postlens"),
)
LAYER_OF = {unit: rank for rank, units in enumerate(LAYERS) for unit in units}
TERMINAL_LIBRARIES = ("rich", "typer")
TERMINAL_UNITS = ("serve",)
ANYWHERE = {"postlens.__version__"}
_MODULE_PATH = re.compile(r"postlens(\.[A-Za-z_][A-Za-z0-9_]*)+")


@dataclass(frozen=True)
class Edge:
    file: str
    line: int
    source: str  # importing unit
    target: str  # imported module, dotted
    unit: str | None  # imported unit (None: not postlens)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.source} imports {self.target}"


def unit_of_module(parts: list[str]) -> str:
    """``['postlens', 'store', 'features']`` -> ``store``; the root package is ``postlens``."""
    return parts[1] if len(parts) > 1 else "postlens"


def module_parts(path: Path, root: Path) -> list[str]:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def resolve_target(dotted: str, root: Path) -> str:
    """A dotted name as far as it names a module or package under ``root`` (``postlens.x.Name`` -> ``postlens.x``)."""
    parts = dotted.split(".")
    while len(parts) > 1:
        candidate = root.parent.joinpath(*parts)
        if candidate.with_suffix(".py").is_file() or (candidate / "__init__.py").is_file():
            return ".".join(parts)
        parts.pop()
    return dotted


def edges_of(path: Path, root: Path) -> list[Edge]:
    """Every import in one module, wherever it sits, as edges from its unit."""
    parts = module_parts(path, root)
    package = parts if path.name == "__init__.py" else parts[:-1]
    source = unit_of_module(parts)
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    rel = str(path.relative_to(root.parent))
    found: list[Edge] = []

    def add(line: int, dotted: str) -> None:
        top = dotted.split(".")[0]
        if top != root.name:
            found.append(Edge(rel, line, source, dotted, None))
            return
        if dotted in ANYWHERE:
            return
        target = resolve_target(dotted, root)
        found.append(Edge(rel, line, source, target, unit_of_module(target.split("."))))

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(node.lineno, alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module.split(".")[0] != root.name:
                add(node.lineno, module)
                continue
            for alias in node.names:  # ``from postlens import sources`` names a package
                add(node.lineno, f"{module}.{alias.name}" if alias.name != "*" else module)
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and _MODULE_PATH.fullmatch(node.value)
            and resolve_target(node.value, root) != root.name
        ):  # a real module path, not prose
            add(node.lineno, node.value)
    return list(dict.fromkeys(found))


def all_edges(root: Path) -> list[Edge]:
    return [edge for path in sorted(root.rglob("*.py")) for edge in edges_of(path, root)]


def units_of(root: Path) -> set[str]:
    return {
        p.stem if p.is_file() else p.name
        for p in root.iterdir()
        if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").is_file()
    } | {"postlens"}


def layer_violations(edges: list[Edge]) -> list[str]:
    out = []
    for edge in edges:
        if edge.unit is None or edge.unit == edge.source:
            continue
        mine, theirs = LAYER_OF.get(edge.source), LAYER_OF.get(edge.unit)
        if mine is None or theirs is None:
            continue  # reported by test_every_package_has_a_layer
        if theirs >= mine:
            how = "a peer" if theirs == mine else "a higher layer"
            out.append(f"{edge} ({edge.unit} is {how} of {edge.source})")
    return out


def terminal_violations(edges: list[Edge]) -> list[str]:
    return [
        f"{edge} (terminal output lives in serve/)"
        for edge in edges
        if edge.unit is None and edge.target.split(".")[0] in TERMINAL_LIBRARIES and edge.source not in TERMINAL_UNITS
    ]


# ---------------------------------------------------------------- the rules, on src/postlens


def test_every_package_has_a_layer() -> None:
    missing = sorted(units_of(SRC) - set(LAYER_OF))
    assert not missing, f"place {', '.join(missing)} in LAYERS of {__file__} (and in the docstring)"


def test_no_package_imports_a_higher_layer() -> None:
    problems = layer_violations(all_edges(SRC))
    assert not problems, "imports against the layering:\n" + "\n".join(problems)


def test_terminal_output_only_in_serve() -> None:
    problems = terminal_violations(all_edges(SRC))
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------- the checker itself


@pytest.fixture
def fake_tree(tmp_path: Path) -> Path:
    root = tmp_path / "postlens"
    files = {
        "__init__.py": "__version__ = '0'\n",
        "types.py": "",
        "store/__init__.py": "",
        "store/features.py": """
            from typing import TYPE_CHECKING
            from postlens.types import Post
            from postlens import __version__
            if TYPE_CHECKING:
                from postlens.sources.base import Importer

            def read():
                from postlens.models.data import load
                import importlib
                return importlib.import_module("postlens.models.data")
            """,
        "sources/__init__.py": "",
        "sources/base.py": "from postlens import sources\n",
        "models/__init__.py": "",
        "models/data.py": "def load(): ...\n",
        "pipeline/__init__.py": "",
        "pipeline/ingest.py": "def run():\n    from rich.console import Console\n    from .featurize import x\n",
        "pipeline/featurize.py": "x = 1\n",
    }
    for name, text in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text))
    return root


def test_checker_finds_lazy_typing_and_importlib_imports(fake_tree: Path) -> None:
    problems = layer_violations(all_edges(fake_tree))
    lines = {(p.split(":")[0], int(p.split(":")[1])) for p in problems}
    feature_file = str(Path("postlens/store/features.py"))
    # under TYPE_CHECKING (a peer), inside a function, and through importlib
    assert lines == {(feature_file, 6), (feature_file, 9), (feature_file, 11)}, problems
    assert any("sources is a peer of store" in p for p in problems)
    assert any("models is a higher layer of store" in p for p in problems)


def test_checker_allows_own_package_and_version(fake_tree: Path) -> None:
    edges = all_edges(fake_tree)
    relative = [e for e in edges if e.file.endswith("ingest.py") and e.unit == "pipeline"]
    assert relative and relative[0].target == "postlens.pipeline.featurize"
    assert not any(e.target == "postlens.__version__" for e in edges)
    assert not any("sources/base.py" in p for p in layer_violations(edges))


def test_checker_finds_rich_outside_serve(fake_tree: Path) -> None:
    problems = terminal_violations(all_edges(fake_tree))
    assert len(problems) == 1 and "pipeline/ingest.py:2" in problems[0]
