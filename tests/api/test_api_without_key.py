"""Without ``$POSTLENS_API_KEY`` the server says so, serves loopback clients, and refuses any other address."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from _server import ApiServer
from typer.testing import CliRunner

from _agent_fixtures import AgentWorkspace
from postlens.errors import ConfigError
from postlens.serve.cli import app

pytestmark = pytest.mark.slow


def test_without_a_key_only_a_loopback_address_is_allowed(tmp_path: Path) -> None:
    for host in ("0.0.0.0", "192.168.1.20", "example.org"):
        result = CliRunner().invoke(
            app, ["serve", "-w", str(tmp_path / "ws"), "--host", host], env={"POSTLENS_API_KEY": ""}
        )
        assert isinstance(result.exception, ConfigError), result.output
        assert "POSTLENS_API_KEY is not set" in str(result.exception) and host in str(result.exception)
    assert not (tmp_path / "ws").exists()  # refused before the workspace is touched


def test_without_a_key_the_server_says_so_and_serves_loopback(agent_workspace: AgentWorkspace, tmp_path: Path) -> None:
    server = ApiServer(agent_workspace.root, "--no-warm-up", key=None, log=tmp_path / "serve.log")
    try:
        assert httpx.get(f"{server.url}/healthz").json()["auth"] is False
        found = httpx.get(f"{server.url}/v1/segments", timeout=300)
        assert found.status_code == 200 and found.json()["segmentation"] == "topics"
        assert "POSTLENS_API_KEY is not set" in server.output()
    finally:
        server.stop()
