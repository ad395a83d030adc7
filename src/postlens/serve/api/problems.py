"""Every error of the HTTP API is an RFC 9457 problem: ``application/problem+json`` with ``type``, ``title``,
``status``, ``detail`` and postlens' stable ``code``, so a client branches on ``code``, never on prose.

Library errors (``postlens.errors``) carry that code already; ``status_of`` says which HTTP status each
one means. Unexpected exceptions become a 500 problem whose detail names no internals (the traceback
goes to the server log).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from postlens.errors import BusyError, ConfigError, InputError, MediaError, PostlensError, WorkspaceError

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:postlens:problem:"
RETRY_AFTER_SECONDS = 5
log = logging.getLogger("postlens.api")

_MEDIA_STATUS = {
    "media_too_large": 413,
    "too_large": 413,
    "media_unknown_type": 415,
    "media_mismatch": 415,
    "unsupported": 415,
}


class ApiProblem(Exception):
    """Raised anywhere in a request: answered as a problem with this status, code and detail."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail
        self.headers, self.extra = dict(headers or {}), dict(extra or {})


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> JSONResponse:
    body = {
        "type": f"{TYPE_PREFIX}{code}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
        **(extra or {}),
    }
    return JSONResponse(body, status_code=status, headers=dict(headers or {}), media_type=PROBLEM_MEDIA_TYPE)


def status_of(exc: PostlensError) -> int:
    """The HTTP status a library error means (the client's fault: 4xx; the server's state: 503)."""
    if isinstance(exc, MediaError):
        return _MEDIA_STATUS.get(exc.code, 422)
    if isinstance(exc, InputError):
        return 413 if exc.code == "too_large" else 422 if exc.code not in ("bad_json",) else 400
    if isinstance(exc, BusyError | WorkspaceError):
        return 503
    if isinstance(exc, ConfigError):
        return 400
    return 500


def from_library(exc: PostlensError) -> JSONResponse:
    status = status_of(exc)
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if status == 503 else None
    if status == 500:
        log.error("library error answered 500: %s", exc)
    return problem(status, exc.code, str(exc), headers=headers)


def install_handlers(app: FastAPI) -> None:
    """Route every error path of the app to a problem response."""

    async def on_problem(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiProblem)
        return problem(exc.status, exc.code, exc.detail, headers=exc.headers, extra=exc.extra)

    async def on_library(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, PostlensError)
        return from_library(exc)

    async def on_validation(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))} for e in exc.errors()]
        where = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors[:5])
        return problem(422, "invalid_request", f"the request does not match the API: {where}", extra={"errors": errors})

    async def on_http(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = {404: "not_found", 405: "method_not_allowed", 400: "bad_request"}.get(exc.status_code, "http_error")
        return problem(exc.status_code, code, str(exc.detail), headers=exc.headers)

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem(500, "internal", "the server failed on this request; the error is in the server log")

    app.add_exception_handler(ApiProblem, on_problem)
    app.add_exception_handler(PostlensError, on_library)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)
