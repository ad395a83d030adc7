"""``postlens mcp`` over stdio, driven by the official SDK's own client: the tools are listed with their
input schemas, ``analyze`` answers a post with an image, the other tools answer, and a refused file is a
tool error with its code while the server goes on."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters

from _agent_fixtures import AgentWorkspace
from postlens.agent import Insight, SearchResult

pytestmark = pytest.mark.slow
SRC = Path(__file__).resolve().parents[2] / "src"
PASSED_ENV = ("POSTLENS_CACHE_DIR", "POSTLENS_NUM_THREADS", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HOME", "TMPDIR")


def server(workspace: Path) -> StdioServerParameters:
    env = {k: os.environ[k] for k in PASSED_ENV if k in os.environ}
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])
    return StdioServerParameters(
        command=sys.executable,
        env=env,
        args=["-c", "from postlens.serve.cli import main; main()", "mcp", "--workspace", str(workspace)],
    )


async def session(workspace: Path, image: Path, liar: Path) -> dict[str, Any]:
    async with Client(server(workspace)) as client:
        tools = (await client.list_tools()).tools
        analyzed = await client.call_tool(
            "analyze",
            {"text": "Dinner at the night market #streetfood", "files": [str(image)], "similar": 3},
            read_timeout_seconds=600,
        )
        searched = await client.call_tool("search", {"query": "live concert with the band", "k": 5})
        segments = await client.call_tool("segments", {"examples": 1})
        trends = await client.call_tool("trends", {"top": 3})
        refused = await client.call_tool("analyze", {"files": [str(liar)]})
        after = await client.call_tool("analyze", {"text": "still here? #question"})
        return {
            "tools": tools,
            "analyzed": analyzed,
            "searched": searched,
            "segments": segments,
            "trends": trends,
            "refused": refused,
            "after": after,
        }


def test_the_mcp_server_over_stdio(agent_workspace: AgentWorkspace, tmp_path: Path) -> None:
    image = agent_workspace.media(".png")[0]
    liar = tmp_path / "clip.mp4"
    liar.write_bytes(image.read_bytes())
    found = asyncio.run(session(agent_workspace.root, image, liar))
    schemas = {tool.name: tool.input_schema for tool in found["tools"]}
    assert set(schemas) == {"analyze", "search", "segments", "trends"}
    assert {"text", "files", "post"} <= set(schemas["analyze"]["properties"])
    assert not found["analyzed"].is_error, found["analyzed"].content
    insight = Insight.model_validate(found["analyzed"].structured_content)
    assert insight.modalities == ["text", "image"] and insight.media[0].name == image.name
    assert insight.topic is not None and len(insight.similar) == 3 and insight.visual_labels
    hits = SearchResult.model_validate(found["searched"].structured_content).hits
    topics = agent_workspace.topic_of()
    assert len(hits) == 5 and sum(topics[h.post_id] == "music" for h in hits) >= 4
    assert found["segments"].structured_content["segmentation"] == "topics"
    assert found["segments"].structured_content["topics"] and found["trends"].structured_content["sources"]
    refused = found["refused"]
    assert refused.is_error and "media_mismatch" in refused.content[0].text and "clip.mp4" in refused.content[0].text
    assert not found["after"].is_error and found["after"].structured_content["hashtags"] == ["question"]
