"""The endpoints. Each is thin: parse and check the request, run the blocking part in a lane, return a model."""

from __future__ import annotations

import json
import shutil
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from starlette.datastructures import UploadFile

from postlens.agent import Insight, SearchResult
from postlens.serve.api.problems import ApiProblem
from postlens.serve.api.state import ApiState
from postlens.serve.api.uploads import Upload, display_name, private_folder
from postlens.serve.api.views import PostView, Segments, Trends, read_post, read_segments, read_trends

router = APIRouter(prefix="/v1")
MAX_FORM_FIELDS = 16
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")  # the second: text and post, no files

_ANALYZE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "description": "A post in postlens' native shape "
                    "(Post.to_dict(); only text is needed). Media parts that name local files are "
                    "refused: upload the files with multipart/form-data instead.",
                },
                "example": {"text": "Flooded subway entrance this morning #sandy", "platform": "twitter"},
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "text": {"type": "string", "description": "the post's text"},
                        "post": {"type": "string", "description": "optional: a post as JSON text (native shape)"},
                        "files": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": "images, GIFs, video or audio; type sniffed from the bytes, size limits per kind",
                        },
                    },
                }
            },
        },
    }
}


def _state(request: Request) -> ApiState:
    state: ApiState = request.app.state.postlens
    return state


@router.post(
    "/analyze",
    response_model=Insight,
    openapi_extra=_ANALYZE_BODY,
    summary="Understand one post: a JSON post, or uploaded media files plus text",
)
async def analyze(
    request: Request,
    similar: Annotated[int | None, Query(ge=0, le=100, description="similar posts to list")] = None,
    ocr: Annotated[bool | None, Query(description="read text inside images")] = None,
) -> Insight:
    state = _state(request)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        body = _json_object(await request.body(), "the request body")
        return await state.models.run(lambda: state.analyze(body, [], None, similar, ocr))
    if content_type not in FORM_TYPES:
        raise ApiProblem(
            415,
            "unsupported_content_type",
            f"send application/json (a post) or multipart/form-data "
            f"(files and text), not {content_type or 'a body without a Content-Type'}",
        )
    form = await request.form(max_files=state.checker.max_files + 1, max_fields=MAX_FORM_FIELDS)
    folder = private_folder()
    try:
        uploads = [
            Upload(v.file, v.filename or "", v.content_type) for _, v in form.multi_items() if isinstance(v, UploadFile)
        ]
        text = _field(form.get("text"), "text")
        post_text = _field(form.get("post"), "post")
        post = _json_object(post_text.encode("utf-8"), "the 'post' field") if post_text is not None else None
        if not uploads and post is None and not (text and text.strip()):
            raise ApiProblem(422, "empty_post", "give text, a post or media files (form fields text, post, files)")
        paths = await anyio.to_thread.run_sync(lambda: state.checker.save_all(uploads, folder))
        names = [display_name(u.filename, i) for i, u in enumerate(uploads)]
        return await state.models.run(lambda: state.analyze(post, paths, text, similar, ocr, names))
    finally:
        await form.close()
        shutil.rmtree(folder, ignore_errors=True)


@router.get("/search", response_model=SearchResult, summary="Posts nearest a text in the shared space")
async def search(
    request: Request,
    q: Annotated[str, Query(min_length=1, max_length=2000, description="what to look for")],
    k: Annotated[int, Query(ge=1, le=1000)] = 10,
) -> SearchResult:
    state = _state(request)
    return await state.models.run(lambda: state.agent.search(q, k=k))


_SEARCH_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "q": {"type": "string", "description": "words (optional with an image)"},
                        "k": {"type": "integer", "default": 10},
                        "image": {"type": "string", "format": "binary", "description": "a picture to look for"},
                    },
                }
            }
        },
    }
}


@router.post(
    "/search",
    response_model=SearchResult,
    openapi_extra=_SEARCH_BODY,
    summary="Posts nearest an uploaded image and/or words in the shared space",
)
async def search_by_image(request: Request) -> SearchResult:
    state = _state(request)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in FORM_TYPES:
        raise ApiProblem(
            415,
            "unsupported_content_type",
            "send multipart/form-data with an image file and/or q (or GET /v1/search?q=...)",
        )
    form = await request.form(max_files=2, max_fields=MAX_FORM_FIELDS)
    folder = private_folder()
    try:
        uploads = [
            Upload(v.file, v.filename or "", v.content_type) for _, v in form.multi_items() if isinstance(v, UploadFile)
        ]
        if len(uploads) > 1:
            raise ApiProblem(413, "too_many_files", "search takes one image")
        q, k_text = _field(form.get("q"), "q"), _field(form.get("k"), "k") or "10"
        if not k_text.strip().isdigit() or not 1 <= int(k_text) <= 1000:
            raise ApiProblem(422, "invalid_request", f"k must be a whole number from 1 to 1000, got {k_text[:20]!r}")
        paths = await anyio.to_thread.run_sync(lambda: state.checker.save_all(uploads, folder))
        names = [display_name(u.filename, i) for i, u in enumerate(uploads)]
        return await state.models.run(lambda: state.search(q, paths[0] if paths else None, int(k_text), names))
    finally:
        await form.close()
        shutil.rmtree(folder, ignore_errors=True)


@router.get("/segments", response_model=Segments, summary="The topics of a segmentation with their words and examples")
async def segments(
    request: Request,
    name: Annotated[str, Query(max_length=200)] = "topics",
    examples: Annotated[int, Query(ge=0, le=20)] = 3,
) -> Segments:
    state = _state(request)
    return await state.reads.run(lambda: read_segments(state.root, name, examples))


@router.get("/trends", response_model=Trends, summary="Terms' saved trend states (hashtags, entities, topics)")
async def trends(
    request: Request,
    source: Annotated[str | None, Query(max_length=100)] = None,
    state: Annotated[str | None, Query(description="emerging, peaking, declining or steady")] = None,
    top: Annotated[int, Query(ge=1, le=1000)] = 20,
) -> Trends:
    api = _state(request)
    return await api.reads.run(lambda: read_trends(api.root, source, state, top, api.lock_wait))


@router.get("/posts/{post_id:path}", response_model=PostView, summary="One stored post by id (source:native_id)")
async def post(request: Request, post_id: Annotated[str, PathParam(max_length=1000)]) -> PostView:
    state = _state(request)
    found = await state.reads.run(lambda: read_post(state.root, post_id, state.lock_wait))
    if found is None:
        raise ApiProblem(404, "post_not_found", f"no post {post_id!r} in this workspace")
    return found


def _json_object(body: bytes, what: str) -> dict[str, Any]:
    try:
        parsed = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiProblem(400, "bad_json", f"{what} is not valid JSON: {exc}") from None
    except RecursionError:
        raise ApiProblem(400, "bad_json", f"{what} is nested too deeply to be a post") from None
    if not isinstance(parsed, dict):
        raise ApiProblem(422, "bad_json", f"{what} must be a JSON object (a post), got {type(parsed).__name__}")
    return parsed


def _field(value: object, name: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise ApiProblem(422, "bad_field", f"form field {name!r} must be text, not a file")
