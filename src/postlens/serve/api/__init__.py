"""The HTTP API over a workspace: ``create_app(workspace)`` (FastAPI) and ``serve(...)`` (uvicorn)."""

from postlens.serve.api.app import create_app, serve

__all__ = ["create_app", "serve"]
