"""``create_app(workspace)``: the HTTP API over a workspace (FastAPI; OpenAPI at /docs), and ``serve`` to run it.

    from postlens.serve.api import create_app
    app = create_app("postlens-workspace", api_key="...")      # any ASGI server
    serve("postlens-workspace", host="127.0.0.1", port=8000)   # uvicorn, as `postlens serve` does

The key comes from ``$POSTLENS_API_KEY`` unless given; it is compared in constant time and never
logged. Without a key every request is let through, so ``serve`` then listens on a loopback address only.
"""

from __future__ import annotations

import ipaddress
import logging
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request

from postlens.errors import ConfigError
from postlens.serve.api.gate import API_KEY_ENV, Gate
from postlens.serve.api.lanes import Lane
from postlens.serve.api.problems import install_handlers
from postlens.serve.api.routes import router
from postlens.serve.api.state import ApiState
from postlens.serve.api.uploads import UploadChecker

DEFAULT_MAX_BODY = 256 * 1024 * 1024
"""Largest request body (all uploads together); a larger video is analysed with ``postlens analyze``."""
log = logging.getLogger("postlens.api")


def create_app(
    workspace: str | os.PathLike[str] | None = None,
    *,
    api_key: str | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY,
    max_media_bytes: Mapping[str, int] | None = None,
    max_files: int = 8,
    model_slots: int = 1,
    max_waiting: int = 64,
    wait_seconds: float = 60.0,
    lock_wait: float | None = 5.0,
    warm_up: bool = False,
    **agent_options: Any,
) -> FastAPI:
    """The app, with the workspace's agent loaded now (a broken workspace fails here, not at the first request).

    ``api_key``: default ``$POSTLENS_API_KEY``; none: no authentication. ``model_slots``: model calls at once;
    ``max_waiting`` requests may wait ``wait_seconds`` for one (more: 429; longer: 503). ``agent_options``
    go to ``postlens.Agent`` (models, similar, ocr...)."""
    from postlens.agent import Agent

    key = (api_key if api_key is not None else os.environ.get(API_KEY_ENV)) or None
    if max_body_bytes < 1:
        raise ConfigError(f"max_body_bytes must be >= 1, got {max_body_bytes}")
    agent = Agent(workspace, max_concurrency=model_slots, queue_timeout=wait_seconds, **agent_options)
    if warm_up:
        agent.warm_up()
    state = ApiState(
        agent=agent,
        root=agent.root,
        checker=UploadChecker(max_media_bytes, max_files),
        models=Lane("model", slots=model_slots, max_waiting=max_waiting, wait_seconds=wait_seconds),
        reads=Lane("database", slots=2, max_waiting=max_waiting, wait_seconds=wait_seconds),
        lock_wait=lock_wait,
    )
    if key is None:
        log.warning("%s is not set: the API accepts every request (listen on 127.0.0.1 only)", API_KEY_ENV)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            agent.close()

    app = FastAPI(
        title="postlens",
        version="1",
        lifespan=lifespan,
        description="Understand social-media posts in every modality with a workspace's trained models. "
        "Send 'Authorization: Bearer <key>' (or 'X-API-Key') to /v1/ endpoints when the server has a key. "
        "Errors are RFC 9457 problems (application/problem+json) with a stable 'code'.",
    )
    app.state.postlens = state
    app.state.authenticated = key is not None
    install_handlers(app)
    app.include_router(router)
    from postlens.serve.dashboard import install_dashboard  # here: the dashboard imports serve.api's modules

    install_dashboard(app, warm_up=warm_up)

    @app.get("/healthz", summary="Liveness and load (no key needed)")
    async def healthz(request: Request) -> dict[str, Any]:
        api: ApiState = request.app.state.postlens
        return {
            "status": "ok",
            "auth": request.app.state.authenticated,
            "lanes": {"model": api.models.status(), "database": api.reads.status()},
        }

    app.add_middleware(Gate, api_key=key, max_body_bytes=max_body_bytes)
    return app


def serve(
    workspace: str | os.PathLike[str] | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    api_key: str | None = None,
    log_level: str = "info",
    **options: Any,
) -> None:
    """Run the API with uvicorn until interrupted. Without a key, only a loopback ``host`` is allowed."""
    import uvicorn

    key = (api_key if api_key is not None else os.environ.get(API_KEY_ENV)) or None
    if key is None and not _loopback(host):
        raise ConfigError(
            f"{API_KEY_ENV} is not set, so the API has no authentication: it listens on 127.0.0.1 "
            f"only, not {host}. Set {API_KEY_ENV} to listen on {host}."
        )
    app = create_app(workspace, api_key=key or "", **options)  # "": checked above, no second look at the env
    uvicorn.run(app, host=host, port=port, log_level=log_level)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
