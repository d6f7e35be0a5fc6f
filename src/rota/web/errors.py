"""Every error as ``{"error": {"code": ..., "message": ...}}``: ours, FastAPI's and Starlette's.

Bad input is always a 4xx with a message that says what is wrong. A bug is a 500 with no
detail at all (the traceback goes to the server's log, never into a response).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from rota.errors import (
    BatchConflict,
    ExecutionNotFound,
    IdempotencyConflict,
    InvalidArguments,
    InvalidInput,
    LaunchError,
    RotaError,
    RunNotFound,
    ScheduleNotFound,
    StorageUnavailable,
    UnknownJob,
    WorkflowNotFound,
)
from rota.web.models import ErrorEnvelope

log = logging.getLogger("rota.web")

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    500: "internal_error",
    503: "unavailable",
}

# rota's errors, most specific first: (type, status, code)
_ROTA: tuple[tuple[type[RotaError], int, str], ...] = (
    (UnknownJob, 404, "job_not_found"),
    (RunNotFound, 404, "run_not_found"),
    (WorkflowNotFound, 404, "workflow_not_found"),
    (ScheduleNotFound, 404, "schedule_not_found"),
    (ExecutionNotFound, 404, "execution_not_found"),
    (IdempotencyConflict, 409, "idempotency_conflict"),
    (BatchConflict, 409, "batch_conflict"),
    (InvalidArguments, 422, "invalid_arguments"),
    (LaunchError, 422, "launch_refused"),
    (InvalidInput, 422, "validation_error"),
    (StorageUnavailable, 503, "unavailable"),
)

# The error responses every operation may give, for the OpenAPI document.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorEnvelope, "description": CODES[status].replace("_", " ")}
    for status in (400, 401, 404, 413, 422, 503)
}


class ApiError(Exception):
    """An error the web layer itself raises (a conflict, a bad cursor...)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_response(
    status: int,
    code: str,
    message: str,
    details: Sequence[Mapping[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = list(details)
    return JSONResponse({"error": body}, status_code=status, headers=dict(headers or {}))


def run_links(run_id: str = "$response.body#/id") -> dict[str, dict[str, Any]]:
    """OpenAPI links from a response holding a run to the operations on that run."""
    return {
        name: {"operationId": op, "parameters": {"run_id": run_id}}
        for name, op in (
            ("GetRun", "get_run"),
            ("RetryRun", "retry_run"),
            ("CancelRun", "cancel_run"),
            ("DeleteRun", "delete_run"),
        )
    }


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The common error responses plus these, for a route's ``responses=``."""
    extra: dict[int | str, dict[str, Any]] = {
        s: {"model": ErrorEnvelope, "description": CODES[s].replace("_", " ")} for s in statuses
    }
    return {**ERROR_RESPONSES, **extra}


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = CODES.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    headers = dict(exc.headers or {})
    if exc.status_code == 405:  # every method of the path, not those of one route only
        headers["Allow"] = ", ".join(_allowed_methods(request))
    return error_response(exc.status_code, code, message, headers=headers)


def _allowed_methods(request: Request) -> list[str]:
    """The methods some route fully matches at this path (whatever the routers' nesting)."""
    allowed = []
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        scope = {**request.scope, "method": method}
        if any(r.matches(scope)[0] is Match.FULL for r in request.app.router.routes):
            allowed.append(method)
    return allowed


def _loc(loc: Sequence[Any]) -> list[str | int]:
    return [p if isinstance(p, int) else str(p) for p in loc]


def _where(loc: Sequence[str | int]) -> str:
    return ".".join(str(p) for p in loc) or "request"


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    for e in exc.errors():
        if e.get("type") == "json_invalid":  # not JSON at all: a bad request, not a bad value
            reason = (e.get("ctx") or {}).get("error", "JSON decode error")
            where = e.get("loc", ())[-1]
            return error_response(400, "invalid_json", f"the body is not JSON: {reason} at {where}")
    details = [{"loc": _loc(e.get("loc", ())), "message": e["msg"]} for e in exc.errors()]
    shown = "; ".join(f"{_where(d['loc'])}: {d['message']}" for d in details[:3])
    more = f" (and {len(details) - 3} more)" if len(details) > 3 else ""
    return error_response(422, "validation_error", f"{shown}{more}" or "invalid request", details)


def status_of(exc: RotaError) -> tuple[int, str] | None:
    """The status and code a rota error is answered with; None for one that is a bug."""
    for kind, status, code in _ROTA:
        if isinstance(exc, kind):
            return status, code
    return None


async def _rota_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RotaError)
    known = status_of(exc)
    if known is not None:
        status, code = known
        headers = {"Retry-After": "1"} if status == 503 else None
        return error_response(status, code, str(exc), headers=headers)
    log.error("internal error answering a request", exc_info=exc)
    return await _server_error(_, exc)


async def _server_error(_: Request, exc: Exception) -> JSONResponse:
    # Starlette re-raises the exception after this response: the server logs its traceback.
    return error_response(500, "internal_error", "internal server error")


def install_error_handlers(api: FastAPI) -> None:
    api.add_exception_handler(ApiError, _api_error)
    api.add_exception_handler(StarletteHTTPException, _http_error)
    api.add_exception_handler(RequestValidationError, _validation_error)
    api.add_exception_handler(RotaError, _rota_error)
    api.add_exception_handler(Exception, _server_error)
