"""A burst of 200 concurrent requests of every kind against the real server: each is answered (200, or 429
problem+json when the line is full), none is a 5xx, the server stays up. Speed: bench/api.py."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import pytest
from _server import ApiServer

from _agent_fixtures import AgentWorkspace

pytestmark = pytest.mark.slow
BURST = 200


def burst_requests(agent_workspace: AgentWorkspace, n: int) -> list[tuple[str, str, dict]]:
    """``n`` requests cycling through the endpoints (analyze of stored text-only posts: a post's own media
    names are refused over HTTP, search, reads)."""
    lines = [(i, line) for i, line in agent_workspace.lines().items() if '"media":[]' in line]
    out: list[tuple[str, str, dict]] = []
    for i in range(n):
        post_id, line = lines[i % len(lines)]
        kind = i % 6
        if kind == 0:
            out.append(
                (
                    "POST",
                    "/v1/analyze",
                    {"content": line, "headers": {"Content-Type": "application/json"}, "params": {"similar": 3}},
                )
            )
        elif kind == 1:
            out.append(("GET", "/v1/search", {"params": {"q": f"post number {i} about the weather", "k": 5}}))
        elif kind == 2:
            out.append(("GET", "/v1/segments", {}))
        elif kind == 3:
            out.append(("GET", "/v1/trends", {}))
        elif kind == 4:
            out.append(("GET", f"/v1/posts/{post_id}", {}))
        else:
            out.append(("GET", "/healthz", {}))
    return out


async def fire(url: str, key: str, requests: list[tuple[str, str, dict]]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=len(requests), max_keepalive_connections=len(requests))
    async with httpx.AsyncClient(
        base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=900, limits=limits
    ) as client:
        return list(await asyncio.gather(*(client.request(m, p, **kw) for m, p, kw in requests)))


def test_a_burst_of_200_concurrent_requests_has_no_server_error(
    api_server: ApiServer, api_key: str, agent_workspace: AgentWorkspace
) -> None:
    responses = asyncio.run(fire(api_server.url, api_key, burst_requests(agent_workspace, BURST)))
    statuses = Counter(r.status_code for r in responses)
    assert len(responses) == BURST and not [s for s in statuses if s >= 500], statuses
    assert set(statuses) <= {200, 429}, statuses
    assert statuses[200] >= BURST // 2, statuses
    for busy in (r for r in responses if r.status_code == 429):
        assert busy.headers["content-type"].startswith("application/problem+json") and busy.headers["retry-after"]
    assert api_server.alive()
