"""Shared fixtures. Real-data tests use ``shared_datasets`` and skip with a message when it is absent."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
# The local platform API server (tests/collect/_apiserver.py) also serves the scraper's test sites
sys.path.insert(0, str(REPO_ROOT / "tests" / "collect"))
SHARED_DATASETS = Path(os.environ.get("POSTLENS_SHARED_DATASETS", REPO_ROOT.parent / "shared" / "datasets"))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# ONNX exports of the packaged models land here, not in the home folder; shared by test runs and workers
os.environ.setdefault("POSTLENS_CACHE_DIR", str(Path(tempfile.gettempdir()) / "postlens-test-cache"))
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# Models default to every core of the machine; the shared 2-core test box is under load, where one
# thread per model is several times faster (see postlens.models.threads). Tests of the default unset it.
os.environ.setdefault("POSTLENS_NUM_THREADS", "1")


def shared_dataset(name: str) -> Path:
    """Path to ``../shared/datasets/<name>``; skips the test with a clear message when absent."""
    path = SHARED_DATASETS / name
    if not path.exists():
        pytest.skip(f"real dataset {path} is absent (it lives beside the repo in ../shared/datasets)")
    return path


@pytest.fixture
def shared_datasets() -> Path:
    if not SHARED_DATASETS.exists():
        pytest.skip(f"real datasets folder {SHARED_DATASETS} is absent")
    return SHARED_DATASETS


@pytest.fixture
def dataset():
    """``dataset("pheme")`` -> path of that real dataset, or a skip with a message when absent."""
    return shared_dataset


_HOLDER = """
import sys, duckdb
db = duckdb.connect(sys.argv[1])
print("held", flush=True)
sys.stdin.readline()
db.close()
print("released", flush=True)
sys.stdin.readline()
"""


class WriteLockHolder:
    """A real second process holding DuckDB's write lock on a database file until ``release()``."""

    def __init__(self, db_path: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", _HOLDER, str(db_path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        if self.process.stdout.readline().strip() != "held":
            self.process.kill()
            raise RuntimeError(f"the lock holder did not start: {self.process.stderr.read()}")
        self.pid = self.process.pid

    def release(self) -> None:
        """Close the write connection (the process stays alive, holding nothing)."""
        self.process.stdin.write("\n")
        self.process.stdin.flush()
        assert self.process.stdout.readline().strip() == "released"

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


@pytest.fixture
def hold_write_lock():
    """``hold_write_lock(db_path)`` -> a ``WriteLockHolder``; every holder is stopped after the test."""
    holders: list[WriteLockHolder] = []

    def start(db_path: Path) -> WriteLockHolder:
        holders.append(WriteLockHolder(db_path))
        return holders[-1]

    yield start
    for holder in holders:
        holder.stop()


@pytest.fixture(scope="session")
def demo_run_300(tmp_path_factory: pytest.TempPathFactory):
    """``postlens demo`` on a 300-post sample corpus (seed 0), every stage run once: the DemoReport.

    Shared by the report and demo tests; tests that change the workspace say so and leave it valid.
    """
    from postlens.pipeline.demo import run_demo

    root = tmp_path_factory.mktemp("demo-300")
    return run_demo(root / "corpus", seed=0, n_posts=300, workspace=root / "ws")


@pytest.fixture(scope="session")
def agent_workspace(tmp_path_factory: pytest.TempPathFactory):
    """A small real workspace with trained models (``_agent_fixtures.build_agent_workspace``), built once per
    session and shared by the agent, API and MCP tests; read-only use (copy it to change it)."""
    from _agent_fixtures import build_agent_workspace

    return build_agent_workspace(tmp_path_factory.mktemp("agent"))
