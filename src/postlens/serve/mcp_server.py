"""The MCP server: the agent's answers as tools (analyze, search, segments, trends) for an LLM client.

    postlens mcp --workspace WS          # stdio; e.g. in a client's config: {"command": "postlens",
                                         #   "args": ["mcp", "--workspace", "/path/to/ws"]}

Built on the official ``mcp`` SDK (``MCPServer``). The workspace's models load once, when the server
starts. Over stdio the client runs on this machine, so ``analyze`` takes local file paths; each goes
through ingest's media gate (confined to its own folder, type sniffed from the bytes, size limits),
exactly as ``postlens analyze``. A library error becomes a tool error ``<code>: <message>``; the
server goes on. Nothing is written to the workspace.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from postlens.agent import Insight, SearchResult
from postlens.errors import PostlensError
from postlens.serve.api.views import Segments, Trends, read_segments, read_trends

T = TypeVar("T")
INSTRUCTIONS = (
    "postlens understands social-media posts (text, images, video, audio) with a workspace's trained "
    "models. Use 'analyze' for one post (text and/or local media file paths), 'search' to find stored "
    "posts about something, 'segments' for the workspace's topics and 'trends' for what is rising."
)


def create_mcp_server(
    workspace: str | os.PathLike[str] | None = None, *, lock_wait: float | None = 5.0, **agent_options: Any
) -> MCPServer:
    """The server with the workspace's agent loaded; ``agent_options`` go to ``postlens.Agent``."""
    from postlens.agent import Agent

    agent_options.setdefault("queue_timeout", 600.0)
    agent = Agent(workspace, **agent_options)
    root = agent.root
    server = MCPServer(name="postlens", instructions=INSTRUCTIONS)

    @server.tool(
        description="Understand one post: language, OCR text, transcript, visual labels, topic, labels, "
        "sentiment, popularity, trends, similar stored posts. Give text, local media files (absolute paths "
        "of images, GIFs, video, audio), a post as a JSON object in postlens' native shape, or a mix."
    )
    def analyze(
        text: str | None = None,
        files: list[str] | None = None,
        post: dict[str, Any] | None = None,
        media_root: str | None = None,
        similar: int = 5,
        ocr: bool = True,
    ) -> Insight:
        """``media_root``: the folder a post's own media names resolve in (files outside it are refused)."""
        return _answer(
            lambda: agent.understand(
                post,
                files=[Path(f) for f in files or []],
                text=text,
                media_root=media_root,
                similar=max(0, min(similar, 100)),
                ocr=ocr,
            )
        )

    @server.tool(
        description="Stored posts nearest a text and/or a local image in the workspace's shared space "
        "(text, OCR, transcripts and images together): image-only posts come back for words about them."
    )
    def search(query: str | None = None, image: str | None = None, k: int = 10) -> SearchResult:
        return _answer(lambda: agent.search(query, image=Path(image) if image else None, k=max(1, min(k, 1000))))

    @server.tool(description="The workspace's topics (segments): id, label, top words, size, typical posts.")
    def segments(name: str = "topics", examples: int = 3) -> Segments:
        return _answer(lambda: read_segments(root, name, max(0, min(examples, 20))))

    @server.tool(
        description="Terms (hashtags, entities, topics) with their trend state: emerging, peaking, "
        "declining or steady, as saved by the last 'postlens trends' run. Filter by source or state."
    )
    def trends(source: str | None = None, state: str | None = None, top: int = 20) -> Trends:
        return _answer(lambda: read_trends(root, source, state, max(1, min(top, 1000)), lock_wait))

    server.postlens_agent = agent  # type: ignore[attr-defined]  # closed by run_mcp
    return server


def run_mcp(workspace: str | os.PathLike[str] | None = None, **options: Any) -> None:
    """Serve over stdio until the client closes the connection."""
    with contextlib.redirect_stdout(sys.stderr):  # stdout is the protocol's: a stray print would corrupt it
        server = create_mcp_server(workspace, **options)
    try:
        server.run("stdio")
    finally:
        server.postlens_agent.close()  # type: ignore[attr-defined]


def _answer(work: Callable[[], T]) -> T:
    try:
        return work()
    except PostlensError as exc:
        raise ToolError(f"{exc.code}: {exc}") from None
