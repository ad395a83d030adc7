"""The dashboard's page, its static files (a fixed list: no path from the client reaches the disk) and its JSON."""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from postlens.serve.api.problems import ApiProblem
from postlens.serve.api.state import ApiState
from postlens.serve.dashboard import data
from postlens.serve.dashboard.space import DEFAULT_POINTS, MAX_POINTS, SpaceMap

STATIC = resources.files("postlens.serve.dashboard") / "static"
STATIC_FILES = {"dashboard.js": "text/javascript", "dashboard.css": "text/css"}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' blob: data:; "
    "media-src 'self' blob:; connect-src 'self'; font-src 'self'; frame-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
"""Nothing from another origin can load (plotly styles its charts inline, hence 'unsafe-inline' for styles only)."""
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"

log = logging.getLogger(__name__)
page = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/v1/dashboard", tags=["dashboard"])


def plotly_bundle() -> Path:
    """plotly.min.js as the ``plotly`` wheel ships it."""
    try:
        path = Path(str(resources.files("plotly") / "package_data" / "plotly.min.js"))
    except ModuleNotFoundError:
        raise ApiProblem(500, "internal", "the plotly package is not installed (pip install plotly)") from None
    if not path.is_file():
        raise ApiProblem(500, "internal", "the installed plotly package has no package_data/plotly.min.js")
    return path


@page.get("/")
async def root() -> RedirectResponse:
    return RedirectResponse("/ui", status_code=307)


@page.get("/ui")
async def index() -> HTMLResponse:
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    return HTMLResponse(
        html,
        headers={
            "Content-Security-Policy": CSP,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
        },
    )


@page.get("/ui/static/{name}")
async def static(name: str) -> Response:
    if name == "plotly.min.js":
        return FileResponse(
            plotly_bundle(),
            media_type="text/javascript",
            headers={"Cache-Control": "max-age=86400", "X-Content-Type-Options": "nosniff"},
        )
    if name not in STATIC_FILES:
        raise ApiProblem(404, "not_found", f"no dashboard file {name[:100]!r}")
    return Response(
        (STATIC / name).read_bytes(),
        media_type=STATIC_FILES[name],
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"},
    )


def _state(request: Request) -> ApiState:
    state: ApiState = request.app.state.postlens
    return state


@api.get("/overview", summary="Corpus counts by modality, source, language and time; import runs; quarantine")
async def overview(request: Request) -> dict[str, Any]:
    state = _state(request)
    return await state.reads.run(lambda: data.overview(state.root, state.lock_wait))


@api.get("/map", summary="A sample of the shared space projected to 2-D (PCA), with topic labels")
async def space_map(
    request: Request, limit: Annotated[int, Query(ge=10, le=MAX_POINTS)] = DEFAULT_POINTS
) -> dict[str, Any]:
    state = _state(request)
    maps: SpaceMap = request.app.state.dashboard_map
    return await state.models.run(lambda: maps.points(limit))


@api.get("/trends", summary="Per-term counts per bin with burst states, and the alert list")
async def trend_lines(
    request: Request,
    source: Annotated[str | None, Query(max_length=100)] = None,
    top: Annotated[int, Query(ge=1, le=50)] = 8,
    since: Annotated[
        str | None, Query(max_length=20, description="7d, 24h, ...: back from the newest post; none: every bin")
    ] = None,
) -> dict[str, Any]:
    state = _state(request)
    return await state.reads.run(lambda: data.trends(state.root, state.lock_wait, source, top, since))


@api.get("/image", summary="A stored post's first image, as imported (the segments map shows it on hover)")
async def post_image(request: Request, post: Annotated[str, Query(max_length=1000)]) -> FileResponse:
    state = _state(request)
    found = await state.reads.run(lambda: data.post_image(state.root, state.lock_wait, post))
    if found is None:
        raise ApiProblem(404, "no_image", f"post {post[:200]!r} has no stored image in this workspace")
    path, mime = found
    return FileResponse(
        path,
        media_type=mime,
        headers={
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, max-age=3600",
        },
    )


@api.get("/popularity", summary="Posts by predicted popularity beside their observed counts, with their drivers")
async def popularity(request: Request, top: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
    state = _state(request)
    agent = state.agent
    info = agent.popularity_info if isinstance(agent.popularity_info, dict) else {}
    # the model lane: each listed post's drivers come from the agent's loaded model
    return await state.models.run(
        lambda: data.popularity(
            state.root, state.lock_wait, agent.popularity_name or None, info, top, agent.popularity_model
        )
    )


@api.get("/models", summary="The agent's models and whether an evaluation report exists")
async def models(request: Request) -> dict[str, Any]:
    agent = _state(request).agent
    return {
        "models": [{"name": m.name, "target": m.target, "role": m.role} for m in agent.models],
        "popularity": agent.popularity_name,
        "segmentation": agent.segmentation,
        "notes": list(agent.notes),
        "report": data.report_path(agent.root) is not None,
    }


@api.get("/report", summary="The HTML report of 'postlens evaluate' (<workspace>/reports/evaluation.html)")
async def report(request: Request) -> HTMLResponse:
    path = data.report_path(_state(request).root)
    if path is None:
        raise ApiProblem(404, "no_report", "no evaluation report in this workspace: run 'postlens evaluate'")
    return HTMLResponse(
        path.read_text(encoding="utf-8", errors="replace"),
        headers={"Content-Security-Policy": REPORT_CSP, "Cache-Control": "no-store"},
    )


def install_dashboard(app: FastAPI, *, warm_up: bool = False) -> None:
    """Add the page at ``/ui`` (``/`` redirects there) and its data endpoints to ``app`` (made by create_app).
    ``warm_up``: build the default segments map now, with the models, so that the first visitor's map is
    cached (on MediaEval's 15,629 posts the first build takes 0.3-0.5 s, several seconds on a busy machine)."""
    state: ApiState = app.state.postlens
    app.state.dashboard_map = SpaceMap(state.agent)
    if warm_up:
        try:
            app.state.dashboard_map.points(DEFAULT_POINTS)
        except Exception as error:  # noqa: BLE001 - the API serves without a map; its endpoint says what fails
            log.warning("the segments map could not be built ahead: %s", error)
    app.include_router(page)
    app.include_router(api)
