"""The one place that builds the HTTP application: :func:`create_app`.

Nothing happens at import. ``create_app(settings)`` wires a
:class:`~system.bootstrap.SqlServiceContext` from the settings (or
uses the one passed, e.g. with a test clock), the service runner, rate
limits, metrics, middleware, error handlers and the routers under ``/api/v1``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from functools import partial
from typing import NamedTuple

from fastapi import FastAPI
from starlette.routing import BaseRoute

from system.adapters.unit_of_work import write_lock_for
from system.api.batching import GroupCommit
from system.api.errors import install_error_handlers
from system.api.links import add_links
from system.api.metrics import Metrics
from system.api.middleware import BodyLimitMiddleware, RequestMiddleware
from system.api.ratelimit import RateLimiter, RateLimits, TokenBucket
from system.api.routes import (  # EVD, EMG, TRN routers
    admin,
    agency,
    auth,
    breakglass,
    devices,
    emergency,
    evidence,
    moderation,
    ops,
    public,
    resident,
)
from system.api.runner import RunMode, ServiceRunner
from system.api.schemas import ERROR_RESPONSES
from system.api.security import Services
from system.bootstrap import SqlServiceContext, build_context
from system.config import Settings
from system.service_layer import accounts, consent
from system.service_layer.sessions import RevocationWatcher
from system.service_layer.transfer import MAX_CLIP_BYTES

API_PREFIX = "/api/v1"
JSON_BODY_LIMIT_BYTES = 64 * 1024
CLIP_UPLOAD_PATH = f"{API_PREFIX}/devices/clips"


def create_app(
    settings: Settings,
    *,
    ctx: SqlServiceContext | None = None,
    limits: RateLimits | None = None,
    run_mode: RunMode = "auto",
    threads: int = 12,
    body_limit_bytes: int = JSON_BODY_LIMIT_BYTES,
    clip_limit_bytes: int = MAX_CLIP_BYTES,
) -> FastAPI:
    """Build the API. A ``ctx`` passed in is the caller's to dispose; one built here is ours."""
    owned = ctx is None
    context = build_context(settings) if ctx is None else ctx

    # Other API processes' revocations reach this one's session memory through it.
    watcher = RevocationWatcher(context.sessions, partial(accounts.revocation_epoch, context))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        watcher.start()
        try:
            yield
        finally:
            watcher.stop()
            if owned:
                context.engine.dispose()

    app = FastAPI(
        title="Canvass reference system",
        version="1",
        summary="Police video requests, resident consent and evidence transfer.",
        lifespan=lifespan,
    )
    runner = ServiceRunner(
        mode=run_mode, threads=threads, sqlite_write_lock=write_lock_for(context.engine)
    )
    app.state.services = Services(context, runner)
    app.state.answers = GroupCommit(consent.respond_many, ctx=context, runner=runner)
    app.state.limiter = RateLimiter(limits or RateLimits())
    app.state.grantee_limiter = TokenBucket(evidence.GRANTEE_RATE)  # share links (EVD-02)
    app.state.metrics = Metrics()

    # Each module's router hangs directly off the app: a request is matched through
    # one level of included routers, not two (FastAPI matches each level twice).
    for module in (auth, agency, moderation, resident, devices, admin, breakglass):
        app.include_router(module.router, prefix=API_PREFIX, responses=ERROR_RESPONSES)
    for module in (evidence, emergency, public):  # EVD, EMG, TRN
        app.include_router(module.router, prefix=API_PREFIX, responses=ERROR_RESPONSES)
    app.include_router(ops.router, responses=ERROR_RESPONSES)

    build_openapi = app.openapi
    app.openapi = lambda: add_links(build_openapi())  # type: ignore[method-assign]
    install_error_handlers(app)
    app.add_middleware(
        BodyLimitMiddleware,
        default_bytes=body_limit_bytes,
        limits_by_path={CLIP_UPLOAD_PATH: clip_limit_bytes},
    )
    templates = {id(entry.route): entry.path for entry in route_table(app)}
    app.add_middleware(RequestMiddleware, metrics=app.state.metrics, templates=templates)
    return app


class RouteEntry(NamedTuple):
    method: str
    path: str  # the full path template, e.g. /api/v1/requests/{request_id}
    route: BaseRoute  # the object the router puts in scope["route"]


def route_table(app: FastAPI) -> Iterator[RouteEntry]:
    """Every (method, path) the app serves, with routers' prefixes applied; HEAD omitted."""
    try:
        from fastapi.routing import iter_route_contexts  # FastAPI with lazily included routers
    except ImportError:  # older FastAPI: app.routes is already flat
        contexts = [(r, getattr(r, "path", ""), getattr(r, "methods", None)) for r in app.routes]
    else:
        contexts = [
            (rc.original_route, rc.path or "", rc.methods) for rc in iter_route_contexts(app.routes)
        ]
    for route, path, methods in contexts:
        for method in sorted(set(methods or ()) - {"HEAD"}):
            yield RouteEntry(method, path, route)
