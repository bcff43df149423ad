"""ASGI middleware: request id, secure headers, metrics, access log, catch-all, body limits.

Pure ASGI (not ``BaseHTTPMiddleware``) so streamed uploads pass through
without buffering and every response, errors included, gets the headers.
"""

from __future__ import annotations

import itertools
import re
import secrets
import time
from collections.abc import Mapping
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from system.api.errors import BodyTooLarge, body_too_large, internal_error
from system.api.logs import api_logger, request_id_var
from system.api.metrics import Metrics

API_HEADERS: Mapping[str, str] = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
    "Cache-Control": "no-store",
    "Cross-Origin-Resource-Policy": "same-origin",
}
# Swagger UI and ReDoc load their scripts and styles from a CDN.
_DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "img-src 'self' data: https://fastapi.tiangolo.com; frame-ancestors 'none'"
)
DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})


def _encoded(headers: Mapping[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]


_API_HEADER_BYTES = _encoded(API_HEADERS)
_DOCS_HEADER_BYTES = _encoded({**API_HEADERS, "Content-Security-Policy": _DOCS_CSP})
_OUR_NAMES = frozenset(k for k, _ in _API_HEADER_BYTES) | {b"x-request-id"}
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


class RequestIds:
    """Ids for requests that arrive without one: a random per-process prefix and a count.

    Unique across processes and restarts (64 random bits each) and cheap: a
    ``uuid4`` per request reads the system's random source every time, which
    showed up at about 3% of an API process's time under load.
    """

    def __init__(self) -> None:
        self._prefix = secrets.token_hex(8)
        self._count = itertools.count(1)

    def __call__(self) -> str:
        return f"{self._prefix}{next(self._count):010x}"


class RequestMiddleware:
    """Outermost: names the request, times it, adds headers, turns any crash into a 500."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics, templates: Mapping[int, str]) -> None:
        self.app = app
        self.metrics = metrics
        self.templates = templates  # id(route object) -> full path template
        self.log = api_logger()
        self.new_request_id = RequestIds()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _header(scope, b"x-request-id")
        if request_id is None or not _REQUEST_ID.fullmatch(request_id):
            request_id = self.new_request_id()
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        response_started = False
        docs = scope["path"] in DOCS_PATHS

        async def send_with_headers(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                ours = _DOCS_HEADER_BYTES if docs else _API_HEADER_BYTES
                # One pass: drop any header we set, then append ours (pre-encoded).
                message["headers"] = [
                    (k, v) for k, v in message.get("headers", ()) if k.lower() not in _OUR_NAMES
                ]
                message["headers"] += ours
                message["headers"].append((b"x-request-id", request_id.encode("latin-1")))
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except BodyTooLarge as exc:
            if not response_started:
                await body_too_large(exc.limit_bytes)(scope, receive, send_with_headers)
        except Exception:
            self.log.exception("unhandled error", extra={"method": scope["method"]})
            if not response_started:
                await internal_error()(scope, receive, send_with_headers)
        finally:
            seconds = time.perf_counter() - started
            route = self._route_template(scope)
            self.metrics.observe(
                method=scope["method"], route=route, status=status, seconds=seconds
            )
            self.log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "route": route,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 2),
                },
            )
            request_id_var.reset(token)

    def _route_template(self, scope: Scope) -> str:
        """The matched route's full template; unmatched paths share one label (few series)."""
        route: Any = scope.get("route")
        if route is None:
            return "unmatched"
        return self.templates.get(id(route)) or str(getattr(route, "path", "unmatched"))


class BodyLimitMiddleware:
    """Refuses bodies over a limit with 413: by Content-Length up front, else while streaming.

    ``limits_by_path`` gives larger limits to exact paths (clip uploads).
    """

    def __init__(
        self, app: ASGIApp, *, default_bytes: int, limits_by_path: Mapping[str, int]
    ) -> None:
        self.app = app
        self.default_bytes = default_bytes
        self.limits_by_path = dict(limits_by_path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits_by_path.get(scope["path"], self.default_bytes)
        declared = _header(scope, b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await body_too_large(limit)(scope, receive, send)  # unreadable length: refuse
                return
            if int(declared) > limit:
                await body_too_large(limit)(scope, receive, send)
                return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, counted, send)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None
