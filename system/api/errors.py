"""Every error the API returns, in one shape, from one place.

``{"code", "message", "rule", "field", "problems": [{"field", "rule", "message"}],
"request_id"}``. Domain errors map to a status by class (the most specific
class in the table wins); validation errors are 422 and name the field; any
other exception is a 500 that is logged with the request id and shows the
client nothing but that id (SEC-06: no traceback for any input).
"""

from __future__ import annotations

import math

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from system.api.logs import request_id_var
from system.api.ratelimit import RateLimited
from system.domain.accounts import AuthenticationFailed
from system.domain.errors import (
    Conflict,
    DomainError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RuleViolation,
)
from system.domain.stores import IntegrityError, InvalidAddress, KeyUnavailable, TooLarge

STATUS_BY_ERROR: dict[type[DomainError], int] = {
    AuthenticationFailed: 401,
    PermissionDenied: 403,
    NotFound: 404,
    Conflict: 409,
    RuleViolation: 409,
    TooLarge: 413,
    InvalidInput: 422,
    IntegrityError: 422,
    InvalidAddress: 422,
    RateLimited: 429,
    KeyUnavailable: 503,
}
_LOCATIONS = {"body", "query", "path", "header", "cookie"}


class BodyTooLarge(StarletteHTTPException):
    """A request body passed its size limit while being read (SEC-06).

    An ``HTTPException`` so that frameworks reading the body re-raise it as is
    rather than turning it into a generic 400.
    """

    def __init__(self, limit_bytes: int) -> None:
        super().__init__(413, f"request body is larger than the limit of {limit_bytes} bytes")
        self.limit_bytes = limit_bytes


def status_for(error: DomainError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 400


def error_body(
    *,
    code: str,
    message: str,
    rule: str = "",
    field: str = "",
    problems: list[dict[str, str]] | None = None,
) -> dict[str, object]:
    return {
        "code": code,
        "message": message,
        "rule": rule,
        "field": field,
        "problems": problems or [],
        "request_id": request_id_var.get(),
    }


def body_too_large(limit_bytes: int) -> JSONResponse:
    return JSONResponse(
        error_body(
            code="body_too_large",
            message=f"request body is larger than the limit of {limit_bytes} bytes",
            rule="SEC-06",
            field="body",
        ),
        status_code=413,
    )


def internal_error() -> JSONResponse:
    return JSONResponse(
        error_body(
            code="internal_error",
            message=f"internal error; quote request id {request_id_var.get()} when reporting it",
        ),
        status_code=500,
    )


async def _domain_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    problems = [
        {"field": p.field, "rule": p.rule, "message": p.message}
        for p in getattr(exc, "problems", ())
    ]
    headers: dict[str, str] = {}
    status = status_for(exc)
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, RateLimited):
        retry = exc.retry_after_s
        headers["Retry-After"] = str(3600 if not math.isfinite(retry) else max(1, math.ceil(retry)))
    body = error_body(
        code=exc.code, message=exc.message, rule=exc.rule, field=exc.field, problems=problems
    )
    return JSONResponse(body, status_code=status, headers=headers)


def _field(loc: tuple[int | str, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in _LOCATIONS:
        parts = parts[1:]
    return ".".join(parts) or "body"


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # The rejected input is never echoed: it may be a password or a resident's text.
    problems = [
        {
            # A JSON syntax error's location is a character offset, not a field.
            "field": "body" if e.get("type") == "json_invalid" else _field(tuple(e.get("loc", ()))),
            "rule": "SEC-06",
            "message": str(e["msg"]),
        }
        for e in exc.errors()
    ] or [{"field": "body", "rule": "SEC-06", "message": "invalid request"}]
    first = problems[0]
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    body = error_body(
        code="invalid_input",
        message=f"{first['field']}: {first['message']}{more}",
        rule="SEC-06",
        field=first["field"],
        problems=problems,
    )
    return JSONResponse(body, status_code=422)


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if isinstance(exc, BodyTooLarge):
        return body_too_large(exc.limit_bytes)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return JSONResponse(
        error_body(code=code, message=str(exc.detail)),
        status_code=exc.status_code,
        headers=dict(exc.headers or {}),
    )


def install_error_handlers(app: FastAPI) -> None:
    """The one handler table. Uncaught exceptions are handled by the request middleware."""
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
