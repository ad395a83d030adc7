"""One real ``postlens serve`` (uvicorn, subprocess, 127.0.0.1, a free port) over the session's agent workspace,
with an API key and small upload limits so that the limits can be hit cheaply."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import httpx
import pytest
from _server import MAX_IMAGE, MAX_UPLOAD, ApiServer

from _agent_fixtures import AgentWorkspace


@pytest.fixture(scope="session")
def api_key() -> str:
    return secrets.token_urlsafe(24)


@pytest.fixture(scope="session")
def api_server(
    agent_workspace: AgentWorkspace, api_key: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiServer]:
    log = tmp_path_factory.mktemp("api") / "serve.log"
    server = ApiServer(
        agent_workspace.root,
        "--max-upload-size",
        f"{MAX_UPLOAD}",
        "--max-media-size",
        f"image={MAX_IMAGE}",
        "--max-waiting",
        "256",
        "--wait-seconds",
        "600",
        key=api_key,
        log=log,
    )
    yield server
    server.stop()
    assert api_key not in log.read_text(errors="replace"), "the API key was written to the server log"


@pytest.fixture
def client(api_server: ApiServer, api_key: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api_server.url, headers={"Authorization": f"Bearer {api_key}"}, timeout=600) as c:
        yield c
