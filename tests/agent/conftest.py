"""The agent tests' fixtures over the session workspace ``agent_workspace`` (built in tests/conftest.py
by ``_agent_fixtures.build_agent_workspace``). Tests copy it when they change it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from _agent_fixtures import AgentWorkspace


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
