"""Every third-party package src/postlens imports is declared in pyproject.toml, by its distribution
name: a fresh `pip install -e '.[all]'` must bring everything the code imports (a package that only
arrives as another's dependency can disappear with that package's next release)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "postlens"

# import name -> distribution, for packages that are not installed here (packages_distributions()
# answers for the installed ones) and whose names differ
KNOWN_DISTRIBUTIONS = {
    "PIL": "pillow",
    "cv2": "opencv-python-headless",
    "faiss": "faiss-cpu",
    "imblearn": "imbalanced-learn",
    "sklearn": "scikit-learn",
    "yaml": "pyyaml",
}
NOT_RUNTIME_EXTRAS = {"bench", "dev"}
"""Extras src/ may not rely on: bench is for bench/ scripts, dev for tests and checks."""


def normalise(name: str) -> str:
    """PEP 503: ``scikit_learn``, ``Scikit.Learn`` and ``scikit-learn`` name one distribution."""
    return re.sub(r"[-_.]+", "-", name).lower()


def declared_distributions(pyproject: dict) -> set[str]:
    project = pyproject["project"]
    requirements = list(project.get("dependencies", []))
    for extra, extra_requirements in project.get("optional-dependencies", {}).items():
        if extra not in NOT_RUNTIME_EXTRAS:
            requirements += extra_requirements
    names = {normalise(re.match(r"[A-Za-z0-9._-]+", r.strip()).group(0)) for r in requirements}
    return names - {project["name"]}


def third_party_imports(root: Path) -> dict[str, list[str]]:
    """Top-level import name -> the files (``path:line``) importing it, absolute imports only."""
    found: dict[str, list[str]] = {}
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top != "postlens":
                    found.setdefault(top, []).append(f"{path.relative_to(root.parent)}:{node.lineno}")
    return found


def distributions_of(module: str, installed: dict[str, list[str]]) -> set[str]:
    if module in installed:
        return {normalise(d) for d in installed[module]}
    return {normalise(KNOWN_DISTRIBUTIONS.get(module, module))}


def undeclared(imports: dict[str, list[str]], declared: set[str], installed: dict[str, list[str]]) -> list[str]:
    return [
        f"{module} ({', '.join(sorted(distributions_of(module, installed)))}) imported at {where[0]}"
        for module, where in sorted(imports.items())
        if not distributions_of(module, installed) & declared
    ]


def test_every_third_party_import_of_src_is_declared() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    imports = third_party_imports(SRC)
    assert {"duckdb", "numpy", "pyarrow"} <= set(imports)  # the parser sees the imports at all
    missing = undeclared(imports, declared_distributions(pyproject), packages_distributions())
    assert not missing, "declare these in pyproject.toml (dependencies or an extra):\n" + "\n".join(missing)


def test_an_import_missing_from_pyproject_is_reported(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "a.py").write_text(
        "import os\nimport numpy as np\nfrom sklearn.linear_model import Ridge\n"
        "from . import b\n\ndef f():\n    import yaml\n"
    )
    pyproject = {
        "project": {
            "name": "pkg",
            "dependencies": ["numpy>=1.26"],
            "optional-dependencies": {"train": ["scikit-learn>=1.5; python_version>'3'"], "bench": ["PyYAML"]},
        }
    }
    imports = third_party_imports(package)
    assert set(imports) == {"numpy", "sklearn", "yaml"}
    missing = undeclared(imports, declared_distributions(pyproject), {})
    assert len(missing) == 1 and missing[0].startswith("yaml (pyyaml) imported at pkg/a.py:7"), missing


@pytest.mark.parametrize("name", ["scikit_learn", "Scikit.Learn", "scikit--learn", "SCIKIT-LEARN"])
def test_distribution_names_compare_normalised(name: str) -> None:
    assert normalise(name) == "scikit-learn"
